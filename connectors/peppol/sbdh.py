"""The Peppol Business Message Envelope: a Standard Business Document (SBDH + the business document), REGULATION §5.5.

The SBDH `InstanceIdentifier` is the correlation key of the transmission: MLS responses, reporting and
duplicate detection refer to it.  The connector derives it from the delivery's idempotency key, so it is
unique per delivery and identical on every retry of the same delivery (a receiver that already has it can
drop the duplicate).
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from connectors.peppol.identifiers import DOCUMENT_SCHEME, PARTICIPANT_SCHEME, PROCESS_SCHEME, DocumentTypeId, ParticipantId
from gateway.errors import InputError
from gateway.formats.xmlparse import parse_untrusted

SBDH_NS = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
HEADER_VERSION = "1.0"
MLS_TYPES = ("ALWAYS_SEND", "FAILURE_ONLY")  # SBDH 2.0.2 (REGULATION §5.1, §5.6); absent means FAILURE_ONLY


class SbdhError(ValueError):
    """A Standard Business Document that is not a valid Peppol envelope."""


@dataclass(frozen=True)
class Header:
    """The fields of a Peppol SBDH."""

    sender: str  # "<ICD>:<value>", Authority iso6523-actorid-upis
    receiver: str
    standard: str  # root namespace of the business document
    type_version: str  # syntax version (2.1 for UBL)
    instance_id: str
    type: str  # root element local name
    created: datetime
    document_type: str
    process: str
    country_c1: str
    mls_to: str = ""
    mls_type: str = ""


def instance_id_for(key: str) -> str:
    """A UUID derived from a delivery's idempotency key: unique per delivery, stable across its retries."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:pdp-gateway:peppol:sbdh:{key}"))


def build(
    payload: etree._Element,
    *,
    sender: ParticipantId,
    receiver: ParticipantId,
    document_type: DocumentTypeId,
    process: str,
    country_c1: str,
    instance_id: str | None = None,
    created: datetime | None = None,
    mls_to: ParticipantId | None = None,
    mls_type: str | None = None,
) -> tuple[bytes, Header]:
    """Wrap `payload` (the UBL / CII root) in an SBD; a random UUID is the instance id unless one is given."""
    if len(country_c1) != 2 or not country_c1.isalpha():
        raise SbdhError(f"COUNTRY_C1 must be a two-letter country code, not {country_c1!r}")
    if mls_type is not None and mls_type not in MLS_TYPES:
        raise SbdhError(f"MLS_TYPE must be one of {MLS_TYPES}, not {mls_type!r}")
    header = Header(
        sender=sender.prefixed,
        receiver=receiver.prefixed,
        standard=document_type.root_namespace,
        type_version=document_type.version,
        instance_id=instance_id or str(uuid.uuid4()),
        type=document_type.root_name,
        created=(created or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0),
        document_type=document_type.value,
        process=process,
        country_c1=country_c1.upper(),
        mls_to=mls_to.prefixed if mls_to else "",
        mls_type=mls_type or "",
    )
    root = etree.Element(f"{{{SBDH_NS}}}StandardBusinessDocument", nsmap={None: SBDH_NS})
    sbdh = _sub(root, "StandardBusinessDocumentHeader")
    _sub(sbdh, "HeaderVersion", HEADER_VERSION)
    _sub(_sub(sbdh, "Sender"), "Identifier", header.sender, Authority=PARTICIPANT_SCHEME)
    _sub(_sub(sbdh, "Receiver"), "Identifier", header.receiver, Authority=PARTICIPANT_SCHEME)
    identification = _sub(sbdh, "DocumentIdentification")
    _sub(identification, "Standard", header.standard)
    _sub(identification, "TypeVersion", header.type_version)
    _sub(identification, "InstanceIdentifier", header.instance_id)
    _sub(identification, "Type", header.type)
    _sub(identification, "CreationDateAndTime", header.created.strftime("%Y-%m-%dT%H:%M:%SZ"))
    scope = _sub(sbdh, "BusinessScope")
    _scope(scope, "DOCUMENTID", header.document_type, DOCUMENT_SCHEME)
    _scope(scope, "PROCESSID", header.process, PROCESS_SCHEME)
    _scope(scope, "COUNTRY_C1", header.country_c1)
    if header.mls_to:
        _scope(scope, "MLS_TO", header.mls_to, PARTICIPANT_SCHEME)  # UNVERIFIED: Identifier of MLS_TO per SBDH 2.0.2
    if header.mls_type:
        _scope(scope, "MLS_TYPE", header.mls_type)
    root.append(copy.deepcopy(payload))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8"), header


def read(data: bytes) -> tuple[Header, etree._Element]:
    """Parse an SBD (hardened parser) and return its header and business document; SbdhError names what is missing."""
    try:
        root = parse_untrusted(data).getroot()
    except InputError as exc:
        raise SbdhError(exc.message) from None
    if root.tag != f"{{{SBDH_NS}}}StandardBusinessDocument":
        raise SbdhError(f"root element is {root.tag}, not StandardBusinessDocument")
    ns = {"s": SBDH_NS}
    scopes = {
        (s.findtext("s:Type", namespaces=ns) or "").strip(): (s.findtext("s:InstanceIdentifier", namespaces=ns) or "").strip()
        for s in root.iterfind("s:StandardBusinessDocumentHeader/s:BusinessScope/s:Scope", ns)
    }
    values = {
        name: (root.findtext(f"s:StandardBusinessDocumentHeader/{path}", namespaces=ns) or "").strip()
        for name, path in {
            "sender": "s:Sender/s:Identifier",
            "receiver": "s:Receiver/s:Identifier",
            "standard": "s:DocumentIdentification/s:Standard",
            "type_version": "s:DocumentIdentification/s:TypeVersion",
            "instance_id": "s:DocumentIdentification/s:InstanceIdentifier",
            "type": "s:DocumentIdentification/s:Type",
            "created": "s:DocumentIdentification/s:CreationDateAndTime",
        }.items()
    }
    values.update(document_type=scopes.get("DOCUMENTID", ""), process=scopes.get("PROCESSID", ""), country_c1=scopes.get("COUNTRY_C1", ""))
    missing = sorted(name for name, value in values.items() if not value)
    if missing:
        raise SbdhError(f"SBDH fields missing: {', '.join(missing)}")
    payload = next((child for child in root if child.tag != f"{{{SBDH_NS}}}StandardBusinessDocumentHeader"), None)
    if payload is None:
        raise SbdhError("the SBD carries no business document after its header")
    try:
        created = datetime.fromisoformat(values.pop("created"))
    except ValueError as exc:
        raise SbdhError(f"CreationDateAndTime is not an xs:dateTime: {exc}") from None
    return Header(created=created, mls_to=scopes.get("MLS_TO", ""), mls_type=scopes.get("MLS_TYPE", ""), **values), payload


def _sub(parent: etree._Element, name: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{SBDH_NS}}}{name}", attributes)
    if text is not None:
        element.text = text
    return element


def _scope(parent: etree._Element, type_: str, instance: str, identifier: str | None = None) -> None:
    scope = _sub(parent, "Scope")
    _sub(scope, "Type", type_)
    _sub(scope, "InstanceIdentifier", instance)
    if identifier:
        _sub(scope, "Identifier", identifier)

"""Peppol Message Level Status (MLS, REGULATION §5.6) → the reform's lifecycle codes.

An MLS is a UBL ApplicationResponse the receiver's access point (C3) sends back to the sender's (C2),
referring to the SBDH InstanceIdentifier of the transmission.  It arrives later and inbound, through the
tenant's access point, so it is not an answer to `send()`: the inbound path hands its bytes (bare or in
an SBD) to `status_update`, which gives a `StatusUpdate` keyed by that InstanceIdentifier — the same
`remote_id` the connector's Receipt carries.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from connectors.base import StatusUpdate
from connectors.peppol import sbdh
from connectors.peppol.identifiers import MLS_DOCUMENT
from gateway.errors import InputError
from gateway.formats.xmlparse import parse_untrusted

AR_NS = "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
NS = {
    "ar": AR_NS,
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
MLS_CUSTOMIZATION = "urn:peppol:edec:mls:1.0"

# Inferred mapping (REGULATION §1.1 and §5.6, not normative): AP / AB = received by the buyer's platform (202);
# RE = rejected by a functional control of the receiving platform (213).
LIFECYCLE_OF_RESPONSE = {"AP": "202", "AB": "202", "RE": "213"}


class MlsError(ValueError):
    """Bytes that are not a Peppol MLS."""


def status_update(data: bytes) -> StatusUpdate:
    """Read an MLS (bare ApplicationResponse or wrapped in an SBD) and map it to a lifecycle StatusUpdate."""
    if b"StandardBusinessDocument" in data[:2048]:
        try:
            header, root = sbdh.read(data)
        except sbdh.SbdhError as exc:
            raise MlsError(str(exc)) from None
        if header.document_type != MLS_DOCUMENT.value:
            raise MlsError(f"the SBD carries {header.document_type}, not an MLS")
    else:
        try:
            root = parse_untrusted(data).getroot()
        except InputError as exc:
            raise MlsError(exc.message) from None
    if root.tag != f"{{{AR_NS}}}ApplicationResponse" or root.findtext("cbc:CustomizationID", namespaces=NS) != MLS_CUSTOMIZATION:
        raise MlsError("not a Peppol MLS ApplicationResponse (CustomizationID urn:peppol:edec:mls:1.0)")
    code = _text(root, "cac:DocumentResponse/cac:Response/cbc:ResponseCode")
    reference = _text(root, "cac:DocumentResponse/cac:DocumentReference/cbc:ID")
    if code not in LIFECYCLE_OF_RESPONSE or not reference:
        raise MlsError(f"MLS without a known ResponseCode (AP, AB, RE) or DocumentReference: {code!r} / {reference!r}")
    reasons = [
        f"{_text(r, 'cac:Status/cbc:StatusReasonCode')}: {_text(r, 'cbc:Description')}"
        for r in root.iterfind("cac:DocumentResponse/cac:LineResponse/cac:Response", NS)
    ]
    detail = "; ".join(filter(None, [f"MLS {code}", _text(root, "cac:DocumentResponse/cac:Response/cbc:Description"), *reasons]))
    return StatusUpdate(remote_id=reference, code=LIFECYCLE_OF_RESPONSE[code], at=_issued(root), detail=detail)


def _text(element: etree._Element, path: str) -> str:
    return (element.findtext(path, namespaces=NS) or "").strip()


def _issued(root: etree._Element) -> datetime:
    date, time = _text(root, "cbc:IssueDate"), _text(root, "cbc:IssueTime") or "00:00:00"
    try:
        value = datetime.fromisoformat(f"{date}T{time}")
    except ValueError:
        return datetime.now(UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)

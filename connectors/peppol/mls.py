"""Peppol Message Level Status (MLS, REGULATION §5.6) → the reform's lifecycle codes.

An MLS is a UBL ApplicationResponse the receiver's access point (C3) sends back to the sender's (C2),
referring to the SBDH InstanceIdentifier of the transmission.  It arrives later and inbound, through the
tenant's access point, so it is not an answer to `send()`: the inbound path hands its bytes (bare or in
an SBD) to `status_update`, which gives a `StatusUpdate` keyed by that InstanceIdentifier — the same
`remote_id` the connector's Receipt carries.

The other way round, when the tenant's access point hands the gateway a received invoice, `build` writes
the MLS that answers it (AP when the gateway accepted it, RE with one line per reason) and `answer` wraps
it in the SBD the access point sends back to the sender's access point (`MLS_TO`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from connectors.base import StatusUpdate
from connectors.peppol import sbdh
from connectors.peppol.identifiers import MLS_DOCUMENT, MLS_PROCESS, ParticipantId
from gateway.errors import InputError
from gateway.formats.xmlparse import parse_untrusted

AR_NS = "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
NS = {
    "ar": AR_NS,
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
MLS_CUSTOMIZATION = "urn:peppol:edec:mls:1.0"
MLS_COUNTRY = "FR"  # COUNTRY_C1 of the MLSes this gateway sends: it serves French tenants
MLS_PROFILE = "urn:peppol:edec:mls"
ACCEPTED, ACCEPTED_BLIND, REJECTED = "AP", "AB", "RE"
BUSINESS_RULE_FATAL, SYNTAX_VIOLATION, FAILED_DELIVERY = "BV", "SV", "FD"  # status reason codes of an RE line

# Inferred mapping (REGULATION §1.1 and §5.6, not normative): AP / AB = received by the buyer's platform (202);
# RE = rejected by a functional control of the receiving platform (213).
LIFECYCLE_OF_RESPONSE = {"AP": "202", "AB": "202", "RE": "213"}


class MlsError(ValueError):
    """Bytes that are not a Peppol MLS."""


# Inferred (REGULATION §5.6 and the reasons a platform may give with 213, codes.py): what a rejecting line means for
# the reform: the receiver's controls refused the document (REJ_SEMAN), or it could not be delivered (DEST_INC).
REASON_OF_STATUS_REASON = {BUSINESS_RULE_FATAL: "REJ_SEMAN", SYNTAX_VIOLATION: "REJ_SEMAN", FAILED_DELIVERY: "DEST_INC"}


@dataclass(frozen=True)
class Mls:
    """A Message Level Status: its response code, the SBDH InstanceIdentifier it answers, when, and its lines' reasons."""

    response_code: str  # AP, AB or RE
    reference: str
    issued: datetime
    description: str
    reasons: tuple[tuple[str, str], ...]  # (status reason code, description) per line

    @property
    def lifecycle_code(self) -> str:
        return LIFECYCLE_OF_RESPONSE[self.response_code]

    @property
    def reason_code(self) -> str | None:
        """The reform's reason (MDT-113) of a rejection, from its first line; None for an acceptance."""
        if self.response_code != REJECTED:
            return None
        first = self.reasons[0][0] if self.reasons else BUSINESS_RULE_FATAL
        return REASON_OF_STATUS_REASON.get(first, REASON_OF_STATUS_REASON[BUSINESS_RULE_FATAL])

    @property
    def detail(self) -> str:
        return "; ".join(filter(None, [f"MLS {self.response_code}", self.description, *(f"{code}: {text}" for code, text in self.reasons)]))


def read(data: bytes) -> Mls:
    """Read an MLS, bare ApplicationResponse or wrapped in an SBD (hardened parser); MlsError when it is not one."""
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
    reasons = tuple(
        (_text(r, "cac:Status/cbc:StatusReasonCode"), _text(r, "cbc:Description"))
        for r in root.iterfind("cac:DocumentResponse/cac:LineResponse/cac:Response", NS)
    )
    return Mls(code, reference, _issued(root), _text(root, "cac:DocumentResponse/cac:Response/cbc:Description"), reasons)


def status_update(data: bytes) -> StatusUpdate:
    """Read an MLS (bare ApplicationResponse or wrapped in an SBD) and map it to a lifecycle StatusUpdate."""
    message = read(data)
    return StatusUpdate(remote_id=message.reference, code=message.lifecycle_code, at=message.issued, detail=message.detail)


def build(
    reference: str,
    code: str,
    *,
    sender: ParticipantId,
    receiver: ParticipantId,
    lines: Sequence[tuple[str, str]] = (),
    description: str | None = None,
    issued: datetime | None = None,
    response_id: str | None = None,
) -> etree._Element:
    """The MLS ApplicationResponse answering the transmission `reference` (its SBDH InstanceIdentifier) with `code`
    (AP, AB or RE); an RE carries `lines`, (status reason code BV / BW / FD / SV, description) each."""
    if code not in LIFECYCLE_OF_RESPONSE:
        raise ValueError(f"MLS response code must be one of {', '.join(LIFECYCLE_OF_RESPONSE)}, not {code!r}")
    if code == REJECTED and not lines:
        raise ValueError("an MLS RE needs at least one line saying why")
    moment = (issued or datetime.now(UTC)).astimezone(UTC)
    root = etree.Element(f"{{{AR_NS}}}ApplicationResponse", nsmap={None: AR_NS, "cac": NS["cac"], "cbc": NS["cbc"]})
    _sub(root, "cbc:CustomizationID", MLS_CUSTOMIZATION)
    _sub(root, "cbc:ProfileID", MLS_PROFILE)
    _sub(root, "cbc:ID", response_id or str(uuid.uuid4()))
    _sub(root, "cbc:IssueDate", moment.strftime("%Y-%m-%d"))
    _sub(root, "cbc:IssueTime", moment.strftime("%H:%M:%SZ"))
    _sub(_sub(root, "cac:SenderParty"), "cbc:EndpointID", sender.value, schemeID=sender.icd)
    _sub(_sub(root, "cac:ReceiverParty"), "cbc:EndpointID", receiver.value, schemeID=receiver.icd)
    document = _sub(root, "cac:DocumentResponse")
    response = _sub(document, "cac:Response")
    _sub(response, "cbc:ResponseCode", code)
    if description:
        _sub(response, "cbc:Description", description)
    _sub(_sub(document, "cac:DocumentReference"), "cbc:ID", reference)
    for reason, text in lines:
        line = _sub(document, "cac:LineResponse")
        _sub(_sub(line, "cac:LineReference"), "cbc:LineID", "NA")
        line_response = _sub(line, "cac:Response")
        _sub(line_response, "cbc:Description", text)
        _sub(_sub(line_response, "cac:Status"), "cbc:StatusReasonCode", reason)
    return root


def answer(received: sbdh.Header, code: str, lines: Sequence[tuple[str, str]] = (), *, own_id: ParticipantId | None = None) -> bytes:
    """The SBD carrying the MLS that answers the received transmission `received`, ready for the access point to send.

    It goes to the header's MLS_TO (the sender's access point), else to the sender itself; it comes from `own_id`
    (this access point's SPIS id, 0242), else from the receiver the transmission was addressed to.
    """
    receiver = ParticipantId.parse(received.mls_to or received.sender)
    sender = own_id or ParticipantId.parse(received.receiver)
    root = build(received.instance_id, code, sender=sender, receiver=receiver, lines=lines)
    data, _header = sbdh.build(root, sender=sender, receiver=receiver, document_type=MLS_DOCUMENT, process=MLS_PROCESS, country_c1=MLS_COUNTRY)
    return data


def _text(element: etree._Element, path: str) -> str:
    return (element.findtext(path, namespaces=NS) or "").strip()


def _issued(root: etree._Element) -> datetime:
    date, time = _text(root, "cbc:IssueDate"), _text(root, "cbc:IssueTime") or "00:00:00"
    try:
        value = datetime.fromisoformat(f"{date}T{time}")
    except ValueError:
        return datetime.now(UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _sub(parent: etree._Element, path: str, text: str | None = None, **attributes: str) -> etree._Element:
    prefix, _, name = path.partition(":")
    element = etree.SubElement(parent, f"{{{NS[prefix]}}}{name}", attributes)
    if text is not None:
        element.text = text
    return element

"""CDAR (UN/CEFACT Cross Domain Acknowledgement and Response D22B): the reform's lifecycle status message.

`build_cdar` writes the message of a status change about one invoice; `parse_cdar` reads one back
(`read_cdar` from untrusted bytes, through the hardened parser); `validate_cdar` runs the CDAR XSD and
the DGFiP CDAR schematron, both shipped by `pyfrctc` and kept in this module's registry (the schematron
runs in-process with saxonche through `gateway.validation.schematron`, compiled once per process).

The structure follows REGULATION §1.5 and the FNFE-MPE example messages: date-times in format 204
(UTC, CCYYMMDDHHMMSS), dates in format 102; parties identified by SIREN (scheme 0002) or platform
matricule (0238), electronic addresses with scheme 0225; roles SE, BY, WK, DFH.  The phase (MDT-77)
follows the status: 305 for the platforms' transmission statuses (issuer role WK), 23 for the
processing statuses (issuer identified by its SIREN).  A message whose only recipient is the PPF
uses the profile `…:CDV:einvoicingF2` and no business process (BR-FR-CDV-02, -CL-01); any other uses
`…:CDV:invoice` and REGULATED.  One message = one invoice (MDT-74 false); its status detail (MDG-37)
holds the reason, requested action, comment and amounts of the change.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import pyfrctc
from lxml import etree

from gateway.errors import InputError
from gateway.formats.xmlparse import parse_untrusted
from gateway.formats.xmltools import Vocabulary
from gateway.lifecycle import codes
from gateway.lifecycle.events import Amount, StatusChange, utc_seconds
from gateway.validation import schematron
from gateway.validation.report import Finding
from gateway.validation.schematron import ArtefactError

RSM = "urn:un:unece:uncefact:data:standard:CrossDomainAcknowledgementAndResponse:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NS = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}
CDAR = Vocabulary(NS)
_sub, _opt, _find, _all, _code = CDAR.sub, CDAR.opt, CDAR.find, CDAR.all, CDAR.stripped

# The official artefacts (pyfrctc's package folder), kept here rather than in gateway.validation.artefacts.
ARTEFACTS = Path(pyfrctc.__file__).resolve().parent
XSD_FILE = ARTEFACTS / "cdar-xsd" / "CrossDomainAcknowledgementAndResponse_100pD22B.xsd"
SCHEMATRON_FILE = ARTEFACTS / "cdar-schematron" / "BR-FR-CDV-Schematron-CDAR.xslt"
XSD_ARTEFACT = "XSD-cdar-d22b"
SCHEMATRON_ARTEFACT = "BR-FR-CDV-CDAR"

PROFILE_BETWEEN_PLATFORMS = "urn.cpro.gouv.fr:1p0:CDV:invoice"  # MDT-3
PROFILE_TO_PPF = "urn.cpro.gouv.fr:1p0:CDV:einvoicingF2"
REGULATED = "REGULATED"  # MDT-2
SIREN_SCHEME = "0002"
ADDRESS_SCHEME = "0225"
PLATFORM_SCHEME = "0238"
DATETIME_204 = "%Y%m%d%H%M%S"
DATE_102 = "%Y%m%d"


class InvalidCdar(InputError):
    """A CDAR message that cannot be read: not a CDAR, a required part missing, a date in an unknown format."""

    status = 422
    code = "invalid_cdar"


@dataclass(frozen=True)
class Party:
    """A party of the message: its role, and what identifies it (SIREN, platform matricule) and reaches it (electronic address)."""

    role: str  # UNCL 3035: SE, BY, WK, DFH …
    name: str | None = None
    siren: str | None = None  # GlobalID, scheme 0002
    platform_id: str | None = None  # GlobalID, scheme 0238 (the 4-digit matricule of a platform; "0000" is the PPF)
    address: str | None = None  # URIID, scheme 0225: the electronic address (required for a recipient other than WK / DFH)


PPF_RECIPIENT = Party(codes.PPF, "PPF", platform_id="0000")


@dataclass(frozen=True)
class InvoiceRef:
    """The invoice a message is about (MDG-33)."""

    number: str  # MDT-87, BT-1
    issue_date: date  # MDT-100, BT-2
    type_code: str  # MDT-91, BT-3
    seller_siren: str  # MDT-129: the seller's legal identifier (BT-30)
    received_at: datetime | None = None  # MDT-95: when it was deposited (issuer side) or received (receiver side)


@dataclass(frozen=True)
class StatusMessage:
    """A CDAR message, read or to be written: its envelope and the status change it carries."""

    id: str  # MDT-4
    issued_at: datetime  # MDT-8
    profile: str  # MDT-3
    business_process: str | None  # MDT-2
    sender: Party  # MDG-9
    issuer: Party  # MDT-38..40: who sets the status
    recipients: tuple[Party, ...]
    invoice: InvoiceRef
    change: StatusChange
    name: str | None = None  # MDT-5


# ---------------------------------------------------------------------------- building


def _to_ppf_only(recipients: Sequence[Party]) -> bool:
    return len(recipients) == 1 and recipients[0].role == codes.PPF and recipients[0].platform_id == PPF_RECIPIENT.platform_id


def make_message(
    change: StatusChange,
    invoice: InvoiceRef,
    *,
    issuer: Party,
    sender: Party,
    recipients: Sequence[Party],
    message_id: str | None = None,
    issued_at: datetime | None = None,
    name: str | None = None,
) -> StatusMessage:
    """The message carrying `change`: profile and business process from the recipients, id and time by default.

    The issuer sets the status (its role is the change's); a processing status needs its SIREN.
    """
    status = codes.status(change.code)
    if issuer.role != change.role:
        raise ValueError(f"the issuer's role {issuer.role} is not the role of the change ({change.role})")
    if status.phase == codes.PROCESSING and not issuer.siren:
        raise ValueError(f"{change.code} {status.label} is issued by a party identified by its SIREN (BR-FR-CDV-07)")
    if not recipients:
        raise ValueError("a CDAR message needs at least one recipient")
    change = replace(change, at=utc_seconds(change.at))
    to_ppf = _to_ppf_only(recipients)
    return StatusMessage(
        id=message_id
        or f"{invoice.number}_{change.code}_{change.at.strftime(DATETIME_204)}#{invoice.type_code}_{invoice.issue_date.strftime(DATE_102)}",
        issued_at=utc_seconds(issued_at or datetime.now(UTC)),
        profile=PROFILE_TO_PPF if to_ppf else PROFILE_BETWEEN_PLATFORMS,
        business_process=None if to_ppf else REGULATED,
        sender=sender,
        issuer=issuer,
        recipients=tuple(recipients),
        invoice=invoice,
        change=change,
        name=name,
    )


def _datetime(parent: etree._Element, path: str, moment: datetime | None) -> None:
    if moment is not None:
        _sub(parent, f"{path}/udt:DateTimeString", utc_seconds(moment).strftime(DATETIME_204), format="204")


def _party(parent: etree._Element, tag: str, party: Party) -> None:
    element = _sub(parent, tag)
    _opt(element, "ram:GlobalID", party.siren, schemeID=SIREN_SCHEME)
    _opt(element, "ram:GlobalID", party.platform_id, schemeID=PLATFORM_SCHEME)
    _opt(element, "ram:Name", party.name)
    _sub(element, "ram:RoleCode", party.role)
    _opt(element, "ram:URIUniversalCommunication/ram:URIID", party.address, schemeID=ADDRESS_SCHEME)


def _amount(parent: etree._Element, amount: Amount) -> None:
    """One MDG-43 block, in the XSD's order."""
    element = _sub(parent, "ram:SpecifiedDocumentCharacteristic")
    _opt(element, "ram:ID", amount.term)
    _sub(element, "ram:TypeCode", amount.type_code)
    if amount.changed is not None:
        _sub(element, "ram:ValueChangedIndicator/udt:IndicatorString", str(amount.changed).lower())
    _opt(element, "ram:Name", amount.name)
    _opt(element, "ram:Location", amount.location)
    _opt(element, "ram:ValueAmount", amount.amount, currencyID=amount.currency)
    if amount.value_date is not None:
        _sub(element, "ram:ValueDateTime/udt:DateTimeString", amount.value_date.strftime(DATE_102), format="102")
    _opt(element, "ram:ValuePercent", amount.vat_rate)


def _status_detail(parent: etree._Element, change: StatusChange) -> None:
    """The MDG-37 block of the change, when it has anything to say."""
    if not (change.reason_code or change.reason or change.action_code or change.comment or change.amounts):
        return
    detail = _sub(parent, "ram:SpecifiedDocumentStatus")
    _opt(detail, "ram:ReasonCode", change.reason_code)
    _opt(detail, "ram:Reason", change.reason)
    _opt(detail, "ram:RequestedActionCode", change.action_code)
    _opt(detail, "ram:RequestedAction", codes.ACTIONS.get(change.action_code or ""))
    _sub(detail, "ram:SequenceNumeric", "1")
    _opt(detail, "ram:IncludedNote/ram:Content", change.comment)
    for amount in change.amounts:
        _amount(detail, amount)


def write_cdar(message: StatusMessage) -> bytes:
    """The CDAR XML of `message` (UTF-8, with its declaration)."""
    change, invoice = message.change, message.invoice
    status = codes.status(change.code)
    root = etree.Element(CDAR.qname("rsm:CrossDomainAcknowledgementAndResponse"), nsmap=NS)
    context = _sub(root, "rsm:ExchangedDocumentContext")
    _opt(context, "ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID", message.business_process)
    _sub(context, "ram:GuidelineSpecifiedDocumentContextParameter/ram:ID", message.profile)
    exchanged = _sub(root, "rsm:ExchangedDocument")
    _sub(exchanged, "ram:ID", message.id)
    _opt(exchanged, "ram:Name", message.name)
    _datetime(exchanged, "ram:IssueDateTime", message.issued_at)
    _party(exchanged, "ram:SenderTradeParty", message.sender)
    _party(exchanged, "ram:IssuerTradeParty", message.issuer)
    for recipient in message.recipients:
        _party(exchanged, "ram:RecipientTradeParty", recipient)
    acknowledgement = _sub(root, "rsm:AcknowledgementDocument")
    _sub(acknowledgement, "ram:MultipleReferencesIndicator/udt:Indicator", "false")
    _sub(acknowledgement, "ram:TypeCode", status.phase)
    _datetime(acknowledgement, "ram:IssueDateTime", change.at)
    referenced = _sub(acknowledgement, "ram:ReferenceReferencedDocument")
    _sub(referenced, "ram:IssuerAssignedID", invoice.number)
    _opt(referenced, "ram:StatusCode", status.untdid_1373)
    _sub(referenced, "ram:TypeCode", invoice.type_code)
    _datetime(referenced, "ram:ReceiptDateTime", invoice.received_at)
    _sub(referenced, "ram:FormattedIssueDateTime/qdt:DateTimeString", invoice.issue_date.strftime(DATE_102), format="102")
    _sub(referenced, "ram:ProcessConditionCode", change.code)
    _sub(referenced, "ram:ProcessCondition", status.label)
    _sub(referenced, "ram:IssuerTradeParty/ram:GlobalID", invoice.seller_siren, schemeID=SIREN_SCHEME)
    _status_detail(referenced, change)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def build_cdar(
    change: StatusChange,
    invoice: InvoiceRef,
    *,
    issuer: Party,
    sender: Party,
    recipients: Sequence[Party],
    message_id: str | None = None,
    issued_at: datetime | None = None,
    name: str | None = None,
) -> bytes:
    """The CDAR message of `change` about `invoice`, from `sender` (the platform) to `recipients` (see `make_message`)."""
    message = make_message(
        change, invoice, issuer=issuer, sender=sender, recipients=recipients, message_id=message_id, issued_at=issued_at, name=name
    )
    return write_cdar(message)


# ---------------------------------------------------------------------------- reading


def _required(element: etree._Element | None, path: str, what: str) -> str:
    value = _code(element, path)
    if not value:
        raise InvalidCdar(f"The CDAR message has no {what} ({path}).", path)
    return value


def _read_moment(element: etree._Element | None, path: str) -> datetime | date | None:
    """A date-time (format 204, read as UTC) or a date (format 102) under `path`."""
    found = _find(element, path)
    if found is None:
        return None
    text, form = (found.text or "").strip(), found.get("format")
    try:
        if form == "204":
            return datetime.strptime(text, DATETIME_204).replace(tzinfo=UTC)
        if form == "102":
            return datetime.strptime(text, DATE_102).date()
    except ValueError:
        raise InvalidCdar(f"{path}: {text!r} is not a date in format {form}.", path) from None
    raise InvalidCdar(f"{path}: date format {form!r} is not 204 or 102.", path)


def _read_datetime(element: etree._Element | None, path: str) -> datetime | None:
    moment = _read_moment(element, path)
    if moment is not None and not isinstance(moment, datetime):
        raise InvalidCdar(f"{path}: a date-time (format 204) is expected.", path)
    return moment


def _read_date(element: etree._Element | None, path: str) -> date | None:
    moment = _read_moment(element, path)
    if isinstance(moment, datetime):
        raise InvalidCdar(f"{path}: a date (format 102) is expected.", path)
    return moment


def _read_party(element: etree._Element | None) -> Party:
    ids = {found.get("schemeID"): (found.text or "").strip() for found in _all(element, "ram:GlobalID")}
    return Party(
        role=_code(element, "ram:RoleCode") or "",
        name=CDAR.text(element, "ram:Name"),
        siren=ids.get(SIREN_SCHEME),
        platform_id=ids.get(PLATFORM_SCHEME),
        address=_code(element, "ram:URIUniversalCommunication/ram:URIID"),
    )


def _read_amount(element: etree._Element) -> Amount:
    changed = _code(element, "ram:ValueChangedIndicator/udt:IndicatorString") or _code(element, "ram:ValueChangedIndicator/udt:Indicator")
    value = _find(element, "ram:ValueAmount")
    return Amount(
        type_code=_code(element, "ram:TypeCode") or "",
        amount=CDAR.decimal(element, "ram:ValueAmount"),
        currency=None if value is None else value.get("currencyID"),
        vat_rate=CDAR.decimal(element, "ram:ValuePercent"),
        value_date=_read_date(element, "ram:ValueDateTime/udt:DateTimeString"),
        term=_code(element, "ram:ID"),
        name=CDAR.text(element, "ram:Name"),
        location=_code(element, "ram:Location"),
        changed=None if changed is None else changed.lower() in ("true", "1"),
    )


def _read_change(acknowledgement: etree._Element, referenced: etree._Element, role: str) -> StatusChange:
    """The change: its reason, action and comment from the first status detail; the amounts of them all."""
    details = _all(referenced, "ram:SpecifiedDocumentStatus")
    first = details[0] if details else None
    at = _read_datetime(acknowledgement, "ram:IssueDateTime/udt:DateTimeString")
    if at is None:
        raise InvalidCdar("The CDAR message has no status time (MDT-78).", "ram:IssueDateTime")
    return StatusChange(
        code=_required(referenced, "ram:ProcessConditionCode", "status code (MDT-105)"),
        at=at,
        role=role,
        reason_code=_code(first, "ram:ReasonCode"),
        reason=CDAR.text(first, "ram:Reason"),
        action_code=_code(first, "ram:RequestedActionCode"),
        comment=CDAR.text(first, "ram:IncludedNote/ram:Content"),
        amounts=tuple(_read_amount(found) for detail in details for found in _all(detail, "ram:SpecifiedDocumentCharacteristic")),
    )


def parse_cdar(tree: etree._ElementTree | etree._Element) -> StatusMessage:
    """The message of a CDAR tree the hardened parser accepted; `InvalidCdar` when a required part is missing."""
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    if root.tag != CDAR.qname("rsm:CrossDomainAcknowledgementAndResponse"):
        raise InvalidCdar(f"Not a CDAR message: the root element is {etree.QName(root).localname}.", "/")
    context, exchanged = _find(root, "rsm:ExchangedDocumentContext"), _find(root, "rsm:ExchangedDocument")
    acknowledgement = _find(root, "rsm:AcknowledgementDocument")
    referenced = _find(acknowledgement, "ram:ReferenceReferencedDocument")
    if exchanged is None or acknowledgement is None or referenced is None:
        raise InvalidCdar("The CDAR message lacks its ExchangedDocument or its referenced invoice.", "/")
    issuer = _read_party(_find(exchanged, "ram:IssuerTradeParty"))
    issued_at = _read_datetime(exchanged, "ram:IssueDateTime/udt:DateTimeString")
    issue_date = _read_date(referenced, "ram:FormattedIssueDateTime/qdt:DateTimeString")
    if issued_at is None or issue_date is None:
        raise InvalidCdar("The CDAR message lacks its date (MDT-8) or the invoice's date (MDT-100).", "/")
    invoice = InvoiceRef(
        number=_required(referenced, "ram:IssuerAssignedID", "invoice number (MDT-87)"),
        issue_date=issue_date,
        type_code=_code(referenced, "ram:TypeCode") or "",
        seller_siren=_code(referenced, "ram:IssuerTradeParty/ram:GlobalID") or "",
        received_at=_read_datetime(referenced, "ram:ReceiptDateTime/udt:DateTimeString"),
    )
    return StatusMessage(
        id=_required(exchanged, "ram:ID", "message identifier (MDT-4)"),
        issued_at=issued_at,
        profile=_code(context, "ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") or "",
        business_process=_code(context, "ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID"),
        sender=_read_party(_find(exchanged, "ram:SenderTradeParty")),
        issuer=issuer,
        recipients=tuple(_read_party(found) for found in _all(exchanged, "ram:RecipientTradeParty")),
        invoice=invoice,
        change=_read_change(acknowledgement, referenced, issuer.role),
        name=CDAR.text(exchanged, "ram:Name"),
    )


def read_cdar(data: bytes) -> tuple[etree._ElementTree, StatusMessage]:
    """Parse untrusted CDAR bytes with the hardened parser: the tree (to validate) and the message."""
    tree = parse_untrusted(data)
    return tree, parse_cdar(tree)


# ---------------------------------------------------------------------------- validating

_lock = threading.Lock()  # an lxml XMLSchema keeps its error log on the object: validate and read it under one lock
_schema: list[etree.XMLSchema] = []


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _xsd_findings(tree: etree._ElementTree | etree._Element) -> list[Finding]:
    with _lock:
        if not _schema:
            try:
                _schema.append(etree.XMLSchema(etree.parse(str(XSD_FILE), etree.XMLParser(resolve_entities=False, no_network=True))))
            except (OSError, etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
                raise ArtefactError(f"{XSD_ARTEFACT}: cannot load {XSD_FILE.name}: {exc}") from exc
        schema = _schema[0]
        schema.validate(tree)
        errors = list(schema.error_log)
    return [Finding("XSD", "fatal", f"line {error.line}: {error.message}", XSD_ARTEFACT, error.path or None) for error in errors]


def validate_cdar(tree: etree._ElementTree | etree._Element) -> list[Finding]:
    """The findings of the CDAR D22B XSD and of the DGFiP CDAR schematron (every failed assert is fatal).

    Raises `ArtefactError` when an artefact cannot run: a check that cannot run never passes.
    """
    return _xsd_findings(tree) + schematron.run(SCHEMATRON_ARTEFACT, tree, SCHEMATRON_FILE)

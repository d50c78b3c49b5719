"""Reception: a partner's invoice arrives (API, e-mail, Peppol), is read, validated, deduplicated, archived and answered.

Every channel calls `receive()` with the bytes it got.  The document is read and validated as the intake
reads a ready-made one (`intake.read_received`, same artefacts), then stored as an *incoming* invoice
(`intake.add_invoice`, shared with the outgoing side: no delivery, never routed) with its first lifecycle
status, a real event emitted by the gateway as the buyer's platform:

- **202 Reçue par la plateforme** when nothing is wrong;
- **213 Rejetée** with its reasons otherwise: DOUBLON (same seller SIREN, number and year of issue as an
  invoice the tenant already has, named in `duplicate_of`) and REJ_SEMAN for each fatal finding of the
  official artefacts (rule id, message, location).  A rejected reception is stored with state "rejected",
  so the uniqueness index (which ignores rejected rows) keeps holding the first one.

The CDAR message of that status (what the issuer's platform receives) is built and archived with the
event when the seller has a SIREN and an electronic address.  A `Reception` row records the channel, the
sender, the outcome and the carrying message (archived), and is the ERP's inbox entry; the
`invoice.received` webhook announces it in the same transaction.

Bytes that hold no readable invoice (not XML or PDF, hostile XML, no invoice inside) are still kept: they
are archived with a `Reception` row of outcome "unreadable", and `UnreadableDocument` is raised for the
channel to answer (a 4xx at the API, a bounce by e-mail, an MLS RE on Peppol) after committing the session.

The service knows nothing of HTTP; callers commit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway import intake
from gateway.archive.service import Archive
from gateway.errors import InputError
from gateway.lifecycle import codes
from gateway.lifecycle import service as lifecycle
from gateway.lifecycle.cdar import ADDRESS_SCHEME, PPF_RECIPIENT, InvoiceRef, Party, build_cdar
from gateway.lifecycle.events import StatusChange
from gateway.model.invoice import Invoice
from gateway.model.serialize import to_json
from gateway.reception.models import ACCEPTED, CHANNELS, REJECTED, UNREADABLE, Reception
from gateway.risk import service as risk
from gateway.store import models as db
from gateway.store.models import utcnow
from gateway.webhooks import sender as webhooks

DUPLICATE = "DOUBLON"
SEMANTIC = "REJ_SEMAN"  # MDT-113 "Format sémantique non respecté": a fatal finding of the official artefacts
MESSAGE_KIND = "reception-message"  # archive kind of the carrying message (the whole e-mail, the SBD)
UNREADABLE_KIND = "reception-input"  # archive kind of bytes that hold no readable invoice
ACTOR = "gateway"
GATEWAY_PLATFORM = Party(codes.PLATFORM, "PDP Gateway")  # the gateway as sender of its CDAR messages
MAX_COMMENT = 2000


@dataclass(frozen=True)
class Reason:
    """Why a reception was rejected: an MDT-113 reason code, and for a validation finding its rule id and location."""

    code: str  # codes.REASONS: DOUBLON, REJ_SEMAN
    message: str
    rule_id: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class Received:
    """The outcome of a reception: the stored incoming invoice, its status (202 or 213), why, and the earlier invoice for a DOUBLON."""

    invoice: db.Invoice  # direction "incoming"
    status: str  # "202" or "213"
    reasons: list[Reason]
    duplicate_of: str | None
    reception: Reception


class UnreadableDocument(InputError):
    """The received bytes hold no readable invoice.  They are archived with a reception record (commit to keep it);
    `status` and `code` are those of the underlying problem (415 not a document, 400 unsafe XML …)."""

    def __init__(self, cause: InputError, reception_id: str) -> None:
        super().__init__(cause.message, cause.pointer)
        self.status, self.code = cause.status, cause.code
        self.reception_id = reception_id

    def members(self) -> dict[str, object]:
        return {"reception_id": self.reception_id}


def receive(
    session: Session,
    archive: Archive,
    tenant: db.Tenant,
    data: bytes,
    content_type: str | None,
    *,
    channel: str,
    origin: str | None = None,
    message: bytes | None = None,
) -> Received:
    """Receive a partner's UBL, CII or Factur-X document for `tenant` through `channel` ("api", "email" or "peppol").

    `origin` says who sent it (e-mail address, Peppol sender id, API key prefix); `message` is the carrying
    message (the whole e-mail, the SBD), archived with it.  Raises `UnreadableDocument` (after adding the
    reception record) when the bytes hold no readable invoice, and `ArtefactError` (nothing added) when a
    validator cannot run.  The caller commits.  A concurrent reception of the same invoice that commits first
    is found at the insert: the session is then rolled back (anything the caller added to it too) and this
    one stored as its duplicate.
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown reception channel {channel!r} (one of {', '.join(CHANNELS)})")
    try:
        processed = intake.read_received(data, content_type)
    except InputError as exc:
        raise record_unreadable(session, archive, tenant, data, exc, channel=channel, origin=origin, message=message) from None
    processed.documents["canonical"] = (to_json(processed.invoice), intake.JSON_TYPE)  # what the ERP imports
    try:
        return _store(session, archive, tenant, processed, channel=channel, origin=origin, message=message)
    except IntegrityError:  # the same invoice was committed between the duplicate check and the insert
        session.rollback()
        return _store(session, archive, tenant, processed, channel=channel, origin=origin, message=message)


def _store(
    session: Session, archive: Archive, tenant: db.Tenant, processed: intake.Processed, *, channel: str, origin: str | None, message: bytes | None
) -> Received:
    invoice, report = processed.invoice, processed.report
    existing = intake.find_duplicate(session, tenant, intake.siren_of(invoice.seller), invoice.number, invoice.issue_date)
    reasons = []
    if existing is not None:
        reasons.append(
            Reason(
                DUPLICATE,
                f"Invoice {invoice.number!r} of {invoice.issue_date.year} from seller SIREN {existing.seller_siren or '(none)'} "
                f"is already known as invoice {existing.id}.",
            )
        )
    reasons += [Reason(SEMANTIC, f.message, f.rule_id, f.location) for f in report.findings if f.severity == "fatal"]
    status = REJECTED if reasons else ACCEPTED
    state = db.STATE_REJECTED if reasons else db.STATE_RECEIVED
    row = intake.add_invoice(session, archive, tenant, processed, direction="incoming", state=state, status=(status, codes.label(status)))
    message_sha256 = (
        archive.append(session, tenant_id=tenant.id, invoice_id=row.id, kind=MESSAGE_KIND, data=message).content_sha256 if message else None
    )
    change = StatusChange(
        status,
        utcnow(),
        codes.PLATFORM,
        reason_code=reasons[0].code if reasons else None,
        reason=codes.REASONS[reasons[0].code] if reasons else None,
        comment=_comment(reasons),
    )
    cdar = status_message(invoice, row, change)
    lifecycle.record_first(
        session, archive, row, change, source=lifecycle.SOURCE_GATEWAY, actor=ACTOR, message=cdar, message_type="application/xml" if cdar else None
    )
    reception = Reception(
        tenant_id=tenant.id,
        invoice_id=row.id,
        channel=channel,
        origin=origin,
        outcome=status,
        reasons=[asdict(r) for r in reasons],
        duplicate_of=existing.id if existing is not None else None,
        document_sha256=next(d.sha256 for d in row.documents if d.kind == "input"),
        message_sha256=message_sha256,
        received_at=change.at,
    )
    session.add(reception)
    session.flush()
    data: dict[str, Any] = {"reception": reception_data(reception)}
    if status == ACCEPTED:  # a rejected invoice is not the buyer's to pay: it never joins the supplier's history
        data["risk"] = risk.assessment_json(risk.assess(session, row, invoice, reception.document_sha256))
    webhooks.enqueue(session, row, "invoice.received", data)
    return Received(row, status, reasons, reception.duplicate_of, reception)


def record_unreadable(
    session: Session,
    archive: Archive,
    tenant: db.Tenant,
    data: bytes,
    cause: InputError,
    *,
    channel: str,
    origin: str | None,
    message: bytes | None,
) -> UnreadableDocument:
    """Archive bytes without a readable invoice (and their message) under a reception record; the error to raise for `cause`."""
    document = archive.append(session, tenant_id=tenant.id, invoice_id=None, kind=UNREADABLE_KIND, data=data)
    carried = archive.append(session, tenant_id=tenant.id, invoice_id=None, kind=MESSAGE_KIND, data=message) if message else None
    reception = Reception(
        tenant_id=tenant.id,
        channel=channel,
        origin=origin,
        outcome=UNREADABLE,
        reasons=[asdict(Reason(SEMANTIC, cause.message, cause.code))],
        document_sha256=document.content_sha256,
        message_sha256=carried.content_sha256 if carried else None,
        received_at=utcnow(),
    )
    session.add(reception)
    session.flush()
    return UnreadableDocument(cause, reception.id)


def _comment(reasons: list[Reason]) -> str | None:
    """MDT-126 of a 213: each reason's rule id and message (DSE-CPRO §3.4.2.3 puts the schematron message there)."""
    text = "; ".join(f"{r.rule_id}: {r.message}" if r.rule_id else r.message for r in reasons)
    return (text[: MAX_COMMENT - 1] + "…" if len(text) > MAX_COMMENT else text) or None


def status_message(invoice: Invoice, row: db.Invoice, change: StatusChange) -> bytes | None:
    """The CDAR message of a status of an incoming invoice for its seller (and the PPF for a mandatory 213 or 210): the
    reception's own (issued by the gateway as platform) or the buyer's decision (204 … 210, issued by the tenant as buyer,
    identified by its SIREN).  None when the seller has no SIREN or no French directory address (scheme 0225, the only one
    a CDAR carries) to write it to, or when a buyer's status has no buyer SIREN to issue it."""
    address = invoice.seller.electronic_address
    if not row.seller_siren or address is None or address.scheme != ADDRESS_SCHEME:
        return None
    if change.role == codes.BUYER and not row.buyer_siren:
        return None
    ref = InvoiceRef(row.number, row.issue_date, row.type_code, row.seller_siren, received_at=change.at)
    seller = Party(codes.SELLER, row.seller_name, siren=row.seller_siren, address=address.value)
    recipients = [seller, PPF_RECIPIENT] if codes.status(change.code).mandatory else [seller]
    issuer = Party(codes.BUYER, row.buyer_name, siren=row.buyer_siren) if change.role == codes.BUYER else Party(codes.PLATFORM)
    return build_cdar(change, ref, issuer=issuer, sender=GATEWAY_PLATFORM, recipients=recipients)


def reception_data(reception: Reception) -> dict[str, Any]:
    """The reception as JSON-ready values (webhook payload and inbox entry)."""
    return {
        "id": reception.id,
        "channel": reception.channel,
        "origin": reception.origin,
        "status": reception.outcome,
        "reasons": reception.reasons,
        "duplicate_of": reception.duplicate_of,
        "received_at": reception.received_at.isoformat(),
        "acknowledged_at": reception.acknowledged_at.isoformat() if reception.acknowledged_at else None,
        "acknowledged_by": reception.acknowledged_by,
    }

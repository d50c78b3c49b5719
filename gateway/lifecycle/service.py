"""Recording lifecycle events in the store: the state machine decides, the event is appended and archived.

Every change becomes a `StatusEvent` (status, time, source, the change as carried) with its
`LifecycleEvent` (who set it, applied or flagged and why, the archived message that carried it).
The invoice's status follows only an applied change.  A flagged change (after the end of the
invoice's life, out of order …) is recorded and shown, never applied; a caller acting for a party
directly (the API) asks for `strict` and gets `IllegalTransition` instead, nothing recorded.  A
change that breaks the reform's rules is refused (`StatusRefused`), nothing recorded.

Changes on one invoice are serialised: the invoice row is locked (a no-op UPDATE: a row lock on
PostgreSQL, the write lock on SQLite) before its status is read.  Callers commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from gateway.archive.service import Archive
from gateway.errors import InputError
from gateway.intake import Detail, find_duplicate
from gateway.jobs.models import sandboxed
from gateway.lifecycle import codes, payments
from gateway.lifecycle.cdar import read_cdar, validate_cdar
from gateway.lifecycle.deadlines import REGULATORY_DATA, STATUS_REPORT, Deadline, Reportable, deadlines, late
from gateway.lifecycle.events import StatusChange, change_from_dict, change_to_dict
from gateway.lifecycle.machine import Decision, joined, next_status
from gateway.lifecycle.models import LifecycleEvent, PpfReport
from gateway.model.serialize import invoice_from_json
from gateway.store import models as db
from gateway.texts import N_
from gateway.webhooks import sender as webhooks

# Where a change comes from (StatusEvent.source).  A connector relaying another platform's status uses SOURCE_PARTNER.
SOURCE_API = "api"  # a party (the tenant) through the REST API
SOURCE_PORTAL = "portal"  # a party (the tenant) through a person using the status portal
SOURCE_GATEWAY = "gateway"  # the gateway's own processing (deposit, reception, rejection)
SOURCE_PAYMENT = "payment"  # a payment matched to the invoice
SOURCE_PARTNER = "partner"  # another platform's message (CDAR)
SOURCE_PPF = "ppf"
SOURCE_SANDBOX = "sandbox"  # played back by the sandbox's simulated recipient (connectors/sandbox): nothing happened for real
EXTERNAL_SOURCES = (SOURCE_PARTNER, SOURCE_PPF, SOURCE_SANDBOX)  # emitted on the other side (or simulated): not ours to report to the PPF
MESSAGE_KIND = "status-message"  # archive kind of the message that carried a change
EVENT_KIND = "status"  # archive kind of the event record (as the intake's)


class StatusRefused(InputError):
    """The change breaks the reform's rules (missing reason, wrong emitter, 212 without amounts …)."""

    status = 422
    code = "status_refused"


class IllegalTransition(InputError):
    """The change may not follow the invoice's status (refused for a party acting directly)."""

    status = 409
    code = "illegal_transition"


class NotInLifecycle(InputError):
    """The invoice was rejected at intake: it is never routed and has no lifecycle."""

    status = 409
    code = "not_in_lifecycle"


class UnknownInvoice(InputError):
    """A status message about an invoice the tenant does not have."""

    status = 404
    code = "unknown_invoice"


class CdarRejected(InputError):
    """A CDAR message the official artefacts reject: every fatal finding is listed."""

    status = 422
    code = "cdar_rejected"

    def __init__(self, message: str, details: list[Detail]) -> None:
        super().__init__(message, details[0].pointer if details else None)
        self.details = details


@dataclass(frozen=True)
class Recorded:
    """A recorded change: its event rows and the state machine's decision."""

    event: db.StatusEvent
    lifecycle: LifecycleEvent
    decision: Decision


def _lock(session: Session, invoice: db.Invoice) -> None:
    """Serialise changes on the invoice and re-read it: a no-op UPDATE takes the row (PostgreSQL) or write (SQLite) lock."""
    session.execute(update(db.Invoice).where(db.Invoice.id == invoice.id).values(updated_at=db.Invoice.updated_at))
    session.refresh(invoice)


def _archived(invoice: db.Invoice, event: db.StatusEvent, life: LifecycleEvent) -> bytes:
    """The archived form of an event: canonical JSON (sorted keys)."""
    record = {
        "invoice": invoice.id,
        "event": event.id,
        "code": event.code,
        "label": event.label,
        "time": event.time.isoformat(),
        "source": event.source,
        "actor": life.actor,
        "role": life.role,
        "applied": life.applied,
        "flag": life.flag,
        "change": event.detail,
        "message_sha256": life.message_sha256,
    }
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def record(
    session: Session,
    archive: Archive,
    invoice: db.Invoice,
    change: StatusChange,
    *,
    source: str,
    actor: str,
    message: bytes | None = None,
    message_type: str | None = None,
    strict: bool = False,
    relayed: bool = False,
) -> Recorded:
    """Decide on `change` and record it against `invoice` (the caller commits); `message` is archived with it.

    Raises `StatusRefused` for an invalid change, `NotInLifecycle` for an invoice rejected at intake,
    and, when `strict`, `IllegalTransition` instead of recording a flagged change.  A `relayed` change
    (a network's status, e.g. a Chorus Pro SUSPENDUE that came without the reason the reform requires)
    is not ours to refuse: what it lacks is recorded as a flag, shown, and the change is not applied.
    """
    _lock(session, invoice)
    if invoice.state == db.STATE_REJECTED:
        raise NotInLifecycle(f"Invoice {invoice.id} was rejected at intake: it is never routed and has no lifecycle status.")
    decision = next_status(invoice.status, change)
    if decision.applied and change.code == "212":
        decision = _against_the_invoice(session, archive, invoice, change, decision)
    if decision.outcome == "refused" and relayed:
        decision = Decision("flagged", invoice.status, N_("not applied: {why} (not given by {actor})").format(why=decision.why, actor=actor))
    elif decision.outcome == "refused":
        raise StatusRefused(f"Status {change.code} refused: {decision.why}.", "/code")
    if strict and not decision.applied:
        raise IllegalTransition(f"Status {change.code} refused: {decision.why}.", "/code")
    change = replace(change, at=change.at.astimezone(UTC))
    if decision.applied and decision.status != invoice.status:
        invoice.status, invoice.status_label = decision.status, codes.label(decision.status)
        webhooks.enqueue(session, invoice, "invoice.status_changed", {"change": change_to_dict(change), "sandbox": sandboxed(session, invoice.id)})
    return _append(session, archive, invoice, change, decision, source=source, actor=actor, message=message, message_type=message_type)


def balance(session: Session, archive: Archive, invoice: db.Invoice) -> payments.Balance | None:
    """What the invoice asks for, what its applied 212 Encaissée events collected and what is still due; None without its
    canonical invoice (an incoming invoice recorded without one)."""
    digest = next((d.sha256 for d in invoice.documents if d.kind == "canonical"), None)
    data = archive.read(digest) if digest else None
    if data is None:
        return None
    applied = [change_from_dict(event.detail).amounts for event, life in timeline(session, invoice) if event.code == "212" and life and life.applied]
    return payments.Balance(payments.due_of(invoice_from_json(json.loads(data))), payments.collected(a for amounts in applied for a in amounts))


def _against_the_invoice(session: Session, archive: Archive, invoice: db.Invoice, change: StatusChange, decision: Decision) -> Decision:
    """A 212 whose amounts do not fit what the invoice still asks for is refused (`payments.collection_problems`)."""
    position = balance(session, archive, invoice)
    found = payments.collection_problems(position, change.amounts) if position else []
    return Decision("refused", invoice.status, joined(found)) if found else decision


def record_first(
    session: Session,
    archive: Archive,
    invoice: db.Invoice,
    change: StatusChange,
    *,
    source: str,
    actor: str,
    message: bytes | None = None,
    message_type: str | None = None,
) -> Recorded:
    """Record the first status of an invoice just added to the session, whose row already carries it (a received invoice's
    202 or 213: the row is inserted with its status, which the database requires).  `StatusRefused` unless it may start a life.
    """
    decision = next_status(None, change)
    if not decision.applied:
        raise StatusRefused(f"Status {change.code} refused as a first status: {decision.why}.", "/code")
    if invoice.status != change.code:
        raise ValueError(f"invoice {invoice.id} carries status {invoice.status}, not its first status {change.code}")
    change = replace(change, at=change.at.astimezone(UTC))
    return _append(session, archive, invoice, change, decision, source=source, actor=actor, message=message, message_type=message_type)


def _append(
    session: Session,
    archive: Archive,
    invoice: db.Invoice,
    change: StatusChange,
    decision: Decision,
    *,
    source: str,
    actor: str,
    message: bytes | None,
    message_type: str | None,
) -> Recorded:
    """Append the decided change's event and lifecycle rows, archiving the message that carried it and the event record."""
    digest = None
    if message:
        digest = archive.append(session, tenant_id=invoice.tenant_id, invoice_id=invoice.id, kind=MESSAGE_KIND, data=message).content_sha256
    event = db.StatusEvent(code=change.code, label=codes.label(change.code), time=change.at, source=source, detail=change_to_dict(change))
    invoice.events.append(event)
    session.flush()
    life = LifecycleEvent(
        status_event_id=event.id,
        role=change.role,
        actor=actor,
        reason_code=change.reason_code,
        applied=decision.applied,
        flag=decision.why,
        message_sha256=digest,
        message_type=message_type if message else None,
    )
    session.add(life)
    session.flush()
    archive.append(session, tenant_id=invoice.tenant_id, invoice_id=invoice.id, kind=EVENT_KIND, data=_archived(invoice, event, life))
    return Recorded(event, life, decision)


def receive_cdar(session: Session, archive: Archive, tenant: db.Tenant, data: bytes, *, actor: str) -> Recorded:
    """Record the status a partner platform's CDAR message carries, after the official artefacts accepted it.

    The invoice is the tenant's with the message's seller SIREN, number and year of issue.
    """
    tree, message = read_cdar(data)
    fatal = [f for f in validate_cdar(tree) if f.severity == "fatal"]
    if fatal:
        details = [Detail(f.location or "/", f"{f.rule_id}: {f.message}") for f in fatal]
        raise CdarRejected(f"The CDAR message was rejected by the official artefacts ({len(fatal)} fatal finding(s)).", details)
    ref = message.invoice
    invoice = find_duplicate(session, tenant, ref.seller_siren or None, ref.number, ref.issue_date)
    if invoice is None:
        raise UnknownInvoice(f"No invoice {ref.number!r} of {ref.issue_date.year} from seller SIREN {ref.seller_siren or '(none)'}.", "/")
    return record(session, archive, invoice, message.change, source=SOURCE_PARTNER, actor=actor, message=data, message_type="application/xml")


def timeline(session: Session, invoice: db.Invoice) -> list[tuple[db.StatusEvent, LifecycleEvent | None]]:
    """The invoice's events in the order they were recorded, each with its lifecycle row (None for the intake's own events).

    Never by their stated time: a partner's clock may be behind ours, and its answer must not sort before the transmission it answers.
    """
    rows = session.execute(
        select(db.StatusEvent, LifecycleEvent)
        .outerjoin(LifecycleEvent, LifecycleEvent.status_event_id == db.StatusEvent.id)
        .where(db.StatusEvent.invoice_id == invoice.id)
        .order_by(db.StatusEvent.id)
    )
    return [(event, life) for event, life in rows]


def first_applied(session: Session, tenant_id: int, status_codes: Iterable[str]) -> dict[str, dict[str, datetime]]:
    """For each of the tenant's invoices, when each of `status_codes` was first applied to it (by its stated time)."""
    rows = session.execute(
        select(db.StatusEvent.invoice_id, db.StatusEvent.code, db.StatusEvent.time)
        .join(db.Invoice, db.Invoice.id == db.StatusEvent.invoice_id)
        .outerjoin(LifecycleEvent, LifecycleEvent.status_event_id == db.StatusEvent.id)
        .where(db.Invoice.tenant_id == tenant_id, db.StatusEvent.code.in_(list(status_codes)))
        .where(or_(LifecycleEvent.status_event_id.is_(None), LifecycleEvent.applied))
        .order_by(db.StatusEvent.id)
    )
    first: dict[str, dict[str, datetime]] = {}
    for invoice_id, code, time in rows:
        first.setdefault(invoice_id, {}).setdefault(code, time)
    return first


def stated_early(events: Iterable[db.StatusEvent]) -> set[int]:
    """The ids of events (in recorded order) whose stated time precedes that of an event recorded before them.

    Such an event is applied like any other, in the order it reached the gateway (the state machine follows the
    recorded order); its stated time is kept as its emitter gave it and shown with this mark, since it says more
    about the emitter's clock, or a message held back, than about what happened first.
    """
    early: set[int] = set()
    latest: datetime | None = None
    for event in events:
        if latest is not None and event.time < latest:
            early.add(event.id)
        latest = event.time if latest is None else max(latest, event.time)
    return early


def deadlines_of(session: Session, tenant_id: int, invoice_id: str | None = None) -> list[Deadline]:
    """The PPF deadlines of the tenant's invoices (or of one): applied mandatory statuses its side emitted, with their reports."""
    query = (
        select(db.StatusEvent.id, db.StatusEvent.invoice_id, db.StatusEvent.code, db.StatusEvent.time)
        .join(db.Invoice, db.Invoice.id == db.StatusEvent.invoice_id)
        .outerjoin(LifecycleEvent, LifecycleEvent.status_event_id == db.StatusEvent.id)
        .where(
            db.Invoice.tenant_id == tenant_id,
            # rejected at intake: no lifecycle; a received invoice we rejected (213) is ours to report
            or_(db.Invoice.state != db.STATE_REJECTED, db.Invoice.direction == "incoming"),
            db.StatusEvent.code.in_(sorted(codes.MANDATORY)),
            db.StatusEvent.source.not_in(EXTERNAL_SOURCES),
            LifecycleEvent.applied.is_not(False),
        )
        .order_by(db.StatusEvent.id)
    )
    if invoice_id is not None:
        query = query.where(db.StatusEvent.invoice_id == invoice_id)
    events = [Reportable(*row) for row in session.execute(query)]
    reports = session.execute(
        select(PpfReport.status_event_id, PpfReport.kind, PpfReport.sent_at).where(PpfReport.status_event_id.in_([e.event_id for e in events]))
    )
    return deadlines(events, {(event_id, kind): sent_at for event_id, kind, sent_at in reports})


def late_deadlines(session: Session, tenant_id: int, now: datetime) -> list[Deadline]:
    """What the tenant's side transmitted late to the PPF, or has still not transmitted past the 24 hours."""
    return late(deadlines_of(session, tenant_id), now)


def record_report(session: Session, event: db.StatusEvent, kind: str, sent_at: datetime, message_sha256: str | None = None) -> PpfReport:
    """Note that the F1 regulatory data (of a 200) or the F6 message of a mandatory status was sent to the PPF."""
    if kind not in (REGULATORY_DATA, STATUS_REPORT):
        raise ValueError(f"unknown PPF report kind {kind!r}")
    report = PpfReport(status_event_id=event.id, kind=kind, sent_at=sent_at, message_sha256=message_sha256)
    session.add(report)
    session.flush()
    return report

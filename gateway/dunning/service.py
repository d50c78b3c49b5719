"""Dunning runs: which late invoices get which tier today, with what amounts, and sending them — once per tier.

A run has two steps.  **Plan**: for each outgoing invoice past its due date whose tenant has a policy (the buyer's own,
else the tenant's default), the highest tier now due that was not sent yet; none for an invoice paid (nothing still
due, by bank payments or 212 Encaissée), in dispute (207), refused (210) or rejected.  Lower tiers passed over at
the same time are recorded as skipped, never sent later.  A payment after the last reminder restarts the wait: the
next tier comes its usual interval after that payment, for what is then still due.  **Send**: each planned reminder
is committed (unique per invoice and tier) before any channel is tried, so no run, however concurrent, sends a tier
twice; a channel that fails is retried by the next runs, with the same Message-ID, up to `max_attempts`.
`--dry-run` stops after the plan and stores nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from stdnum.fr import siren

from connectors.base import ConnectorError
from connectors.email.message import Attachment
from gateway.archive.service import Archive
from gateway.dunning import law, policy, templates
from gateway.dunning.channels import Mailer
from gateway.dunning.letter import letter
from gateway.dunning.models import DEFAULT, FAILED, PENDING, SENT, SKIPPED, DunningPolicy, Reminder
from gateway.dunning.receivable import Receivable, receivable
from gateway.dunning.settings import DunningSettings
from gateway.model.invoice import CREDIT_NOTE_TYPE_CODES
from gateway.store import models as db
from gateway.store.session import Database
from gateway.webhooks import sender as webhooks

log = logging.getLogger(__name__)
ZERO = Decimal("0.00")
BUSY = "busy"  # send(): another run holds the reminder
STOPPED = {"207": "in dispute (207)", "210": "refused (210)", "213": "rejected (213)"}
CHANNEL_ORDER = (policy.LETTER, policy.EMAIL, policy.WEBHOOK)  # the letter first: the formal notice's e-mail attaches it


def set_policy(session: Session, tenant_id: int, data: Any, buyer: str = DEFAULT) -> DunningPolicy:
    """Store the tenant's default policy (`buyer` empty) or a buyer's (its SIREN); PolicyError when refused."""
    if buyer and not siren.is_valid(buyer):
        raise policy.PolicyError([("/buyer", f"{buyer!r} is not a valid SIREN")])
    policy.parse(data)
    row = session.scalar(select(DunningPolicy).where(DunningPolicy.tenant_id == tenant_id, DunningPolicy.buyer == buyer))
    if row is None:
        row = DunningPolicy(tenant_id=tenant_id, buyer=buyer, body=data)
        session.add(row)
    else:
        row.body = data
    session.flush()
    return row


def delete_policy(session: Session, tenant_id: int, buyer: str = DEFAULT) -> bool:
    row = session.scalar(select(DunningPolicy).where(DunningPolicy.tenant_id == tenant_id, DunningPolicy.buyer == buyer))
    if row is not None:
        session.delete(row)
    return row is not None


def policy_rows(session: Session, tenant_id: int) -> list[DunningPolicy]:
    return list(session.scalars(select(DunningPolicy).where(DunningPolicy.tenant_id == tenant_id).order_by(DunningPolicy.buyer)))


def reminders_of(session: Session, invoice_id: str) -> list[Reminder]:
    """The invoice's reminders, by tier."""
    return list(session.scalars(select(Reminder).where(Reminder.invoice_id == invoice_id).order_by(Reminder.level)))


def reminders_by_invoice(session: Session, tenant_id: int) -> dict[str, list[Reminder]]:
    """The tenant's reminders of every state, by invoice and tier."""
    found: dict[str, list[Reminder]] = {}
    for reminder in session.scalars(select(Reminder).where(Reminder.tenant_id == tenant_id).order_by(Reminder.level)):
        found.setdefault(reminder.invoice_id, []).append(reminder)
    return found


@dataclass(frozen=True)
class Planned:
    """A tier due today for an invoice, with what it claims."""

    receivable: Receivable
    policy: policy.Policy
    tier: policy.Tier
    level: int
    skipped: tuple[tuple[int, policy.Tier], ...]
    days_late: int
    penalties: Decimal  # claimed (0 when the tier claims none)
    indemnity: Decimal
    accrued: Decimal  # the penalties the law gives, claimed or not
    rate: law.Rate

    def detail(self) -> dict[str, Any]:
        """The computation, in JSON values: what a buyer disputing the amounts is shown."""
        r = self.receivable
        return {
            "rate": str(self.rate.percent), "rate_basis": self.rate.basis, "rate_source": self.rate.source,
            "accrued_penalties": str(self.accrued), "public_buyer": r.public, "professional_buyer": r.professional,
            "total_due": str(r.total), "payments": [{"date": d.isoformat(), "amount": str(a)} for d, a in r.payments],
            "skipped": [tier.name for _, tier in self.skipped], "channels": {},
        }  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        invoice = self.receivable.invoice
        return {
            "invoice_id": invoice.id, "invoice_number": invoice.number, "buyer": invoice.buyer_name, "tier": self.tier.name,
            "level": self.level, "tone": self.tier.tone, "channels": list(self.tier.channels), "days_late": self.days_late,
            "currency": invoice.currency, "claimed": str(self.receivable.still_due), "penalties": str(self.penalties),
            "indemnity": str(self.indemnity), "email": self.policy.email or self.receivable.email, **self.detail(),
        }  # fmt: skip


def _candidates(session: Session, tenant_id: int, as_of: date) -> Iterator[db.Invoice]:
    query = select(db.Invoice).where(
        db.Invoice.tenant_id == tenant_id, db.Invoice.direction == "outgoing", db.Invoice.state != db.STATE_REJECTED,
        db.Invoice.due_date.is_not(None), db.Invoice.due_date < as_of, db.Invoice.status.not_in(list(STOPPED)),
        db.Invoice.type_code.not_in(sorted(CREDIT_NOTE_TYPE_CODES)),
    )  # fmt: skip
    yield from session.scalars(query.order_by(db.Invoice.due_date, db.Invoice.id))


def _policies(session: Session, tenant_id: int) -> dict[str, policy.Policy]:
    return {row.buyer: policy.parse(row.body) for row in policy_rows(session, tenant_id)}


def _earliest(tier_index: int, tiers: tuple[policy.Tier, ...], due_date: date, last: Reminder | None, payments: list[date]) -> date:
    """The first day tier `tier_index` may be sent: its delay after the due date, and after a payment made since the last
    reminder, the interval between the last reminder's tier and this one, counted from that payment."""
    earliest = due_date + timedelta(days=tiers[tier_index].days)
    since = [paid for paid in payments if last is not None and paid > last.as_of]
    if last is not None and since:
        gap = tiers[tier_index].days - (tiers[last.level - 1].days if last.level <= len(tiers) else 0)
        earliest = max(earliest, max(since) + timedelta(days=gap))
    return earliest


def plan(session: Session, archive: Archive, tenant_id: int, as_of: date, settings: DunningSettings) -> list[Planned]:
    """The reminders due on `as_of` for the tenant's invoices (nothing stored)."""
    policies = _policies(session, tenant_id)
    if not policies:
        return []
    sent = reminders_by_invoice(session, tenant_id)
    planned = []
    for invoice in _candidates(session, tenant_id, as_of):
        chosen = policies.get(invoice.buyer_siren or "") or policies.get(DEFAULT)
        assert invoice.due_date is not None
        if chosen is None:
            continue
        done = sent.get(invoice.id, [])
        last = done[-1] if done else None
        start = last.level if last is not None else 0
        if start >= len(chosen.tiers) or (as_of - invoice.due_date).days < chosen.tiers[start].days:
            continue  # nothing new could be due: the receivable is not worth reading
        owed = receivable(session, archive, invoice, as_of)
        if owed is None or owed.still_due <= 0:
            continue
        paid_on = [paid for paid, _ in owed.payments]
        due = [i for i in range(start, len(chosen.tiers)) if _earliest(i, chosen.tiers, invoice.due_date, last, paid_on) <= as_of]
        if due:
            planned.append(_claim(owed, chosen, due[-1], tuple((i + 1, chosen.tiers[i]) for i in due[:-1]), as_of, settings))
    return planned


def _claim(owed: Receivable, chosen: policy.Policy, index: int, skipped: tuple[tuple[int, policy.Tier], ...], as_of: date,
           settings: DunningSettings) -> Planned:  # fmt: skip
    invoice, tier = owed.invoice, chosen.tiers[index]
    assert invoice.due_date is not None
    notes = [n.text for n in owed.canonical.notes] + ([owed.canonical.payment_terms] if owed.canonical.payment_terms else [])
    rate = law.penalty_rate(law.read_terms(notes), public=owed.public, starts=law.interest_start(invoice.due_date), rates=settings.rates,
                            override=chosen.penalty_rate)  # fmt: skip
    accrued = law.penalties(invoice.due_date, as_of, owed.still_due, owed.payments, rate.percent)
    claims = tier.claim_penalties
    indemnity = law.INDEMNITY if claims and owed.professional else ZERO
    return Planned(owed, chosen, tier, index + 1, skipped, law.days_late(invoice.due_date, as_of), accrued if claims else ZERO, indemnity,
                   accrued, rate)  # fmt: skip


@dataclass
class RunResult:
    as_of: date
    planned: list[dict[str, Any]]
    sent: int = 0
    failed: int = 0


def run(database: Database, archive: Archive, mailer: Mailer, settings: DunningSettings, as_of: date | None = None, *,
        tenant_id: int | None = None, dry_run: bool = False) -> RunResult:  # fmt: skip
    """Plan the reminders due on `as_of` (today in the settings' time zone) for one tenant or all, and send them."""
    as_of = as_of or settings.today()
    with database.session() as session:
        tenants = [tenant_id] if tenant_id is not None else sorted(set(session.scalars(select(DunningPolicy.tenant_id))))
    result = RunResult(as_of, [])
    for tenant in tenants:
        with database.sessionmaker() as session:
            planned = plan(session, archive, tenant, as_of, settings)
            result.planned += [p.to_json() for p in planned]
            if dry_run:
                continue
            for item in planned:
                _store(session, item, as_of)
        if not dry_run:
            for reminder_id in _to_send(database, tenant, settings):
                state = send(database, archive, mailer, settings, reminder_id, as_of)
                result.sent += state == SENT
                result.failed += state == FAILED
    return result


def periodic(database: Database, archive: Archive) -> tuple[Callable[[], RunResult], float] | None:
    """The worker's periodic run (today's reminders for every tenant with a policy) and its interval; None when `[dunning]`
    turns it off.  Running it often is harmless: a tier is sent once."""
    settings = DunningSettings.from_section(database.config.sections.get("dunning", {}))
    if not settings.enabled:
        return None
    mailer = Mailer(database.config)
    return (lambda: run(database, archive, mailer, settings)), settings.interval_seconds


def _store(session: Session, item: Planned, as_of: date) -> None:
    """Commit the planned tier (and the skipped ones) before anything is sent; a concurrent run that stored it first wins."""
    invoice = item.receivable.invoice
    common = {"tenant_id": invoice.tenant_id, "invoice_id": invoice.id, "as_of": as_of, "days_late": item.days_late,
              "currency": invoice.currency, "claimed": item.receivable.still_due}  # fmt: skip
    rows = [Reminder(**common, tier=tier.name, level=level, penalties=ZERO, indemnity=ZERO, channels=[], state=SKIPPED,
                     detail={"why": f"tier {item.tier.name!r} was due at the same time"}) for level, tier in item.skipped]  # fmt: skip
    rows.append(Reminder(**common, tier=item.tier.name, level=item.level, penalties=item.penalties, indemnity=item.indemnity,
                         channels=[c for c in CHANNEL_ORDER if c in item.tier.channels], state=PENDING, detail=item.detail()))  # fmt: skip
    try:
        with session.begin_nested():
            session.add_all(rows)
        session.commit()
    except IntegrityError:
        session.rollback()
        log.info("dunning: invoice %s tier %s was planned by another run", invoice.id, item.tier.name)


def _to_send(database: Database, tenant_id: int, settings: DunningSettings) -> list[str]:
    with database.session() as session:
        query = select(Reminder.id).where(Reminder.tenant_id == tenant_id, Reminder.state.in_([PENDING, FAILED]),
                                          Reminder.attempts < settings.max_attempts)  # fmt: skip
        return list(session.scalars(query.order_by(Reminder.created_at, Reminder.id)))


def _context(owed: Receivable, reminder: Reminder, tier: policy.Tier, language: str) -> dict[str, Any]:
    invoice, canonical = owed.invoice, owed.canonical
    payment = canonical.payment
    account = payment.credit_transfers[0] if payment and payment.credit_transfers else None
    detail = reminder.detail
    return {
        "invoice": {"number": invoice.number, "issue_date": invoice.issue_date, "due_date": invoice.due_date, "currency": invoice.currency,
                    "total": owed.total},
        "buyer": {"name": invoice.buyer_name, "siren": invoice.buyer_siren},
        "seller": {"name": invoice.seller_name, "siren": invoice.seller_siren},
        "tier": {"name": tier.name, "level": reminder.level, "tone": tier.tone},
        "days_late": reminder.days_late,
        "amounts": {"claimed": reminder.claimed, "penalties": reminder.penalties, "indemnity": reminder.indemnity,
                    "total": reminder.claimed + reminder.penalties + reminder.indemnity},
        "law": {"rate": Decimal(detail["rate"]), "rate_basis": law.BASES[detail["rate_basis"]][language],
                "indemnity_basis": law.INDEMNITY_BASES[owed.public][language]},
        "payment": {"iban": account.account_id if account else None, "bic": account.bank_id if account else None,
                    "reference": (payment.remittance_information if payment else None) or invoice.number,
                    "link": payment.link if payment else None},
    }  # fmt: skip


def _stopped(owed: Receivable | None, invoice: db.Invoice) -> str | None:
    if invoice.status in STOPPED:
        return STOPPED[invoice.status]
    if owed is None or owed.still_due <= 0:
        return "paid"
    return None


def send(database: Database, archive: Archive, mailer: Mailer, settings: DunningSettings, reminder_id: str, as_of: date) -> str:
    """Try each channel of a stored reminder that is not done yet, on `as_of`; its state after (sent, failed or skipped).

    A retry first checks that the invoice is still unpaid and not in dispute: the words were written for that day."""
    if not _lease(database, reminder_id, settings):
        return BUSY
    with database.sessionmaker() as session:
        reminder = session.get(Reminder, reminder_id)
        assert reminder is not None
        invoice = session.get(db.Invoice, reminder.invoice_id)
        assert invoice is not None
        owed = receivable(session, archive, invoice, as_of)
        chosen = _policies(session, reminder.tenant_id)
        rules = chosen.get(invoice.buyer_siren or "") or chosen.get(DEFAULT)
        tier = next((t for t in rules.tiers if t.name == reminder.tier), None) if rules else None
        why = _stopped(owed, invoice) if reminder.attempts > 1 else None
        if why or tier is None or owed is None:
            reminder.state, reminder.error = SKIPPED, f"not sent: {why or 'its tier is no longer in the policy'}"
            reminder.lease_until = None
            session.commit()
            return SKIPPED
        assert rules is not None
        outcomes = dict(reminder.detail.get("channels", {}))
        subject, body = templates.render(tier.tone, rules.language, tier.templates, _context(owed, reminder, tier, rules.language))
        errors = []
        for channel in reminder.channels:
            if outcomes.get(channel, {}).get("ok"):
                continue
            try:
                outcomes[channel] = _deliver(session, archive, mailer, channel, reminder, owed, rules, tier, (subject, body))
            except ConnectorError as exc:
                outcomes[channel] = {"ok": False, "error": exc.message, "transient": exc.transient}
                errors.append(f"{channel}: {exc.message}")
        reminder.detail = {**reminder.detail, "channels": outcomes, "subject": subject}
        reminder.lease_until = None
        reminder.state, reminder.error = (FAILED, "; ".join(errors)) if errors else (SENT, None)
        if not errors:
            reminder.sent_at = datetime.now(UTC)
            archive.append(session, tenant_id=reminder.tenant_id, invoice_id=invoice.id, kind="dunning-reminder", data=_record(reminder))
        session.commit()
        return reminder.state


def _lease(database: Database, reminder_id: str, settings: DunningSettings) -> bool:
    """Take the reminder for this run (one attempt more), unless another run holds it or it is done."""
    now = datetime.now(UTC)
    with database.session() as session:
        taken = session.execute(
            update(Reminder)
            .where(Reminder.id == reminder_id, Reminder.state.in_([PENDING, FAILED]), Reminder.attempts < settings.max_attempts,
                   or_(Reminder.lease_until.is_(None), Reminder.lease_until < now))
            .values(attempts=Reminder.attempts + 1, lease_until=now + timedelta(seconds=settings.lease_seconds))
        )  # fmt: skip
        return taken.rowcount == 1


def _record(reminder: Reminder) -> bytes:
    """What the archive keeps of a sent reminder: its tier, amounts and computation, and each channel's outcome."""
    return json.dumps(reminder_json(reminder), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def reminder_json(reminder: Reminder) -> dict[str, Any]:
    return {
        "id": reminder.id, "invoice_id": reminder.invoice_id, "tier": reminder.tier, "level": reminder.level,
        "as_of": reminder.as_of.isoformat(), "days_late": reminder.days_late, "currency": reminder.currency,
        "claimed": str(reminder.claimed), "penalties": str(reminder.penalties), "indemnity": str(reminder.indemnity),
        "channels": reminder.channels, "state": reminder.state, "attempts": reminder.attempts, "error": reminder.error,
        "letter_sha256": reminder.letter_sha256, "sent_at": reminder.sent_at.isoformat() if reminder.sent_at else None,
        "detail": reminder.detail,
    }  # fmt: skip


def _deliver(session: Session, archive: Archive, mailer: Mailer, channel: str, reminder: Reminder, owed: Receivable,
             rules: policy.Policy, tier: policy.Tier, words: tuple[str, str]) -> dict[str, Any]:  # fmt: skip
    invoice, canonical = owed.invoice, owed.canonical
    subject, body = words
    if channel == policy.LETTER:
        registered = tier.tone == policy.FORMAL_NOTICE
        pdf = letter(canonical.seller, canonical.buyer, reminder.as_of, subject, body, language=rules.language, registered=registered)
        entry = archive.append(session, tenant_id=reminder.tenant_id, invoice_id=invoice.id, kind="dunning-letter", data=pdf)
        reminder.letter_sha256 = entry.content_sha256
        return {"ok": True, "sha256": entry.content_sha256, "size": len(pdf)}
    if channel == policy.WEBHOOK:
        webhooks.enqueue(session, invoice, "invoice.reminder_sent", {"reminder": {**reminder_json(reminder), "subject": subject}})
        return {"ok": True}
    address = rules.email or owed.email
    if not address:
        raise ConnectorError("the buyer has no e-mail address (BT-58, BT-49 scheme EM, the directory or the policy's email)", transient=False)
    attachments = _attachments(archive, invoice, reminder)
    receipt, message = mailer.send(invoice.tenant.name, invoice.buyer_name, address, subject, body, attachments, key=f"dunning:{reminder.id}",
                                   language=rules.language)  # fmt: skip
    entry = archive.append(session, tenant_id=reminder.tenant_id, invoice_id=invoice.id, kind="dunning-email", data=message)
    return {"ok": True, "to": address, "message_id": receipt.remote_id, "server": receipt.message, "sha256": entry.content_sha256,
            "attachments": [a.filename for a in attachments]}  # fmt: skip


def _attachments(archive: Archive, invoice: db.Invoice, reminder: Reminder) -> list[Attachment]:
    """The invoice (its signed Factur-X, else the Factur-X, else its UBL or CII) and the letter when there is one."""
    documents = {d.kind: d for d in invoice.documents}
    attached = []
    for kind, content_type, extension in (("facturx-signed", "application/pdf", ".pdf"), ("facturx", "application/pdf", ".pdf"),
                                          ("ubl-signed", "application/xml", ".xml"), ("ubl", "application/xml", ".xml"),
                                          ("cii", "application/xml", ".xml")):  # fmt: skip
        if kind in documents and (data := archive.read(documents[kind].sha256)) is not None:
            attached.append(Attachment(data, content_type, invoice.number + extension))
            break
    if reminder.letter_sha256 and (pdf := archive.read(reminder.letter_sha256)) is not None:
        attached.append(Attachment(pdf, "application/pdf", f"{reminder.tier}-{invoice.number}.pdf"))
    return attached

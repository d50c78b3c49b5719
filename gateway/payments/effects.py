"""What a match does: the invoice's payment state, a 212 Encaissée for what it collects, the payer's IBAN learned; undone as new events.

Each payment, partial or not, is a 212 (art. 290 A CGI: a partial or total payment; A7 P1.16) with the amount split by
VAT rate (G7.45), through gateway.lifecycle.service.record (checked there against what the invoice asks for); when
the lifecycle does not allow it yet (an invoice not delivered), the match is applied and says why no 212 was recorded.
Undoing a match whose 212 was recorded records a 212 giving the same amounts back (a disbursement, A7 P1.15).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.archive.service import Archive
from gateway.lifecycle import codes, service
from gateway.lifecycle import payments as collections
from gateway.lifecycle.events import Amount, StatusChange, change_from_dict
from gateway.lifecycle.machine import next_status
from gateway.model.invoice import CREDIT_NOTE_TYPE_CODES
from gateway.payments import models as pm
from gateway.payments.matching import Allocation, OpenItem, Proposal, Settings, buyer_key, learnable, netted, settle
from gateway.payments.references import name_key, prefix_for
from gateway.store import models as db
from gateway.webhooks import sender as webhooks

ZERO = Decimal("0.00")
UNPAID, PARTIALLY_PAID, PAID, OVER_PAID = "unpaid", "partially_paid", "paid", "over_paid"


def new_match(line: pm.BankLine, proposal: Proposal, allocation: Allocation, state: str, decided_by: str) -> pm.PaymentMatch:
    match = pm.PaymentMatch(
        tenant_id=line.tenant_id, invoice_id=allocation.invoice_id, amount=allocation.amount, written_off=allocation.written_off,
        discount=allocation.discount,
        rule=proposal.rule, score=proposal.score, evidence=dict(proposal.evidence), state=state, decided_by=decided_by,
    )  # fmt: skip
    line.matches.append(match)
    return match


def due(invoice: db.Invoice) -> Decimal:
    return invoice.amount_due if invoice.amount_due is not None else invoice.tax_inclusive_amount or ZERO


def payable(invoice: db.Invoice) -> bool:
    """An invoice the tenant is paid for: one it issued and that was not rejected (it has a payment state)."""
    return invoice.direction == "outgoing" and invoice.state != db.STATE_REJECTED


def applied_matches(session: Session, invoice_id: str) -> list[pm.PaymentMatch]:
    query = select(pm.PaymentMatch).where(pm.PaymentMatch.invoice_id == invoice_id, pm.PaymentMatch.state == pm.APPLIED).order_by(pm.PaymentMatch.id)
    return list(session.scalars(query))


def position(session: Session, invoice: db.Invoice) -> dict[str, Any]:
    """The invoice's payment state and its payments (JSON values); a credit note's payments are its nettings.

    An early-payment discount granted is not paid, but settles what it takes off (`discount`)."""
    matches = applied_matches(session, invoice.id)
    paid = (-1 if invoice.type_code in CREDIT_NOTE_TYPE_CODES else 1) * sum((m.amount + m.written_off for m in matches), ZERO)
    discount = sum((m.discount for m in matches), ZERO)
    total, settled = due(invoice), paid + discount
    state = UNPAID if paid <= 0 else PARTIALLY_PAID if settled < total else PAID if settled == total else OVER_PAID
    payments = [payment_json(match) for match in matches]
    still_due = str(max(total - settled, ZERO))
    return {
        "status": state,
        "amount_due": str(total),
        "amount_paid": str(paid),
        "discount": str(discount),
        "still_due": still_due,
        "payments": payments,
    }


def payment_json(match: pm.PaymentMatch) -> dict[str, Any]:
    """One payment of an invoice (JSON values): what a match paid, from which bank line, by which rule."""
    line = match.line
    when = line.value_date or line.booking_date
    return {
        "match": match.id, "date": when.isoformat() if when else None,
        "amount": str(match.amount), "written_off": str(match.written_off), "discount": str(match.discount),
        "bank_line": line.id, "statement": line.statement_id,
        "rule": match.rule, "score": match.score, "evidence": match.evidence, "decided_by": match.decided_by,
    }  # fmt: skip


def _announce(session: Session, invoice: db.Invoice, event: str, match: pm.PaymentMatch) -> None:
    """The ERP's webhook: the payment (or the payment undone) and the invoice's payment state after it."""
    if not any(event in subscription.events for subscription in webhooks.subscriptions(session, invoice.tenant_id)):
        return  # nobody listens: the payment state is not worth computing
    after = position(session, invoice)
    state = {k: after[k] for k in ("status", "amount_due", "amount_paid", "discount", "still_due")}
    webhooks.enqueue(session, invoice, event, {"payment": payment_json(match), "payment_state": state})


def apply(session: Session, archive: Archive, line: pm.BankLine, proposal: Proposal, *, decided_by: str) -> list[pm.PaymentMatch]:
    """Apply `proposal` to `line`: its matches, the 212 of each invoice it pays in full, the payer's IBAN learned."""
    matches = [new_match(line, proposal, allocation, pm.APPLIED, decided_by) for allocation in proposal.allocations]
    line.state = pm.MATCHED if decided_by == pm.AUTOMATIC else pm.DECIDED
    session.flush()
    buyers = set()
    for match in matches:
        invoice = session.get(db.Invoice, match.invoice_id)
        assert invoice is not None
        if invoice.type_code in CREDIT_NOTE_TYPE_CODES:
            match.evidence = {**match.evidence, "212": "a credit note netted: no 212"}
        else:
            _collected(session, archive, invoice, match, line)
        _announce(session, invoice, "invoice.payment_received", match)
        buyers.add(buyer_key(invoice.buyer_siren, invoice.buyer_name))
    if line.payer_iban and learnable(proposal):
        for key in sorted(buyers):
            _learn(session, line.tenant_id, line.payer_iban, key)
    return matches


def _learn(session: Session, tenant_id: int, iban: str, key: str) -> None:
    iban = iban.replace(" ", "").upper()
    query = select(pm.PayerAccount.id).where(pm.PayerAccount.tenant_id == tenant_id, pm.PayerAccount.iban == iban, pm.PayerAccount.buyer_key == key)
    if session.scalar(query) is None:
        session.add(pm.PayerAccount(tenant_id=tenant_id, iban=iban, buyer_key=key))
        session.flush()


def _collected(session: Session, archive: Archive, invoice: db.Invoice, match: pm.PaymentMatch, line: pm.BankLine) -> None:
    """Record 212 Encaissée for what the match collects (a partial payment too, as the reform asks), split by VAT rate
    in proportion to what each rate still asks for, within what the lifecycle's balance still asks for."""
    balance = service.balance(session, archive, invoice)
    amounts = collections.collection_of(balance, match.amount + match.written_off) if balance else {}
    if not amounts:
        match.evidence = {**match.evidence, "212": "nothing left to collect in the lifecycle"}
        return
    when = line.value_date or line.booking_date
    change = StatusChange(
        "212",
        datetime.now(UTC).replace(microsecond=0),
        codes.SELLER,
        comment=f"Bank line {line.id} ({line.position})",
        amounts=tuple(Amount(codes.COLLECTED, value, invoice.currency, rate, when) for rate, value in amounts.items()),
    )
    decision = next_status(invoice.status, change)
    if not decision.applied:
        match.evidence = {**match.evidence, "212": f"not recorded: {decision.why}"}
        return
    recorded = service.record(session, archive, invoice, change, source=service.SOURCE_PAYMENT, actor=f"payments:{match.decided_by}")
    match.status_event_id = recorded.event.id


def undo(session: Session, archive: Archive, match: pm.PaymentMatch, *, actor: str) -> None:
    """Undo an applied match (and its siblings on the same line); the line is then the person's (`decided`).

    The 212 each of them recorded is given back as a new 212 with the amounts negated (a disbursement); nothing is
    deleted."""
    line = match.line
    touched = []
    for sibling in [m for m in line.matches if m.state == pm.APPLIED]:
        sibling.state = pm.UNDONE
        sibling.evidence = {**sibling.evidence, "undone_by": actor}
        touched.append(sibling)
    session.flush()
    for sibling in touched:
        invoice = session.get(db.Invoice, sibling.invoice_id)
        assert invoice is not None
        _announce(session, invoice, "invoice.payment_undone", sibling)
        if sibling.status_event_id is not None and not sibling.evidence.get("212_given_back"):
            _give_back(session, archive, invoice, sibling, line, actor)
    line.state = pm.DECIDED  # a person undid it: no automatic run matches it again
    session.flush()


def _give_back(session: Session, archive: Archive, invoice: db.Invoice, settled: pm.PaymentMatch, line: pm.BankLine, actor: str) -> None:
    event = session.get(db.StatusEvent, settled.status_event_id)
    assert event is not None
    given = change_from_dict(event.detail or {})
    back = StatusChange(
        "212",
        datetime.now(UTC).replace(microsecond=0),
        codes.SELLER,
        comment=f"Match of bank line {line.id} undone by {actor}",
        amounts=tuple(Amount(a.type_code, -(a.amount or ZERO), a.currency, a.vat_rate, a.value_date) for a in given.amounts),
    )
    recorded = service.record(session, archive, invoice, back, source=service.SOURCE_PAYMENT, actor=f"payments:{actor}")
    settled.evidence = {**settled.evidence, "212_given_back": recorded.event.id}


def _taught(session: Session, line: pm.BankLine, chosen: list[OpenItem]) -> None:
    """What a person's decision teaches besides the IBAN, when the line pays one buyer: the payer's name stands for that
    buyer, and the way the line writes a number it pays ("F26/45") is how that buyer writes them."""
    buyers = {item.buyer_key for item in chosen}
    if len(buyers) != 1:
        return
    [key] = buyers
    hints = [(pm.PAYER_NAME, name_key(line.payer_name))] if line.payer_name and name_key(line.payer_name) else []
    hints += [(pm.NUMBER_PREFIX, prefix) for item in chosen if (prefix := prefix_for(line.remittance, item.number))]
    for kind, value in dict.fromkeys(hints):
        known = select(pm.PaymentHint.id).where(
            pm.PaymentHint.tenant_id == line.tenant_id, pm.PaymentHint.kind == kind, pm.PaymentHint.value == value, pm.PaymentHint.buyer_key == key
        )
        if session.scalar(known) is None:
            session.add(pm.PaymentHint(tenant_id=line.tenant_id, kind=kind, value=value, buyer_key=key))
    session.flush()


class NotOpen(Exception):
    """A person named an invoice that is not open: unknown, another tenant's, or paid in full."""

    def __init__(self, number: str) -> None:
        super().__init__(f"invoice {number} is not open")
        self.number = number


def confirm(
    session: Session, archive: Archive, line: pm.BankLine, invoice_ids: list[str], *, actor: str, settings: Settings
) -> list[pm.PaymentMatch]:
    """A person's match of `line` to `invoice_ids` (in that order; credit notes among them are netted, an early-payment
    discount the line earned is granted): applied, never redone by an automatic run; the payer learned."""
    from gateway.payments.service import book  # the open items, as the engine sees them

    current = book(session, line.tenant_id)
    for invoice_id in invoice_ids:
        if invoice_id not in current.by_id and invoice_id not in current.credits_by_id:
            invoice = session.get(db.Invoice, invoice_id)
            raise NotOpen(invoice.number if invoice is not None and invoice.tenant_id == line.tenant_id else invoice_id)
    chosen = [current.by_id[i] for i in invoice_ids if i in current.by_id]
    credits = tuple(current.credits_by_id[i] for i in invoice_ids if i in current.credits_by_id)
    if not chosen:
        raise NotOpen(credits[0].number)  # a credit note alone is paid by nobody
    for proposed in [m for m in line.matches if m.state == pm.PROPOSED]:
        proposed.state = pm.UNDONE
    if credits:
        allocations, difference = netted(line.amount, chosen, credits, settings.tolerance)
        early = []
    else:
        allocations, difference, early = settle(line.amount, chosen, line.value_date or line.booking_date, settings)
    evidence: dict[str, Any] = {"confirmed_by": actor, "invoices": [i.number for i in chosen], "difference": str(difference)}
    if early:
        evidence["discount"] = early
    if credits:
        evidence["credit_notes"] = [c.number for c in credits]
    _taught(session, line, chosen)
    return apply(session, archive, line, Proposal("person", 1.0, evidence, allocations), decided_by=f"person:{actor}")


def reject(session: Session, line: pm.BankLine, invoice_id: str, *, actor: str) -> pm.PaymentMatch:
    """A person says `line` does not pay `invoice_id`: the pair is never proposed again."""
    for proposed in [m for m in line.matches if m.state == pm.PROPOSED and m.invoice_id == invoice_id]:
        proposed.state = pm.UNDONE
    match = new_match(line, Proposal("person", 0.0, {"rejected_by": actor}, ()), Allocation(invoice_id, ZERO), pm.REJECTED, f"person:{actor}")
    session.flush()
    return match

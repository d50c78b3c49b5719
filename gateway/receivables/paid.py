"""What was paid on an outgoing invoice until a day: the bank lines the payments domain matched, or the 212 Encaissée
the ERP recorded, whichever accounts for more.

The two are not added: a bank payment the gateway matched also records its 212, and counting both would pay twice.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from gateway.lifecycle import service as lifecycle
from gateway.lifecycle.events import change_from_dict
from gateway.payments import effects
from gateway.store import models as db

ZERO = Decimal("0.00")
Payment = tuple[date, Decimal]  # (value date, amount)


def _banked(session: Session, invoice: db.Invoice, as_of: date) -> list[Payment]:
    paid = []
    for payment in effects.position(session, invoice)["payments"]:
        when = date.fromisoformat(payment["date"]) if payment["date"] else None
        if when is not None and when <= as_of:
            paid.append((when, Decimal(payment["amount"]) + Decimal(payment["written_off"]) + Decimal(payment["discount"])))
    return paid


def _collected(session: Session, invoice: db.Invoice, as_of: date) -> list[Payment]:
    paid = []
    for event, life in lifecycle.timeline(session, invoice):
        if event.code != "212" or life is None or not life.applied:
            continue
        change = change_from_dict(event.detail or {})
        for amount in change.amounts:
            when = amount.value_date or change.time.date()
            if when <= as_of and amount.amount:
                paid.append((when, amount.amount))
    return paid


def payments_until(session: Session, invoice: db.Invoice, as_of: date) -> tuple[Payment, ...]:
    """The invoice's payments until `as_of`, oldest first (a disbursement is a negative amount)."""
    banked = _banked(session, invoice, as_of) if effects.payable(invoice) else []
    collected = _collected(session, invoice, as_of)
    total = sum((amount for _, amount in banked), ZERO)
    return tuple(sorted(banked if total >= sum((amount for _, amount in collected), ZERO) else collected))

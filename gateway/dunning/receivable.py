"""What a late invoice's buyer owes as of a day: the amount still due and the payments made, read from the payments
domain (bank lines matched) and the lifecycle (212 Encaissée recorded by the ERP), whichever accounts for more.

The two are not added: a bank payment the gateway matched also records its 212, and counting both would pay twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from gateway.archive.service import Archive
from gateway.jobs.models import channel_of
from gateway.lifecycle import service as lifecycle
from gateway.lifecycle.events import change_from_dict
from gateway.model.invoice import Invoice
from gateway.model.serialize import invoice_from_json
from gateway.payments import effects
from gateway.routing import directory
from gateway.routing.router import CHORUS_PRO, Buyer
from gateway.store import models as db

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Receivable:
    """An outgoing invoice as dunning sees it on `as_of`."""

    invoice: db.Invoice
    canonical: Invoice
    total: Decimal  # BT-115
    still_due: Decimal
    payments: tuple[tuple[date, Decimal], ...]  # (value date, amount) of each payment until as_of, oldest first
    public: bool  # a public-sector buyer (Chorus Pro): the law's moratorium interest only
    professional: bool  # a business buyer (SIREN or VAT number): the €40 indemnity is due
    email: str | None  # the buyer's address from the invoice or the directory


def canonical_of(archive: Archive, invoice: db.Invoice) -> Invoice | None:
    digest = next((d.sha256 for d in invoice.documents if d.kind == "canonical"), None)
    data = archive.read(digest) if digest else None
    return invoice_from_json(json.loads(data)) if data is not None else None


def _bank_payments(session: Session, invoice: db.Invoice, as_of: date) -> tuple[Decimal, list[tuple[date, Decimal]]]:
    position = effects.position(session, invoice)
    paid = []
    for payment in position["payments"]:
        when = date.fromisoformat(payment["date"]) if payment["date"] else None
        if when is not None and when <= as_of:
            paid.append((when, Decimal(payment["amount"]) + Decimal(payment["written_off"]) + Decimal(payment["discount"])))
    return sum((amount for _, amount in paid), ZERO), paid


def _collections(session: Session, invoice: db.Invoice, as_of: date) -> tuple[Decimal, list[tuple[date, Decimal]]]:
    paid = []
    for event, life in lifecycle.timeline(session, invoice):
        if event.code != "212" or life is None or not life.applied:
            continue
        change = change_from_dict(event.detail or {})
        for amount in change.amounts:
            when = amount.value_date or change.time.date()
            if when <= as_of and amount.amount:
                paid.append((when, amount.amount))
    return sum((amount for _, amount in paid), ZERO), paid


def receivable(session: Session, archive: Archive, invoice: db.Invoice, as_of: date) -> Receivable | None:
    """The invoice's position on `as_of`, or None without its canonical invoice."""
    canonical = canonical_of(archive, invoice)
    if canonical is None:
        return None
    total = effects.due(invoice)
    banked, bank_payments = _bank_payments(session, invoice, as_of) if effects.payable(invoice) else (ZERO, [])
    collected, collections = _collections(session, invoice, as_of)
    paid, payments = (banked, bank_payments) if banked >= collected else (collected, collections)
    buyer = Buyer.of(canonical)
    keys = [(directory.SIREN, buyer.siren)] if buyer.siren else []
    entry = directory.find(session, invoice.tenant_id, keys + [(directory.SIRET, s) for s in buyer.sirets])
    public = channel_of(session, invoice.id) == CHORUS_PRO or bool(entry and entry.public_sector)
    return Receivable(
        invoice=invoice,
        canonical=canonical,
        total=total,
        still_due=max(total - paid, ZERO),
        payments=tuple(sorted(payments)),
        public=public,
        professional=public or bool(buyer.siren or buyer.vat_id),
        email=buyer.email or (entry.email if entry is not None else None),
    )

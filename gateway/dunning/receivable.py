"""What a late invoice's buyer owes as of a day: the amount still due and the payments made (gateway.receivables.paid),
the buyer's kind (public, professional) and address."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from gateway.archive.service import Archive
from gateway.jobs.models import channel_of
from gateway.model.invoice import Invoice
from gateway.model.serialize import invoice_from_json
from gateway.payments import effects
from gateway.receivables.paid import payments_until
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


def receivable(session: Session, archive: Archive, invoice: db.Invoice, as_of: date) -> Receivable | None:
    """The invoice's position on `as_of`, or None without its canonical invoice."""
    canonical = canonical_of(archive, invoice)
    if canonical is None:
        return None
    total = effects.due(invoice)
    payments = payments_until(session, invoice, as_of)
    paid = sum((amount for _, amount in payments), ZERO)
    buyer = Buyer.of(canonical)
    keys = [(directory.SIREN, buyer.siren)] if buyer.siren else []
    entry = directory.find(session, invoice.tenant_id, keys + [(directory.SIRET, s) for s in buyer.sirets])
    public = channel_of(session, invoice.id) == CHORUS_PRO or bool(entry and entry.public_sector)
    return Receivable(
        invoice=invoice,
        canonical=canonical,
        total=total,
        still_due=max(total - paid, ZERO),
        payments=payments,
        public=public,
        professional=public or bool(buyer.siren or buyer.vat_id),
        email=buyer.email or (entry.email if entry is not None else None),
    )

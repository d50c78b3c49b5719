"""The tenant's receivables as plain data: one `Item` per outgoing invoice (not a credit note) with its payments,
disputes, refusal or rejection and the reminders sent — what the KPIs, the forecast and the risk score are computed from.

Read through the other domains' services (lifecycle, payments, dunning), never their tables.  The figures are in one
currency at a time (the invoices' BT-5): amounts in different currencies are never added.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.dunning import service as dunning
from gateway.dunning.models import SENT
from gateway.lifecycle import service as lifecycle
from gateway.model.invoice import CREDIT_NOTE_TYPE_CODES
from gateway.payments import effects
from gateway.payments.matching import buyer_key
from gateway.receivables.paid import Payment, payments_until
from gateway.store import models as db

ZERO = Decimal("0.00")
# L441-10 Code de commerce: without agreed terms, payment is due 30 days after the goods or the service.
DEFAULT_TERM = timedelta(days=30)
DISPUTED, REFUSED, REJECTED = "207", "210", "213"


@dataclass(frozen=True)
class Reminded:
    """A reminder sent: the day of its run, its tier's place in the policy (1 …) and name."""

    on: date
    level: int
    tier: str


@dataclass(frozen=True)
class Item:
    """An invoice as the receivables see it: what it asks for and what happened to it until the ledger's day."""

    invoice_id: str
    number: str
    buyer: str  # the buyer's key: its SIREN, else its name folded (gateway.payments.matching.buyer_key)
    buyer_name: str
    issue_date: date
    due_date: date  # BT-9, else 30 days after the issue date
    total: Decimal  # what the buyer owes in all (BT-115)
    payments: tuple[Payment, ...] = ()  # oldest first
    disputed: date | None = None  # first 207 En litige
    refused: date | None = None  # 210 Refusée
    rejected: bool = False  # refused by the platform (213, or at intake): never a receivable
    reminders: tuple[Reminded, ...] = ()

    def paid(self, as_of: date) -> Decimal:
        return sum((amount for when, amount in self.payments if when <= as_of), ZERO)

    def outstanding(self, as_of: date) -> Decimal:
        """What is still owed on `as_of` (0 before its issue, after its refusal or for a rejected invoice)."""
        if self.issue_date > as_of or self.rejected or self.refused_by(as_of):
            return ZERO
        return max(self.total - self.paid(as_of), ZERO)

    def in_dispute(self, as_of: date) -> bool:
        return self.disputed is not None and self.disputed <= as_of

    def refused_by(self, as_of: date) -> bool:
        return self.refused is not None and self.refused <= as_of

    @property
    def settled_on(self) -> date | None:
        """The day its payments first reached its total, None while they have not."""
        running = ZERO
        for when, amount in self.payments:
            running += amount
            if running >= self.total:
                return when
        return None

    @property
    def collectable(self) -> bool:
        """An invoice the buyer was asked to pay: not rejected, not refused, for a positive amount."""
        return not self.rejected and self.refused is None and self.total > 0


def items(session: Session, tenant_id: int, as_of: date, currency: str = "EUR") -> list[Item]:
    """The tenant's outgoing invoices in `currency` issued until `as_of`, as they stood on that day."""
    query = select(db.Invoice).where(
        db.Invoice.tenant_id == tenant_id, db.Invoice.direction == "outgoing", db.Invoice.currency == currency,
        db.Invoice.issue_date <= as_of, db.Invoice.type_code.not_in(sorted(CREDIT_NOTE_TYPE_CODES)),
    )  # fmt: skip
    statuses = lifecycle.first_applied(session, tenant_id, (DISPUTED, REFUSED, REJECTED))
    reminders = dunning.reminders_by_invoice(session, tenant_id)
    found = []
    for invoice in session.scalars(query.order_by(db.Invoice.issue_date, db.Invoice.id)):
        codes = {code: time.date() for code, time in statuses.get(invoice.id, {}).items() if time.date() <= as_of}
        sent = [r for r in reminders.get(invoice.id, []) if r.state == SENT and r.as_of <= as_of]
        found.append(
            Item(
                invoice_id=invoice.id, number=invoice.number, buyer=buyer_key(invoice.buyer_siren, invoice.buyer_name),
                buyer_name=invoice.buyer_name, issue_date=invoice.issue_date, due_date=invoice.due_date or invoice.issue_date + DEFAULT_TERM,
                total=effects.due(invoice), payments=payments_until(session, invoice, as_of),
                disputed=codes.get(DISPUTED), refused=codes.get(REFUSED),
                rejected=invoice.state == db.STATE_REJECTED or REJECTED in codes,
                reminders=tuple(Reminded(r.as_of, r.level, r.tier) for r in sent),
            )
        )  # fmt: skip
    return found

"""The receivables KPIs, computed from the ledger's items alone (pure functions: the tests recompute them from the raw
invoices, and the API and portal show the same figures).

- Aging on a day: what is owed, by buyer, in buckets of days past the due date (not due, 1–30, 31–60, 61–90, > 90).
- DSO by the count-back method: the receivables on the day are matched against the sales of the months before it,
  the latest first; each month whose sales they cover counts all its days, the last one the share they cover.
- Dispute, refusal and rejection rates of the invoices issued over the last twelve months.
- Dunning effectiveness: for each tier, the invoices whose last reminder was that tier, how many were then paid in full,
  and after how many days (median).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

from dateutil.relativedelta import relativedelta

from gateway.receivables.ledger import ZERO, Item

BUCKETS = ("not_due", "1-30", "31-60", "61-90", "90+")
RATE_WINDOW = timedelta(days=365)
DSO_MONTHS = 24  # the count-back looks no further back: a DSO of more than two years is shown as at least that


def bucket_of(days_late: int) -> str:
    return "not_due" if days_late <= 0 else "1-30" if days_late <= 30 else "31-60" if days_late <= 60 else "61-90" if days_late <= 90 else "90+"


@dataclass
class Aging:
    """What one buyer (or all) owes on a day, by bucket; `disputed` is the part in dispute (207), also in the buckets."""

    buyer: str
    buyer_name: str
    buckets: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKETS, ZERO))
    disputed: Decimal = ZERO
    invoices: int = 0

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), ZERO)

    def add(self, item: Item, amount: Decimal, as_of: date) -> None:
        self.buckets[bucket_of((as_of - item.due_date).days)] += amount
        self.disputed += amount if item.in_dispute(as_of) else ZERO
        self.invoices += 1

    def to_json(self) -> dict[str, object]:
        return {
            "buyer": self.buyer, "buyer_name": self.buyer_name, "invoices": self.invoices, "total": str(self.total),
            "disputed": str(self.disputed), "buckets": {name: str(amount) for name, amount in self.buckets.items()},
        }  # fmt: skip


def aging(items: Iterable[Item], as_of: date) -> tuple[list[Aging], Aging]:
    """Per buyer (largest balance first) and in all."""
    buyers: dict[str, Aging] = {}
    overall = Aging("", "")
    for item in items:
        owed = item.outstanding(as_of)
        if owed <= 0:
            continue
        buyers.setdefault(item.buyer, Aging(item.buyer, item.buyer_name)).add(item, owed, as_of)
        overall.add(item, owed, as_of)
    return sorted(buyers.values(), key=lambda a: (-a.total, a.buyer)), overall


@dataclass(frozen=True)
class Dso:
    days: Decimal
    receivables: Decimal
    months: tuple[tuple[date, date, Decimal], ...]  # the months counted back: (first day, last day, sales)
    capped: bool  # the receivables exceed the sales of DSO_MONTHS months: `days` is a lower bound

    def to_json(self) -> dict[str, object]:
        return {
            "days": str(self.days), "method": "count-back", "receivables": str(self.receivables), "at_least": self.capped,
            "months": [{"from": a.isoformat(), "to": b.isoformat(), "sales": str(s)} for a, b, s in self.months],
        }  # fmt: skip


def sales(items: Iterable[Item], first: date, last: date) -> Decimal:
    """The invoices issued from `first` to `last` (included) and not rejected by the platform."""
    return sum((i.total for i in items if first <= i.issue_date <= last and not i.rejected), ZERO)


def dso(items: list[Item], as_of: date) -> Dso:
    remaining = receivables = sum((item.outstanding(as_of) for item in items), ZERO)
    days, months = Decimal(0), []
    for back in range(DSO_MONTHS):
        if remaining <= 0:
            break
        last, first = as_of - relativedelta(months=back), as_of - relativedelta(months=back + 1) + timedelta(days=1)
        sold, length = sales(items, first, last), (last - first).days + 1
        months.append((first, last, sold))
        if sold >= remaining:
            days += Decimal(length) * remaining / sold
            remaining = ZERO
        else:
            days += length
            remaining -= sold
    return Dso(days.quantize(Decimal("0.1"), ROUND_HALF_UP), receivables, tuple(months), remaining > 0)


def _percent(part: int, whole: int) -> str:
    return str((Decimal(100 * part) / whole).quantize(Decimal("0.1"), ROUND_HALF_UP)) if whole else "0.0"


def rates(items: Iterable[Item], as_of: date) -> dict[str, object]:
    """Of the invoices issued in the twelve months until `as_of`: how many were disputed, refused, rejected."""
    issued = [i for i in items if as_of - RATE_WINDOW < i.issue_date <= as_of]
    disputed = sum(1 for i in issued if i.in_dispute(as_of))
    refused = sum(1 for i in issued if i.refused_by(as_of))
    rejected = sum(1 for i in issued if i.rejected)
    return {
        "from": (as_of - RATE_WINDOW + timedelta(days=1)).isoformat(), "to": as_of.isoformat(), "issued": len(issued),
        "disputed": disputed, "refused": refused, "rejected": rejected,
        "dispute_rate": _percent(disputed, len(issued)), "refusal_rate": _percent(refused, len(issued)),
        "rejection_rate": _percent(rejected, len(issued)),
    }  # fmt: skip


@dataclass
class TierOutcome:
    """The invoices whose last reminder was one tier, and how many of them were then paid in full, after how long."""

    level: int
    tier: str
    reached: int = 0
    paid: int = 0
    delays: list[int] = field(default_factory=list)  # days from the reminder to the payment

    @property
    def median_days(self) -> Decimal | None:
        return Decimal(median(self.delays)) if self.delays else None

    def to_json(self) -> dict[str, object]:
        days = self.median_days
        return {
            "level": self.level, "tier": self.tier, "reached": self.reached, "paid": self.paid,
            "paid_rate": _percent(self.paid, self.reached), "median_days_to_pay": str(days) if days is not None else None,
        }  # fmt: skip


def dunning_effectiveness(items: Iterable[Item], as_of: date) -> list[TierOutcome]:
    """Per tier, by its place in the policy (an invoice counts for the last tier sent before it was paid)."""
    tiers: dict[int, TierOutcome] = {}
    for item in items:
        settled = item.settled_on
        before = [r for r in item.reminders if settled is None or r.on <= settled]
        if not before:
            continue
        last = max(before, key=lambda r: r.level)
        outcome = tiers.setdefault(last.level, TierOutcome(last.level, last.tier))
        outcome.reached += 1
        if settled is not None and settled <= as_of:
            outcome.paid += 1
            outcome.delays.append((settled - last.on).days)
    return [tiers[level] for level in sorted(tiers)]

"""A risk score per buyer (0 = none, 100 = highest) as the sum of four factors, each with the figure it comes from, so
a credit manager can check it:

- lateness: its median days late (40 points at 60 days or more; early payers score 0), over its invoices paid in full
  (paid day − due date) and those still owed past their due date (how late they already are: at least that);
- old debt: the share of what it owes that is more than 60 days past due (25 points when all of it is);
- disputes: the share of its invoices of the last twelve months put in dispute (207) or refused (210) (15 points at 30 %);
- dunning: the share of its invoices of the last twelve months that needed a reminder (20 points when all did).

Low under 30, medium under 60, high from 60.  A buyer with no invoice paid nor overdue has no lateness yet (0 points).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

from gateway.receivables.behaviour import days_late
from gateway.receivables.kpis import RATE_WINDOW
from gateway.receivables.ledger import ZERO, Item

LOW, MEDIUM, HIGH = "low", "medium", "high"
POINT = Decimal("0.1")


def _points(ceiling: int, share: Decimal) -> Decimal:
    return (Decimal(ceiling) * min(Decimal(1), max(ZERO, share))).quantize(POINT, ROUND_HALF_UP)


@dataclass(frozen=True)
class Factor:
    name: str  # lateness, old_debt, disputes, dunning
    points: Decimal
    value: str  # the figure: days, or a percentage
    basis: int  # how many invoices it was computed from

    def to_json(self) -> dict[str, object]:
        return {"factor": self.name, "points": str(self.points), "value": self.value, "invoices": self.basis}


@dataclass(frozen=True)
class Risk:
    buyer: str
    buyer_name: str
    owed: Decimal
    factors: tuple[Factor, ...]

    @property
    def score(self) -> Decimal:
        return sum((f.points for f in self.factors), ZERO)

    @property
    def level(self) -> str:
        return LOW if self.score < 30 else MEDIUM if self.score < 60 else HIGH

    def to_json(self) -> dict[str, object]:
        return {
            "buyer": self.buyer, "buyer_name": self.buyer_name, "owed": str(self.owed), "score": str(self.score),
            "level": self.level, "factors": [f.to_json() for f in self.factors],
        }  # fmt: skip


def _share(part: int | Decimal, whole: int | Decimal) -> Decimal:
    return Decimal(part) / Decimal(whole) if whole else ZERO


def _percent(share: Decimal) -> str:
    return str((share * 100).quantize(POINT, ROUND_HALF_UP))


def score(buyer_items: list[Item], late: list[int], as_of: date) -> Risk:
    first = buyer_items[0]
    owed = sum((i.outstanding(as_of) for i in buyer_items), ZERO)
    old = sum((i.outstanding(as_of) for i in buyer_items if (as_of - i.due_date).days > 60), ZERO)
    recent = [i for i in buyer_items if as_of - RATE_WINDOW < i.issue_date <= as_of]
    disputed = sum(1 for i in recent if i.in_dispute(as_of) or i.refused_by(as_of))
    reminded = sum(1 for i in recent if any(r.on <= as_of for r in i.reminders))
    late = late + [(as_of - i.due_date).days for i in buyer_items if i.due_date < as_of and i.outstanding(as_of) > 0]
    typical = Decimal(median(late)) if late else None
    factors = (
        Factor("lateness", _points(40, (typical or ZERO) / 60), "" if typical is None else str(typical), len(late)),
        Factor("old_debt", _points(25, _share(old, owed)), _percent(_share(old, owed)), len(buyer_items)),
        Factor("disputes", _points(15, _share(disputed, len(recent)) / Decimal("0.3")), _percent(_share(disputed, len(recent))), len(recent)),
        Factor("dunning", _points(20, _share(reminded, len(recent))), _percent(_share(reminded, len(recent))), len(recent)),
    )  # fmt: skip
    return Risk(first.buyer, first.buyer_name, owed, factors)


def risks(items: list[Item], as_of: date) -> list[Risk]:
    """Every buyer's risk on `as_of`, the riskiest first."""
    by_buyer: dict[str, list[Item]] = {}
    for item in items:
        if not item.rejected:
            by_buyer.setdefault(item.buyer, []).append(item)
    history = days_late(items, as_of)
    found = [score(group, history.get(buyer, []), as_of) for buyer, group in by_buyer.items()]
    return sorted(found, key=lambda r: (-r.score, -r.owed, r.buyer))

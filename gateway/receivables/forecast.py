"""The 13-week cash forecast: when each open invoice is likely to be paid, from its buyer's learned behaviour.

For an invoice still owed at the end of day D, due on E, its buyer's past days late L give the payment days E + L; those
until D did not happen (it is still owed), the later ones are its distribution.  Week k (D + 1 + 7k … D + 7 + 7k) expects
Σ amount × P(week k); its interval (80 %) treats the invoices as independent payments: Σ amount² × p (1 − p) is the
variance.  An invoice already later than anything its buyer ever did is *doubtful* and not forecast; one in dispute
(207) waits for its resolution and is not forecast either.  Both are shown beside the weeks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from gateway.receivables.behaviour import Behaviour, learn
from gateway.receivables.ledger import ZERO, Item

WEEKS = 13
Z_80 = Decimal("1.2816")  # the normal quantile for a two-sided 80 % interval
CENT = Decimal("0.01")


@dataclass
class Week:
    start: date
    expected: Decimal = ZERO
    variance: Decimal = ZERO
    invoices: int = 0

    @property
    def end(self) -> date:
        return self.start + timedelta(days=6)

    @property
    def interval(self) -> tuple[Decimal, Decimal]:
        spread = Z_80 * self.variance.sqrt()
        return max(ZERO, self.expected - spread).quantize(CENT), (self.expected + spread).quantize(CENT)

    def to_json(self) -> dict[str, object]:
        low, high = self.interval
        return {
            "week": self.start.isocalendar().week, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "expected": str(self.expected.quantize(CENT)), "low": str(low), "high": str(high), "invoices": self.invoices,
        }  # fmt: skip


@dataclass
class Forecast:
    as_of: date
    weeks: list[Week]
    beyond: Decimal = ZERO  # expected after the thirteenth week
    doubtful: Decimal = ZERO  # later than anything the buyer ever paid
    disputed: Decimal = ZERO
    sources: dict[str, int] = field(default_factory=dict)  # buyers forecast from their own history, the portfolio's, the terms

    def to_json(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(), "interval": "80%", "weeks": [week.to_json() for week in self.weeks],
            "expected": str(sum((w.expected for w in self.weeks), ZERO).quantize(CENT)),
            "beyond": str(self.beyond.quantize(CENT)), "doubtful": str(self.doubtful.quantize(CENT)),
            "disputed": str(self.disputed.quantize(CENT)), "buyers_by_history": self.sources,
        }  # fmt: skip


def distribution(item: Item, behaviour: Behaviour, as_of: date) -> list[Decimal] | None:
    """P(paid in week k) for k in 0 … WEEKS − 1, then P(later); None when no past behaviour is that late."""
    possible = [(item.due_date + timedelta(days=late) - as_of).days for late in behaviour.samples]
    possible = [days for days in possible if days >= 1]
    if not possible:
        return None
    counts = [0] * (WEEKS + 1)
    for days in possible:
        counts[min((days - 1) // 7, WEEKS)] += 1
    return [Decimal(count) / len(possible) for count in counts]


def forecast(items: list[Item], as_of: date, behaviours: dict[str, Behaviour] | None = None) -> Forecast:
    behaviours = behaviours if behaviours is not None else learn(items, as_of)
    result = Forecast(as_of, [Week(as_of + timedelta(days=1, weeks=k)) for k in range(WEEKS)])
    for behaviour in behaviours.values():
        result.sources[behaviour.source] = result.sources.get(behaviour.source, 0) + 1
    for item in items:
        owed = item.outstanding(as_of)
        if owed <= 0:
            continue
        if item.in_dispute(as_of):
            result.disputed += owed
            continue
        chances = distribution(item, behaviours[item.buyer], as_of)
        if chances is None:
            result.doubtful += owed
            continue
        for week, p in zip(result.weeks, chances, strict=False):
            week.expected += owed * p
            week.variance += owed * owed * p * (1 - p)
            week.invoices += 1 if p > 0 else 0
        result.beyond += owed * chances[WEEKS]
    return result

"""The 13-week cash forecast: when each open invoice is likely to be paid, from its buyer's learned behaviour.

For an invoice still owed at the end of day D, due on E (so d = D − E days late), its buyer's survival curve S
(gateway.receivables.behaviour) gives the chance it is paid in week k (D + 1 + 7k … D + 7 + 7k) given that it is not
paid yet: (S(d + 7k) − S(d + 7k + 7)) / S(d).  Week k expects Σ amount × P(week k); its interval (80 %) treats the
invoices as independent payments: Σ amount² × p (1 − p) is the variance.  What the curve leaves unpaid after the
latest payment its buyer ever made is *doubtful* (in part or, for an invoice already later than that, in full) and
not forecast; an invoice in dispute (207) waits for its resolution and is not forecast either.  Both are shown beside
the weeks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from gateway.receivables.behaviour import Behaviour, learn, survival
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


def distribution(item: Item, curve: tuple[list[int], list[Decimal]], as_of: date) -> list[Decimal] | None:
    """P(paid in week k) for k in 0 … WEEKS − 1, P(later, as late as its buyer has been), and P(later than that: doubtful),
    given that it is still owed on `as_of`; None when its buyer's curve leaves no chance it is still unpaid now."""
    late = (as_of - item.due_date).days  # days late at the end of as_of (negative while not due)
    alive = survival(curve, late)
    if alive <= 0:
        return None
    edges = [survival(curve, late + 7 * k) for k in range(WEEKS + 1)]
    final = curve[1][-1] if curve[1] else alive
    chances = [(edges[k] - edges[k + 1]) / alive for k in range(WEEKS)]
    return [*chances, (edges[WEEKS] - final) / alive, final / alive]


def forecast(items: list[Item], as_of: date, behaviours: dict[str, Behaviour] | None = None) -> Forecast:
    behaviours = behaviours if behaviours is not None else learn(items, as_of)
    result = Forecast(as_of, [Week(as_of + timedelta(days=1, weeks=k)) for k in range(WEEKS)])
    for behaviour in behaviours.values():
        result.sources[behaviour.source] = result.sources.get(behaviour.source, 0) + 1
    curves = {buyer: behaviour.curve() for buyer, behaviour in behaviours.items()}
    for item in items:
        owed = item.outstanding(as_of)
        if owed <= 0:
            continue
        if item.in_dispute(as_of):
            result.disputed += owed
            continue
        chances = distribution(item, curves[item.buyer], as_of)
        if chances is None:
            result.doubtful += owed
            continue
        for week, p in zip(result.weeks, chances, strict=False):
            week.expected += owed * p
            week.variance += owed * owed * p * (1 - p)
            week.invoices += 1 if p > 0 else 0
        result.beyond += owed * chances[WEEKS]
        result.doubtful += owed * chances[WEEKS + 1]
    return result

"""How each buyer pays, as a survival curve of days late: of its invoices, those paid in full tell when (payment day −
due date; negative when early), those still owed past their due date tell only that they are not paid yet after so
many days (censored).  The Kaplan–Meier estimate S(t) — the share of invoices still unpaid t days after their due
date — uses both, so a buyer that leaves some invoices unpaid is not assumed to pay them like the others.

A buyer with fewer than `MIN_HISTORY` invoices paid borrows the whole portfolio's history (its own added); with no
history at all, the terms are taken at their word (paid on the due date)."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from gateway.receivables.ledger import Item

MIN_HISTORY = 3
OWN, PORTFOLIO, TERMS = "own", "portfolio", "terms"
ONE, ZERO = Decimal(1), Decimal(0)


@dataclass(frozen=True)
class Behaviour:
    buyer: str
    own: tuple[int, ...]  # its own invoices' days late, sorted
    samples: tuple[int, ...]  # the paid invoices' days late its curve is drawn from, sorted
    source: str  # OWN, PORTFOLIO or TERMS
    unpaid: tuple[int, ...] = ()  # how late the invoices still owed already are (censored), sorted

    @property
    def median(self) -> int:
        return self.samples[len(self.samples) // 2]

    def curve(self) -> tuple[list[int], list[Decimal]]:
        """Kaplan–Meier: the days late at which payments happened, and S just after each of them."""
        events, days, survival, running = Counter(self.samples), [], [], ONE
        at_risk = len(self.samples) + len(self.unpaid)
        censored = Counter(self.unpaid)
        for day in sorted(set(events) | set(censored)):
            if events[day]:
                running *= ONE - Decimal(events[day]) / at_risk
                days.append(day)
                survival.append(running)
            at_risk -= events[day] + censored[day]
        return days, survival


def survival(curve: tuple[list[int], list[Decimal]], day: int) -> Decimal:
    """S(day): the share still unpaid `day` days after the due date."""
    days, values = curve
    index = bisect_right(days, day)
    return values[index - 1] if index else ONE


def days_late(items: Iterable[Item], as_of: date) -> dict[str, list[int]]:
    """Per buyer, the days late of its invoices paid in full until `as_of`."""
    found: dict[str, list[int]] = {}
    for item in items:
        settled = item.settled_on
        if item.collectable and settled is not None and settled <= as_of:
            found.setdefault(item.buyer, []).append((settled - item.due_date).days)
    return found


def still_unpaid(items: Iterable[Item], as_of: date) -> dict[str, list[int]]:
    """Per buyer, how many days past due its invoices still owed on `as_of` are (not in dispute)."""
    found: dict[str, list[int]] = {}
    for item in items:
        if item.due_date < as_of and item.outstanding(as_of) > 0 and not item.in_dispute(as_of):
            found.setdefault(item.buyer, []).append((as_of - item.due_date).days)
    return found


def learn(items: list[Item], as_of: date) -> dict[str, Behaviour]:
    """Every buyer's behaviour on `as_of` (buyers with no history too)."""
    history, open_late = days_late(items, as_of), still_unpaid(items, as_of)
    portfolio = tuple(sorted(d for late in history.values() for d in late))
    portfolio_unpaid = tuple(sorted(d for late in open_late.values() for d in late))
    learned = {}
    for buyer in sorted({item.buyer for item in items}):
        own, unpaid = tuple(sorted(history.get(buyer, []))), tuple(sorted(open_late.get(buyer, [])))
        if len(own) >= MIN_HISTORY:
            learned[buyer] = Behaviour(buyer, own, own, OWN, unpaid)
        elif portfolio:
            learned[buyer] = Behaviour(buyer, own, portfolio, PORTFOLIO, portfolio_unpaid)
        else:
            learned[buyer] = Behaviour(buyer, own, (0,), TERMS)
    return learned

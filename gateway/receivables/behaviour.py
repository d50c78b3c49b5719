"""How each buyer pays: the days late (payment in full minus due date; negative when early) of its invoices paid in
full until a day.  A buyer with fewer than `MIN_HISTORY` such invoices borrows the whole portfolio's history (its own
added); with no history at all, the terms are taken at their word (paid on the due date)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from gateway.receivables.ledger import Item

MIN_HISTORY = 3
OWN, PORTFOLIO, TERMS = "own", "portfolio", "terms"


@dataclass(frozen=True)
class Behaviour:
    buyer: str
    own: tuple[int, ...]  # its own invoices' days late, sorted
    samples: tuple[int, ...]  # what its forecast draws from, sorted
    source: str  # OWN, PORTFOLIO or TERMS

    @property
    def median(self) -> int:
        return self.samples[len(self.samples) // 2]


def days_late(items: Iterable[Item], as_of: date) -> dict[str, list[int]]:
    """Per buyer, the days late of its invoices paid in full until `as_of`."""
    found: dict[str, list[int]] = {}
    for item in items:
        settled = item.settled_on
        if item.collectable and settled is not None and settled <= as_of:
            found.setdefault(item.buyer, []).append((settled - item.due_date).days)
    return found


def learn(items: list[Item], as_of: date) -> dict[str, Behaviour]:
    """Every buyer's behaviour on `as_of` (buyers with no history too)."""
    history = days_late(items, as_of)
    portfolio = tuple(sorted(d for late in history.values() for d in late))
    learned = {}
    for buyer in sorted({item.buyer for item in items}):
        own = tuple(sorted(history.get(buyer, [])))
        if len(own) >= MIN_HISTORY:
            learned[buyer] = Behaviour(buyer, own, own, OWN)
        elif portfolio:
            learned[buyer] = Behaviour(buyer, own, tuple(sorted(portfolio + own)), PORTFOLIO)
        else:
            learned[buyer] = Behaviour(buyer, own, (0,), TERMS)
    return learned

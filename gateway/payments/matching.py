"""The matching engine: ordered rules, each proposing invoices for a bank line with a score, its name and its evidence.  Pure.

Rules, in order: the structured creditor reference (RF, ISO 11649, or the number itself), the end-to-end id, invoice
numbers and ERP references in the remittance text (`references`), the payer (IBAN learned from confirmed matches, else
its name close to the buyer's) with the amount of one open invoice, then with the sum of several (bounded subset-sum
over that buyer's open items).  A line short of what an invoice asks for by the early-payment discount its terms
grant (`discounts`), paid in time, pays it in full, the discount recorded as such.  The best proposal at or above
`threshold` is applied; the others are the candidates a person reviews.  A pair a person rejected is never proposed
again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from itertools import combinations
from typing import Any

from rapidfuzz import fuzz, process
from stdnum import iso11649

from gateway.payments.discounts import Discount, granted
from gateway.payments.references import ReferenceIndex, fold, name_key, prefixed_numbers, serial

ZERO = Decimal("0.00")
MAX_GROUP_ITEMS = 24  # a buyer's open items considered for a grouped payment (the oldest first)
MAX_GROUP_SIZE = 6
MAX_GROUP_NODES = 5000  # search steps per buyer and line
MAX_CREDITS = 6  # a buyer's open credit notes tried for netting (the oldest first), one or two at a time
NAME_SIMILARITY = 88  # rapidfuzz token_set_ratio, 0–100
RARE_WORD_BUYERS = 50  # a word of a payer's name that at most this many buyers' names have narrows the name search
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Settings:
    """`tolerance`: a difference up to it is written off (bank fees); `threshold`: the score applied without review;
    `discount_grace_days`: days after a discount's deadline that a payment still earns it (a transfer ordered on the
    last day reaches the account a day or two later)."""

    tolerance: Decimal = Decimal("5.00")
    threshold: float = 0.9
    discount_grace_days: int = 3


@dataclass(frozen=True)
class OpenItem:
    """An invoice still (partly) due, as the engine sees it."""

    id: str
    number: str
    erp_reference: str | None
    buyer_key: str
    buyer_name: str
    still_due: Decimal
    currency: str
    issued: date | None = None
    discounts: tuple[Discount, ...] = ()  # the early-payment discounts its terms grant (none once partly paid)


@dataclass(frozen=True)
class Allocation:
    invoice_id: str
    amount: Decimal
    written_off: Decimal = ZERO
    discount: Decimal = ZERO  # an early-payment discount granted


@dataclass(frozen=True)
class Proposal:
    rule: str
    score: float
    evidence: dict[str, Any]
    allocations: tuple[Allocation, ...]


@dataclass
class Book:
    """The tenant's open items with their indexes, and what the engine learned (payer IBAN → buyers)."""

    items: list[OpenItem]
    payers: dict[str, set[str]] = field(default_factory=dict)
    rejected: set[tuple[int, str]] = field(default_factory=set)
    credits: list[OpenItem] = field(default_factory=list)  # open credit notes: `still_due` is what is left to net
    payer_names: dict[str, set[str]] = field(default_factory=dict)  # a payer's name (folded) → buyers: people's decisions
    prefixes: dict[str, set[str]] = field(default_factory=dict)  # how buyers write numbers ("F26/") → buyers: likewise

    def __post_init__(self) -> None:
        self.credits_by_id = {credit.id: credit for credit in self.credits}
        self.credits_by_buyer: dict[str, list[OpenItem]] = {}
        for credit in self.credits:
            self.credits_by_buyer.setdefault(credit.buyer_key, []).append(credit)
        self.by_id = {item.id: item for item in self.items}
        self.index = ReferenceIndex([(i.id, i.number) for i in self.items] + [(i.id, i.erp_reference or "") for i in self.items])
        self.by_buyer: dict[str, list[OpenItem]] = {}
        self.by_amount: dict[Decimal, list[OpenItem]] = {}
        for item in self.items:
            self.by_buyer.setdefault(item.buyer_key, []).append(item)
            self.by_amount.setdefault(item.still_due, []).append(item)
        self.buyer_keys = list(self.by_buyer)
        self.names_seen: dict[str, tuple[set[str], dict[str, Any]]] = {}  # payer name → close buyers (payers repeat)
        self.buyer_names = [self.by_buyer[key][0].buyer_name.casefold() for key in self.buyer_keys]
        self.name_words: dict[str, list[int]] = {}  # a word of buyers' names → the buyers (indexes) whose name has it
        for index, name in enumerate(self.buyer_names):
            for word in set(_WORD.findall(name)):
                self.name_words.setdefault(word, []).append(index)

    def is_open(self, key: str | None) -> bool:
        return key is not None and key in self.by_id

    def applied(self, proposal: Proposal, payer_iban: str | None) -> None:
        """What an applied proposal changes, as the store will see it: each invoice's due lowered (gone when paid in
        full), the payer's IBAN learned for the buyer.  Cheaper than reading the book again after each match.

        A paid invoice's references stay in the index (`is_open` tells): a later line naming it finds nothing open."""
        for allocation in proposal.allocations:
            if allocation.invoice_id in self.credits_by_id:
                self._net(allocation)
                continue
            item = self.by_id.pop(allocation.invoice_id, None)
            if item is None:
                continue
            self.by_amount[item.still_due].remove(item)
            siblings = self.by_buyer[item.buyer_key]
            at = siblings.index(item)
            left = item.still_due - allocation.amount - allocation.written_off - allocation.discount
            if left > 0:
                siblings[at] = self.by_id[item.id] = replace(item, still_due=left)
                self.by_amount.setdefault(left, []).append(siblings[at])
            else:
                del siblings[at]
            if learnable(proposal) and payer_iban:
                self.payers.setdefault(payer_iban.replace(" ", "").upper(), set()).add(item.buyer_key)

    def _net(self, allocation: Allocation) -> None:
        """A credit note netted (a negative allocation): what is left of it, gone when used up."""
        credit = self.credits_by_id.pop(allocation.invoice_id)
        siblings = self.credits_by_buyer[credit.buyer_key]
        at = siblings.index(credit)
        left = credit.still_due + allocation.amount
        if left > 0:
            siblings[at] = self.credits_by_id[credit.id] = replace(credit, still_due=left)
        else:
            del siblings[at]


@dataclass(frozen=True)
class BankLineView:
    id: int
    amount: Decimal
    currency: str
    end_to_end_id: str | None
    creditor_ref: str | None
    remittance: str | None
    payer_name: str | None
    payer_iban: str | None
    paid_on: date | None = None  # value date, else booking date: what an early-payment discount's deadline is met by


def allocate(amount: Decimal, items: list[OpenItem], tolerance: Decimal) -> tuple[tuple[Allocation, ...], Decimal]:
    """Spread `amount` over `items` in order; a shortfall within `tolerance` on the last is written off, an excess over-pays it.

    Returns the allocations and the difference left (negative: short of what was due beyond the tolerance)."""
    left, out = amount, []
    for n, item in enumerate(items):
        last = n == len(items) - 1
        pay = left if last else min(left, item.still_due)
        short = item.still_due - pay
        written_off = short if last and ZERO < short <= tolerance else ZERO
        out.append(Allocation(item.id, pay, written_off))
        left -= pay
    due = sum((i.still_due for i in items), ZERO)
    return tuple(out), amount - due


def discounted(
    amount: Decimal, items: list[OpenItem], paid_on: date | None, settings: Settings
) -> tuple[tuple[Allocation, ...], Decimal, list[dict[str, str]]] | None:
    """`amount` paying `items` less the early-payment discounts paid in time earns: the allocations (each with its
    discount), the difference left and the evidence; None when no discount is earned."""
    earned = {i.id: tier for i in items if i.issued and (tier := granted(i.discounts, i.issued, paid_on, settings.discount_grace_days))}
    if not earned:
        return None
    off = {i.id: earned[i.id].of(i.still_due) for i in items if i.id in earned}
    allocations, difference = allocate(amount, [replace(i, still_due=i.still_due - off.get(i.id, ZERO)) for i in items], settings.tolerance)
    evidence, granted_allocations = [], []
    for item, allocation in zip(items, allocations, strict=True):
        if item.id in earned and item.issued:  # a payment a little above the discounted amount is granted less discount
            allocation = replace(allocation, discount=min(off[item.id], max(item.still_due - allocation.amount - allocation.written_off, ZERO)))
            tier = earned[item.id]
            evidence.append(
                {
                    "invoice": item.number,
                    "percent": str(tier.percent),
                    "until": tier.until(item.issued).isoformat(),
                    "discount": str(allocation.discount),
                }
            )
        granted_allocations.append(allocation)
    return tuple(granted_allocations), difference, evidence


def _creditor_reference(book: Book, line: BankLineView) -> list[str]:
    ref = line.creditor_ref
    if not ref:
        return []
    key = book.index.exact(iso11649.compact(ref)[4:] if iso11649.is_valid(ref) else ref)
    return [key] if book.is_open(key) else []


# How a reference was read in the remittance (gateway.payments.references): its score, and its rank from the surest
# (a serial scores 0.93 only when the amount agrees too).
_HOW_SCORE = {"exact": 0.96, "sibling": 0.96, "loose": 0.95, "serial": 0.93, "digits": 0.9}
_HOW_WEAKNESS = {"exact": 0, "sibling": 0, "loose": 1, "digits": 2, "serial": 3}


def settle(
    amount: Decimal, items: list[OpenItem], paid_on: date | None, settings: Settings
) -> tuple[tuple[Allocation, ...], Decimal, list[dict[str, str]]]:
    """`amount` spread over `items` (`allocate`); when it is short of what they ask for and an early-payment discount it
    earned makes up for it, less that discount (a shortfall the discount covers is the discount, not bank fees).
    Returns the allocations, the difference left and the discounts granted (evidence)."""
    allocations, difference = allocate(amount, items, settings.tolerance)
    if difference < 0 and any(i.discounts for i in items):
        early = discounted(amount, items, paid_on, settings)
        if early is not None and abs(early[1]) <= settings.tolerance:
            return early
    return allocations, difference, []


def _amount_agrees(book: Book, keys: list[str], line: BankLineView, settings: Settings) -> bool:
    """The line pays what these invoices still ask for, less up to the tolerance (bank fees) or less an early-payment
    discount it earned (then a little more is the buyer taking less of it)."""
    _, difference, early = settle(line.amount, [book.by_id[k] for k in keys], line.paid_on, settings)
    return -settings.tolerance <= difference <= 0 or (bool(early) and abs(difference) <= settings.tolerance)


def _by_reference(book: Book, line: BankLineView, settings: Settings, keys: list[str], rule: str, base: float, evidence: dict[str, Any]) -> Proposal:
    items = [book.by_id[k] for k in keys]
    allocations, difference, early = settle(line.amount, items, line.paid_on, settings)
    due = sum((i.still_due for i in items), ZERO)
    details = {**evidence, "invoices": [i.number for i in items], "amount": str(line.amount), "still_due": str(due)}
    if early:
        details["discount"] = early
    if difference < -settings.tolerance and len({i.buyer_key for i in items}) == 1:
        for credits in _credit_sets(book, items[0].buyer_key, line.currency):  # short by an open credit note of the buyer's
            with_credits, rest = netted(line.amount, items, credits, settings.tolerance)
            if abs(rest) <= settings.tolerance:
                details |= {"credit_notes": [c.number for c in credits], "difference": str(rest)}
                return Proposal(rule, base, details, with_credits)
    fits = abs(difference) <= settings.tolerance or (len(items) == 1)  # one invoice named: a partial or over-payment of it
    score = base if fits else base - 0.25
    return Proposal(rule, round(score, 3), details | {"difference": str(difference)}, allocations)


def _by_learned_prefix(book: Book, line: BankLineView, settings: Settings) -> Proposal | None:
    """A number written the way a person's decision showed that a buyer writes them ("F26/45"): that buyer's open
    invoice whose last number it is, when only one is."""
    for word, prefix, digits in prefixed_numbers(line.remittance):
        buyers = sorted(book.prefixes.get(prefix, ()))
        hits = [i for buyer in buyers for i in book.by_buyer.get(buyer, []) if serial(i.number) == digits]
        if len(hits) == 1:
            base = 0.93 if _amount_agrees(book, [hits[0].id], line, settings) else 0.7
            evidence = {"remittance": line.remittance, "found": [word], "learned_prefix": prefix}
            return _by_reference(book, line, settings, [hits[0].id], "learned_reference", base, evidence)
    return None


def _credit_sets(book: Book, buyer: str, currency: str) -> list[tuple[OpenItem, ...]]:
    """The buyer's open credit notes that a payment may net, one or two of them."""
    credits = [c for c in book.credits_by_buyer.get(buyer, [])[:MAX_CREDITS] if c.currency == currency]
    return [(c,) for c in credits] + list(combinations(credits, 2))


def netted(amount: Decimal, items: list[OpenItem], credits: tuple[OpenItem, ...], tolerance: Decimal) -> tuple[tuple[Allocation, ...], Decimal]:
    """`amount` paying `items` less `credits`: the invoices' allocations, each credit note's (negative), the difference."""
    credited = sum((c.still_due for c in credits), ZERO)
    allocations, difference = allocate(amount + credited, items, tolerance)
    return allocations + tuple(Allocation(c.id, -c.still_due) for c in credits), difference


def _payer_buyers(book: Book, line: BankLineView) -> tuple[set[str], dict[str, Any]]:
    if line.payer_iban and (known := book.payers.get(line.payer_iban.replace(" ", "").upper())):
        return set(known), {"payer_iban": line.payer_iban, "learned": True}
    if not line.payer_name:
        return set(), {}
    if known := book.payer_names.get(name_key(line.payer_name)):
        return set(known), {"payer_name": line.payer_name, "learned": True}
    cached = book.names_seen.get(line.payer_name)
    if cached is not None:
        return cached
    query = line.payer_name.casefold()
    found = process.extract(query, _name_choices(book, query), scorer=fuzz.token_set_ratio, score_cutoff=NAME_SIMILARITY, limit=5)
    if not found:
        book.names_seen[line.payer_name] = (set(), {})
        return set(), {}
    result = {book.buyer_keys[index] for _, _, index in found}, {"payer_name": line.payer_name, "similarity": max(score for _, score, _ in found)}
    book.names_seen[line.payer_name] = result
    return result


def _name_choices(book: Book, query: str) -> Mapping[int, str] | list[str]:
    """The buyers' names worth scoring against a payer's name: those sharing one of its uncommon words, else all of them.

    Scoring every buyer costs about a millisecond per line at 5,000 buyers; a name with a word few buyers have is
    scored against those few.  A payer's name with no such word (misspelt, or common words only) is scored against
    every buyer, so that a misspelling is still recognised."""
    near: set[int] = set()
    for word in set(_WORD.findall(query)):
        buyers = book.name_words.get(word, ())
        if 0 < len(buyers) <= RARE_WORD_BUYERS:
            near.update(buyers)
    return {index: book.buyer_names[index] for index in near} if near else book.buyer_names


def _subset(items: list[OpenItem], amount: Decimal, tolerance: Decimal) -> list[list[OpenItem]]:
    """The sets of 2 … MAX_GROUP_SIZE open items whose sum is `amount` or up to `tolerance` above it (fees); at most two.

    Depth-first over the items sorted by amount, a branch cut as soon as its sum passes `amount` + `tolerance`, and
    the whole search bounded (MAX_GROUP_NODES): a buyer with many open items costs the same as one with a few."""
    pool = sorted((i for i in items[:MAX_GROUP_ITEMS] if i.still_due > 0), key=lambda i: i.still_due)
    found: list[list[OpenItem]] = []
    visited = 0
    limit = amount + tolerance

    def walk(start: int, chosen: list[OpenItem], total: Decimal) -> None:
        nonlocal visited
        for n in range(start, len(pool)):
            visited += 1
            if visited > MAX_GROUP_NODES or len(found) > 1:
                return
            now = total + pool[n].still_due
            if now > limit:
                return  # sorted: every later item is larger
            picked = [*chosen, pool[n]]
            if len(picked) >= 2 and now >= amount:
                found.append(picked)
            elif len(picked) < MAX_GROUP_SIZE:
                walk(n + 1, picked, now)

    walk(0, [], ZERO)
    return found


def _payer_netting(book: Book, line: BankLineView, settings: Settings, buyer: str, items: list[OpenItem], payer: dict[str, Any]) -> list[Proposal]:
    """The payer's line is one (or a few) of its open invoices less one or two of its open credit notes."""
    for credits in _credit_sets(book, buyer, line.currency):
        target = line.amount + sum((c.still_due for c in credits), ZERO)
        single = [i for i in items if ZERO <= i.still_due - target <= settings.tolerance]
        groups = [single] if len(single) == 1 else _subset(items, target, settings.tolerance)
        proposals = []
        for group in groups:
            allocations, difference = netted(line.amount, group, credits, settings.tolerance)
            invoices = {"invoices": [i.number for i in group], "credit_notes": [c.number for c in credits], "difference": str(difference)}
            score = (0.92 if payer.get("learned") else 0.8) if len(groups) == 1 and len(group) == 1 else 0.7
            proposals.append(Proposal("credit_note_netted", score, {**payer, "amount": str(line.amount), **invoices}, allocations))
        if proposals:
            return proposals
    return []


def propose(book: Book, line: BankLineView, settings: Settings) -> list[Proposal]:
    """Every rule's proposal for `line`, best first (empty: nothing recognised).  A debit is never matched."""
    if line.amount <= 0:
        return []
    proposals: list[Proposal] = []
    keys = _creditor_reference(book, line)
    if keys:
        proposals.append(_by_reference(book, line, settings, keys, "creditor_reference", 1.0, {"creditor_reference": line.creditor_ref}))
    if line.end_to_end_id and book.is_open(key := book.index.exact(line.end_to_end_id)):
        proposals.append(_by_reference(book, line, settings, [key], "end_to_end_id", 0.98, {"end_to_end_id": line.end_to_end_id}))
    found = [f for f in book.index.find(line.remittance) if book.is_open(f.key)]
    if found:
        how = max((f.how for f in found), key=lambda h: _HOW_WEAKNESS.get(h, 0))  # the weakest reading decides
        evidence = {"remittance": line.remittance, "found": [f.written for f in found], "how": how}
        rule = "text_reference" if len(found) == 1 and how in ("exact", "loose") else "text_references"
        keys = [f.key for f in found]
        base = _HOW_SCORE.get(how, 0.96)
        if how == "serial" and not _amount_agrees(book, keys, line, settings):
            base = 0.7  # a bare number and a different amount: a person decides
        proposals.append(_by_reference(book, line, settings, keys, rule, base, evidence))
    if not found and book.prefixes and (learned := _by_learned_prefix(book, line, settings)):
        proposals.append(learned)
    if any(p.score >= settings.threshold for p in _allowed(book, line, proposals)):
        return _allowed(book, line, proposals)  # a reference settled it: the payer rules would only add weaker candidates
    buyers, payer = _payer_buyers(book, line)
    learned = bool(payer.get("learned"))
    for buyer in sorted(buyers):
        items = [i for i in book.by_buyer.get(buyer, []) if i.currency == line.currency]
        same = [
            i
            for i in items
            if ZERO <= i.still_due - line.amount <= settings.tolerance or (i.discounts and _amount_agrees(book, [i.id], line, settings))
        ]
        if len(same) == 1:
            allocations, difference, early = settle(line.amount, same, line.paid_on, settings)
            evidence = {**payer, "amount": str(line.amount), "still_due": str(same[0].still_due), "invoices": [same[0].number]}
            if early:
                evidence["discount"] = early
            proposals.append(Proposal("payer_amount", 0.95 if learned else 0.85, evidence, allocations))
        elif not same:
            groups = _subset(items, line.amount, settings.tolerance)
            if not groups:
                proposals.extend(_payer_netting(book, line, settings, buyer, items, payer))
            for group in groups:
                allocations, difference = allocate(line.amount, group, settings.tolerance)
                evidence = {**payer, "amount": str(line.amount), "invoices": [i.number for i in group], "difference": str(difference)}
                score = (0.92 if learned else 0.8) if len(groups) == 1 else 0.6
                if difference:
                    score -= 0.1  # a sum of several invoices that is near the amount, not equal to it, may be a coincidence
                proposals.append(Proposal("grouped_payment", score, evidence, allocations))
    if not proposals:
        same = [i for i in book.by_amount.get(line.amount, []) if i.currency == line.currency]
        for item in same[:3]:
            proposals.append(Proposal("amount_only", 0.5 if len(same) == 1 else 0.3, {"amount": str(line.amount), "invoices": [item.number]},
                                      (Allocation(item.id, line.amount),)))  # fmt: skip
    return _allowed(book, line, proposals)


def _allowed(book: Book, line: BankLineView, proposals: list[Proposal]) -> list[Proposal]:
    """Best first, without the pairs a person rejected."""
    allowed = [p for p in proposals if not any((line.id, a.invoice_id) in book.rejected for a in p.allocations)]
    return sorted(allowed, key=lambda p: -p.score)


def learnable(proposal: Proposal) -> bool:
    return proposal.rule != "amount_only"


def buyer_key(siren: str | None, name: str) -> str:
    return siren or fold(name)


def decide(proposals: Iterable[Proposal], settings: Settings) -> Proposal | None:
    """The proposal applied without review: the best, when it reaches the threshold."""
    best = next(iter(proposals), None)
    return best if best is not None and best.score >= settings.threshold else None

"""Late-payment penalties and the recovery indemnity, as French law sets them.

Between professionals (Code de commerce L441-10 II): penalties are due from the day after the due date, at the
rate the invoice's terms state, which cannot be lower than three times the legal interest rate; when the terms state
none, at the ECB's main refinancing rate plus 10 points.  A fixed indemnity of €40 per invoice for recovery costs is
due too (L441-10 II, D441-5).  A public buyer owes moratorium interest at the ECB rate plus 8 points (Code de la
commande publique R2192-31) and the same €40 (D2192-35), whatever the terms say: nothing more is claimed from it.
The ECB rate used is the one in force on the first day of the half-year in which interest starts to run.

The rate tables below are published facts (ECB decisions; the legal rate by arrêté each half-year, "autres cas",
i.e. creditors acting for their business); an operator adds the later ones in `[dunning]` (ecb_rates,
legal_rates) until a release carries them.  A date after the last known value uses it and says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
INDEMNITY = Decimal("40.00")  # EUR, D441-5 C. com. and D2192-35 CCP
INDEMNITY_BASES = {  # by public buyer or not
    False: {"fr": "art. L441-10 et D441-5 C. com.", "en": "art. L441-10 and D441-5 French Commercial Code"},
    True: {"fr": "art. L2192-13 et D2192-35 CCP", "en": "art. L2192-13 and D2192-35 French Public Procurement Code"},
}
ECB_RATES: dict[date, Decimal] = {  # main refinancing operations, from the day the decision took effect
    date(2022, 7, 27): Decimal("0.50"), date(2022, 9, 14): Decimal("1.25"), date(2022, 11, 2): Decimal("2.00"),
    date(2022, 12, 21): Decimal("2.50"), date(2023, 2, 8): Decimal("3.00"), date(2023, 3, 22): Decimal("3.50"),
    date(2023, 5, 10): Decimal("3.75"), date(2023, 6, 21): Decimal("4.00"), date(2023, 8, 2): Decimal("4.25"),
    date(2023, 9, 20): Decimal("4.50"), date(2024, 6, 12): Decimal("4.25"), date(2024, 9, 18): Decimal("3.65"),
    date(2024, 10, 23): Decimal("3.40"), date(2024, 12, 18): Decimal("3.15"), date(2025, 2, 5): Decimal("2.90"),
    date(2025, 3, 12): Decimal("2.65"), date(2025, 4, 23): Decimal("2.40"), date(2025, 6, 11): Decimal("2.15"),
}  # fmt: skip
LEGAL_RATES: dict[str, Decimal] = {  # taux de l'intérêt légal, "autres cas" (professional creditors), per half-year
    "2023-S1": Decimal("2.06"), "2023-S2": Decimal("4.22"), "2024-S1": Decimal("5.07"), "2024-S2": Decimal("4.92"),
    "2025-S1": Decimal("3.71"), "2025-S2": Decimal("2.76"),
}  # fmt: skip

_NUMBER = r"(\d{1,2}(?:[.,]\d{1,4})?)"
_THREE_TIMES = re.compile(r"(?:trois|3)\s*fois\s+le\s+taux\s+(?:de\s+l['’]\s*)?(?:d['’]\s*)?int[ée]r[êe]t\s+l[ée]gal|"
                          r"(?:three|3)\s*times\s+the\s+(?:french\s+)?legal\s+(?:interest\s+)?rate", re.IGNORECASE)  # fmt: skip
_STATED = (
    re.compile(r"p[ée]nalit[ée]s?\s+de\s+retard[^.\n]{0,60}?" + _NUMBER + r"\s*%", re.IGNORECASE),
    re.compile(r"late[- ]payment\s+(?:interest|penalt(?:y|ies))[^.\n]{0,60}?" + _NUMBER + r"\s*%", re.IGNORECASE),
)


@dataclass(frozen=True)
class Rates:
    """The ECB and legal rate tables in force (ours, with the operator's later values)."""

    ecb: Mapping[date, Decimal] = field(default_factory=lambda: dict(ECB_RATES))
    legal: Mapping[str, Decimal] = field(default_factory=lambda: dict(LEGAL_RATES))

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> Rates:
        """`[dunning] ecb_rates = {"2026-03-18" = "2.00"}`, `legal_rates = {"2026-S1" = "2.62"}` added to ours."""
        ecb = {**ECB_RATES, **{date.fromisoformat(k): Decimal(str(v)) for k, v in section.get("ecb_rates", {}).items()}}
        legal = {**LEGAL_RATES, **{_half_year_key(k): Decimal(str(v)) for k, v in section.get("legal_rates", {}).items()}}
        return cls(ecb, legal)

    def ecb_on(self, day: date) -> tuple[Decimal, str]:
        """The ECB rate in force on the first day of `day`'s half-year, and where it comes from."""
        start = half_year_start(day)
        known = [d for d in sorted(self.ecb) if d <= start]
        if not known:
            raise ValueError(f"no ECB rate known on {start}")
        return self.ecb[known[-1]], f"ECB {self.ecb[known[-1]]} % since {known[-1].isoformat()}"

    def legal_on(self, day: date) -> tuple[Decimal, str]:
        """The legal interest rate of `day`'s half-year; the latest known one, said so, when it is not known yet."""
        key = half_year(day)
        if key in self.legal:
            return self.legal[key], f"legal rate {key} {self.legal[key]} %"
        latest = max(k for k in self.legal if k <= key)
        return self.legal[latest], f"legal rate {latest} {self.legal[latest]} % (latest known: set [dunning] legal_rates for {key})"


def half_year(day: date) -> str:
    return f"{day.year}-S{1 if day.month <= 6 else 2}"


def half_year_start(day: date) -> date:
    return date(day.year, 1 if day.month <= 6 else 7, 1)


def _half_year_key(text: str) -> str:
    if not re.fullmatch(r"\d{4}-S[12]", text):
        raise ValueError(f"[dunning] legal_rates: {text!r} is not a half-year such as 2026-S1")
    return text


@dataclass(frozen=True)
class Terms:
    """What the invoice's terms say of penalties: a stated yearly rate, or three times the legal rate, or nothing."""

    rate: Decimal | None = None
    three_times_legal: bool = False


def read_terms(texts: Sequence[str]) -> Terms:
    """The penalty terms among the invoice's payment terms and notes (PMD: "Pénalités de retard : …")."""
    text = "\n".join(texts)
    if _THREE_TIMES.search(text):
        return Terms(three_times_legal=True)
    for pattern in _STATED:
        if found := pattern.search(text):
            return Terms(rate=Decimal(found.group(1).replace(",", ".")))
    return Terms()


STATED, FLOOR, THREE_TIMES_LEGAL, ECB_PLUS_10, PUBLIC = "stated", "floor", "three_times_legal", "ecb_plus_10", "public"
BASES = {  # why the rate is what it is, in the reminder's language
    STATED: {"fr": "taux des conditions de paiement", "en": "the rate of the payment terms"},
    FLOOR: {"fr": "3 × le taux d'intérêt légal, minimum de l'art. L441-10 C. com.",
            "en": "3 × the legal interest rate, the minimum of art. L441-10 French Commercial Code"},
    THREE_TIMES_LEGAL: {"fr": "3 × le taux d'intérêt légal", "en": "3 × the French legal interest rate"},
    ECB_PLUS_10: {"fr": "taux BCE + 10 points, art. L441-10 C. com.", "en": "ECB rate + 10 points, art. L441-10 French Commercial Code"},
    PUBLIC: {"fr": "intérêts moratoires, taux BCE + 8 points, art. R2192-31 CCP",
             "en": "moratorium interest, ECB rate + 8 points, art. R2192-31 French Public Procurement Code"},
}  # fmt: skip


@dataclass(frozen=True)
class Rate:
    """The yearly rate applied (%), why (one of BASES) and the figures it comes from, in words a buyer can check."""

    percent: Decimal
    basis: str
    source: str


def penalty_rate(terms: Terms, *, public: bool, starts: date, rates: Rates, override: Decimal | None = None) -> Rate:
    """The rate of late-payment penalties that start to run on `starts` (the day after the due date)."""
    ecb, ecb_source = rates.ecb_on(starts)
    if public:
        return Rate(ecb + 8, PUBLIC, ecb_source)
    legal, legal_source = rates.legal_on(starts)
    floor = (3 * legal).quantize(CENT)
    stated = override if override is not None else terms.rate
    if stated is not None:
        if stated < floor:
            return Rate(floor, FLOOR, f"{legal_source}; stated {stated} % is below it")
        return Rate(stated, STATED, "the invoice's terms" if override is None else "the dunning policy")
    if terms.three_times_legal:
        return Rate(floor, THREE_TIMES_LEGAL, legal_source)
    return Rate(ecb + 10, ECB_PLUS_10, ecb_source)


def penalties(due_date: date, as_of: date, still_due: Decimal, payments: Sequence[tuple[date, Decimal]], rate: Decimal) -> Decimal:
    """Simple interest at `rate` % a year (365 days) on each part of the amount from the day after the due date: until its
    payment for what was paid late, until `as_of` for what is still due."""
    late = [(max((paid - due_date).days, 0), amount) for paid, amount in payments if paid <= as_of]
    late.append((max((as_of - due_date).days, 0), still_due))
    interest = sum((amount * rate * days / Decimal(36500) for days, amount in late if amount > 0), Decimal(0))
    return interest.quantize(CENT, ROUND_HALF_UP)


def days_late(due_date: date, as_of: date) -> int:
    return max((as_of - due_date).days, 0)


def interest_start(due_date: date) -> date:
    return due_date + timedelta(days=1)

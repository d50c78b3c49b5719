"""The checks, as pure functions of an invoice's facts and its supplier's history (what the earlier invoices of the
same supplier left: numbers, amounts, bank accounts, document digests).  Each finding says what it saw in words a
person can check, with the evidence; none changes anything.

| kind | severity | when |
|---|---|---|
| `duplicate_document` | high | the same bytes were received before |
| `duplicate_number` | high | the supplier already sent this number, maybe written otherwise ("F 2026/042" = "F2026-42") |
| `possible_duplicate` | medium | the same amount from the same supplier within `DUPLICATE_DAYS` days, under another number |
| `iban_changed` | high | its bank account is not one of those of the supplier's earlier invoices |
| `invalid_iban` | high | the IBAN's check digits (ISO 13616) are wrong |
| `iban_country` | medium | the IBAN's country is not the seller's |
| `address_changed` | low | the seller's postal address is not the one of its latest earlier invoice |
| `vat_rate` | medium | a French seller charges a standard-rate (S) VAT rate France does not have |
| `invalid_identifier` | high | a SIREN or SIRET fails its checksum, or the French VAT number is not the SIREN's |
| `amount_outlier` | medium | the amount is far outside the supplier's history (robust z-score of its logarithm: median and MAD) |
| `round_amount`, `weekend` | info | weak signals, shown, worth few points |
"""

from __future__ import annotations

import re
from bisect import insort
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from statistics import median
from typing import Any

from stdnum import iban as iban_number
from stdnum import luhn
from stdnum.fr import siren as siren_number

from gateway.risk.facts import Facts

HIGH, MEDIUM, LOW, INFO = "high", "medium", "low", "info"
POINTS = {HIGH: 60, MEDIUM: 30, LOW: 10, INFO: 3}
DUPLICATE_DAYS = 7
OUTLIER_Z = Decimal(6)  # robust z-scores (amounts are multiplicative: of their logarithms) beyond this are outliers
OUTLIER_HISTORY = 12  # invoices of the supplier before amounts are compared
MAD_TO_SIGMA = Decimal("1.4826")
MIN_SPREAD = Decimal("0.05")  # a supplier whose amounts never vary: 6 × 5 % in log terms, i.e. about a third off its usual amount
ROUND = Decimal(1000)
IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}\Z")
# Article 278 ff. CGI: 20, 10, 5.5 and 2.1 %; Corsica (297) 13, 10, 2.1, 0.9 %; Guadeloupe, Martinique, Réunion (296) 8.5, 2.1, 1.75, 1.05 %.
FRENCH_RATES = frozenset(Decimal(r) for r in ("20", "10", "5.5", "2.1", "13", "0.9", "8.5", "1.75", "1.05"))


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str
    explanation: str
    evidence: dict[str, Any]

    @property
    def points(self) -> int:
        return POINTS[self.severity]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "severity": self.severity, "points": self.points, "explanation": self.explanation, "evidence": self.evidence}


@dataclass
class History:
    """One supplier's earlier invoices, as the checks need them."""

    numbers: dict[str, str] = field(default_factory=dict)  # number key -> the invoice that had it (its number as written)
    documents: dict[str, str] = field(default_factory=dict)  # digest -> number
    ibans: dict[str, str] = field(default_factory=dict)  # IBAN -> the first invoice number that paid to it
    amounts: list[Decimal] = field(default_factory=list)  # sorted
    logs: list[Decimal] = field(default_factory=list)  # the natural logarithms of the positive amounts, sorted
    by_amount: dict[Decimal, list[tuple[date, str]]] = field(default_factory=dict)
    address: str = ""  # of the latest invoice that gave one

    def learn(self, facts: Facts, trusted_iban: bool) -> None:
        """Add an invoice; its IBAN only when `trusted_iban` (a changed account is learnt once a person approved it)."""
        self.numbers.setdefault(facts.key, facts.number)
        if facts.document_sha256:
            self.documents.setdefault(facts.document_sha256, facts.number)
        if facts.iban and trusted_iban:
            self.ibans.setdefault(facts.iban, facts.number)
        self.address = facts.address or self.address
        if not facts.credit_note:
            insort(self.amounts, facts.total)
            if facts.total > 0:
                insort(self.logs, facts.total.ln())
            self.by_amount.setdefault(facts.total, []).append((facts.issue_date, facts.number))


def _duplicates(facts: Facts, history: History) -> list[Finding]:
    if facts.document_sha256 and facts.document_sha256 in history.documents:
        earlier = history.documents[facts.document_sha256]
        return [Finding("duplicate_document", HIGH, f"The same document was received before, as invoice {earlier}.",
                        {"invoice": earlier, "sha256": facts.document_sha256})]  # fmt: skip
    if facts.key in history.numbers:
        earlier = history.numbers[facts.key]
        how = "" if earlier == facts.number else f" written {earlier!r}"
        return [Finding("duplicate_number", HIGH, f"The supplier already sent invoice number {facts.number!r}{how}.",
                        {"number": facts.number, "earlier": earlier})]  # fmt: skip
    near = [(day, number) for day, number in history.by_amount.get(facts.total, []) if abs((day - facts.issue_date).days) <= DUPLICATE_DAYS]
    if near and not facts.credit_note:
        day, number = near[0]
        gap = abs((day - facts.issue_date).days)
        evidence = {"invoice": number, "issue_date": day.isoformat(), "amount": str(facts.total)}
        explanation = f"Invoice {number} of {day.isoformat()} has the same amount ({facts.total} {facts.currency}) and is {gap} days apart."
        return [Finding("possible_duplicate", MEDIUM, explanation, evidence)]
    return []


def _bank(facts: Facts, history: History) -> list[Finding]:
    if not facts.iban:
        return []
    found = []
    if not IBAN_SHAPE.match(facts.iban):
        pass  # another kind of account identifier: only a change of it is worth saying
    elif not iban_number.is_valid(facts.iban):
        found.append(Finding("invalid_iban", HIGH, f"The IBAN {facts.iban} is not valid (its check digits are wrong).", {"iban": facts.iban}))
    elif facts.country and facts.iban[:2] != facts.country:
        found.append(Finding("iban_country", MEDIUM, f"The IBAN is a {facts.iban[:2]} account, the seller is in {facts.country}.",
                             {"iban": facts.iban, "seller_country": facts.country}))  # fmt: skip
    if history.ibans and facts.iban not in history.ibans:
        known = sorted(history.ibans)
        found.append(Finding("iban_changed", HIGH, f"Payment is asked to {facts.iban}; the supplier's earlier invoices were paid to "
                             f"{', '.join(known)}. Check the change with the supplier by a known channel before paying.",
                             {"iban": facts.iban, "known": known, "first_paid_by": [history.ibans[i] for i in known]}))  # fmt: skip
    return found


def _identifiers(facts: Facts) -> list[Finding]:
    problems = []
    if facts.siren and not siren_number.is_valid(facts.siren):
        problems.append(f"SIREN {facts.siren} fails its checksum")
    problems += [f"SIRET {s} fails its checksum" for s in facts.sirets if not (len(s) == 14 and s.isdigit() and luhn.is_valid(s))]
    vat = (facts.vat_id or "").replace(" ", "").upper()
    if vat.startswith("FR") and facts.siren and siren_number.is_valid(facts.siren) and vat != "FR" + siren_number.to_tva(facts.siren):
        problems.append(f"VAT number {vat} is not the one of SIREN {facts.siren} (FR{siren_number.to_tva(facts.siren)})")
    if not problems:
        return []
    return [
        Finding("invalid_identifier", HIGH, "; ".join(problems) + ".", {"siren": facts.siren, "sirets": list(facts.sirets), "vat_id": facts.vat_id})
    ]


def _seller(facts: Facts, history: History) -> list[Finding]:
    found = []
    if facts.address and history.address and facts.address != history.address:
        found.append(Finding("address_changed", LOW, "The seller's postal address differs from the one on its latest earlier invoice.",
                             {"address": facts.address, "earlier": history.address}))  # fmt: skip
    odd = sorted({rate for category, rate in facts.vat_rates if category == "S" and rate.normalize() not in FRENCH_RATES})
    if facts.country == "FR" and odd:
        shown = ", ".join(f"{rate.normalize()} %" for rate in odd)
        found.append(Finding("vat_rate", MEDIUM, f"Standard-rated VAT at {shown}: not a rate France applies (art. 278 ff. CGI).",
                             {"rates": [str(rate) for rate in odd]}))  # fmt: skip
    return found


def _amount(facts: Facts, history: History) -> list[Finding]:
    found = []
    logs = history.logs
    if not facts.credit_note and facts.total > 0 and len(logs) >= OUTLIER_HISTORY:
        middle = logs[len(logs) // 2]
        spread = MAD_TO_SIGMA * Decimal(median(abs(value - middle) for value in logs))
        distance = abs(facts.total.ln() - middle)
        if distance > OUTLIER_Z * max(spread, MIN_SPREAD):
            usual = history.amounts[len(history.amounts) // 2]
            times = facts.total / usual if usual > 0 else Decimal(0)
            found.append(Finding("amount_outlier", MEDIUM, f"{facts.total} {facts.currency} is {times:.1f} times the supplier's usual "
                                 f"{usual} ({len(logs)} earlier invoices; robust z-score {distance / max(spread, MIN_SPREAD):.1f}).",
                                 {"amount": str(facts.total), "median": str(usual), "invoices": len(logs)}))  # fmt: skip
    if facts.total >= ROUND and facts.total % ROUND == 0:
        found.append(Finding("round_amount", INFO, f"A round amount ({facts.total} {facts.currency}).", {"amount": str(facts.total)}))
    if facts.issue_date.weekday() >= 5:
        found.append(Finding("weekend", INFO, f"Issued on a {facts.issue_date.strftime('%A')}.", {"issue_date": facts.issue_date.isoformat()}))
    return found


def check(facts: Facts, history: History) -> list[Finding]:
    """Every finding on an invoice, given its supplier's history before it."""
    return [*_duplicates(facts, history), *_bank(facts, history), *_identifiers(facts), *_seller(facts, history), *_amount(facts, history)]


AUTO_APPROVE, NORMAL, HOLD = "auto_approve", "normal", "hold"


@dataclass(frozen=True)
class Thresholds:
    """Where the score routes an invoice: held from `hold` points (any high finding reaches it), normal from `normal`,
    else approved without a person — only for a supplier already known (`known_after` earlier invoices)."""

    hold: int = 60
    normal: int = 10
    known_after: int = 3


def level(findings: list[Finding], history_size: int, thresholds: Thresholds | None = None) -> tuple[int, str]:
    thresholds = thresholds or Thresholds()
    score = min(100, sum(f.points for f in findings))
    if score >= thresholds.hold:
        return score, HOLD
    if score >= thresholds.normal or history_size < thresholds.known_after:
        return score, NORMAL
    return score, AUTO_APPROVE

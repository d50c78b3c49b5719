"""What an invoice's buyer owes per VAT rate, what 212 Encaissée events collected, and what is still due.  Pure.

A 212 carries the amount collected split by VAT rate (MEN, incl. VAT: A7 G7.45).  The gateway checks it against
the invoice: a rate the invoice does not have is refused, and over every applied 212 of the invoice the amounts
collected at a rate never exceed the invoice's amount at that rate (its VAT breakdown's taxable amount plus VAT,
BT-116 + BT-117), nor their sum the amount due (BT-115, which deducts prepayments); partial collections add up,
and a negative amount (a disbursement) gives back what was collected, never more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from gateway.lifecycle import codes
from gateway.lifecycle.events import Amount
from gateway.model.invoice import Invoice
from gateway.texts import N_

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Due:
    """What the invoice asks for: per VAT rate (incl. VAT) and in total (BT-115), in its currency (BT-5)."""

    currency: str
    by_rate: Mapping[Decimal, Decimal]
    total: Decimal


@dataclass(frozen=True)
class Balance:
    """An invoice's payment position: what it asks for, what 212 events collected, what is still due (per rate and in total)."""

    due: Due
    collected: Mapping[Decimal, Decimal]

    @property
    def collected_total(self) -> Decimal:
        return sum(self.collected.values(), ZERO)

    @property
    def still_due_total(self) -> Decimal:
        return self.due.total - self.collected_total

    def still_due(self, rate: Decimal) -> Decimal:
        return self.due.by_rate.get(rate, ZERO) - self.collected.get(rate, ZERO)

    def to_dict(self) -> dict[str, object]:
        """JSON values (Decimals as strings), rates in decreasing order."""
        return {
            "currency": self.due.currency,
            "due": str(self.due.total),
            "collected": str(self.collected_total),
            "still_due": str(self.still_due_total),
            "by_vat_rate": [
                {"vat_rate": str(rate), "due": str(due), "collected": str(self.collected.get(rate, ZERO)), "still_due": str(self.still_due(rate))}
                for rate, due in sorted(self.due.by_rate.items(), reverse=True)
            ],
        }


def due_of(invoice: Invoice) -> Due:
    """The invoice's amounts due, from its completed VAT breakdown and totals (an invoice read by the intake has both)."""
    by_rate: dict[Decimal, Decimal] = {}
    for line in invoice.vat_breakdown:
        rate = line.rate if line.rate is not None else ZERO
        by_rate[rate] = by_rate.get(rate, ZERO) + (line.taxable_amount or ZERO) + (line.tax_amount or ZERO)
    totals = invoice.totals
    total = totals.amount_due if totals and totals.amount_due is not None else sum(by_rate.values(), ZERO)
    return Due(invoice.currency, by_rate, total)


def collected(amounts: Iterable[Amount]) -> dict[Decimal, Decimal]:
    """The amounts collected (MEN) per VAT rate."""
    by_rate: dict[Decimal, Decimal] = {}
    for amount in amounts:
        if amount.type_code == codes.COLLECTED and amount.amount is not None and amount.vat_rate is not None:
            by_rate[amount.vat_rate] = by_rate.get(amount.vat_rate, ZERO) + amount.amount
    return by_rate


def collection_problems(balance: Balance, amounts: Iterable[Amount]) -> list[str]:
    """Why a 212 collecting `amounts` does not fit the invoice, given what earlier 212 events collected (empty: it fits)."""
    due, problems = balance.due, []
    new = [a for a in amounts if a.type_code == codes.COLLECTED and a.amount is not None and a.vat_rate is not None]
    for amount in new:
        if amount.currency and amount.currency != due.currency:
            problems.append(
                N_("the amount collected at {rate} % is in {currency}, the invoice in {due}").format(
                    rate=amount.vat_rate, currency=amount.currency, due=due.currency
                )
            )
        if amount.vat_rate not in due.by_rate:
            rates = ", ".join(f"{rate} %" for rate in sorted(due.by_rate, reverse=True)) or N_("none")
            problems.append(N_("the invoice has no VAT rate {rate} % (its rates: {rates})").format(rate=amount.vat_rate, rates=rates))
            continue
        after = balance.collected.get(amount.vat_rate, ZERO) + amount.amount
        if after > due.by_rate[amount.vat_rate]:
            above = N_(
                "{amount} {currency} at {rate} % would bring the amount collected at that rate to {after}, above the {due} the invoice asks for "
                "(still due: {still})"
            )
            problems.append(
                above.format(
                    amount=amount.amount,
                    currency=due.currency,
                    rate=amount.vat_rate,
                    after=after,
                    due=due.by_rate[amount.vat_rate],
                    still=balance.still_due(amount.vat_rate),
                )
            )
        elif after < 0:
            problems.append(
                N_("{amount} {currency} at {rate} % gives back more than was collected at that rate").format(
                    amount=amount.amount, currency=due.currency, rate=amount.vat_rate
                )
            )
    total = balance.collected_total + sum((a.amount or ZERO for a in new), ZERO)
    if not problems and total > due.total:
        still = balance.still_due_total
        problems.append(
            N_("the amounts collected would total {total} {currency}, above the amount due of {due} (still due: {still})").format(
                total=total, currency=due.currency, due=due.total, still=still
            )
        )
    return problems


def full_payment(balance: Balance) -> dict[Decimal, Decimal]:
    """What settles the invoice: the amount still due at each rate, highest rate first, within what is still due in total
    (a prepayment, BT-113, lowers the total below the sum of the rates)."""
    left, paid = balance.still_due_total, {}
    for rate in sorted(balance.due.by_rate, reverse=True):
        amount = min(balance.still_due(rate), left)
        if amount > 0:
            paid[rate], left = amount, left - amount
    return paid


def collection_of(balance: Balance, amount: Decimal) -> dict[Decimal, Decimal]:
    """What a payment of `amount` collects at each rate: all that is still due when it covers it (`full_payment`), else
    `amount` spread over the rates in proportion to what each still asks for, to the cent, the cents left by rounding
    on the highest rates (a 212 for a partial payment, A7 P1.16, split by rate, G7.45)."""
    if amount >= balance.still_due_total:
        return full_payment(balance)
    open_rates = {rate: balance.still_due(rate) for rate in sorted(balance.due.by_rate, reverse=True) if balance.still_due(rate) > 0}
    base = sum(open_rates.values(), ZERO)
    if amount <= 0 or base <= 0:
        return {}
    shares = {rate: (amount * still / base).quantize(CENT, rounding=ROUND_DOWN) for rate, still in open_rates.items()}
    left = amount - sum(shares.values(), ZERO)
    for rate, still in open_rates.items():  # highest rate first
        extra = min(left, still - shares[rate])
        shares[rate], left = shares[rate] + extra, left - extra
    return {rate: share for rate, share in shares.items() if share > 0}

"""EN 16931 calculations (BR-CO-10…17, BR-x-08): complete what is absent, check what is given.

An ERP may send totals or leave them out.  What it leaves out is computed here;
what it sends is compared with the computed value and a mismatch becomes a
fatal finding naming the rule.  Given values are never overwritten.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from gateway.model.invoice import Invoice, InvoiceLine, Totals, VatBreakdown
from gateway.texts import N_
from gateway.validation.report import Finding

CENT = Decimal("0.01")
ZERO = Decimal("0")
ARTEFACT = "GATEWAY"

# The "-08" rule of each VAT category (taxable amount per category/rate).
CATEGORY_RULE_PREFIX = {"S": "BR-S", "Z": "BR-Z", "E": "BR-E", "AE": "BR-AE", "K": "BR-IC", "G": "BR-G", "O": "BR-O", "L": "BR-AF", "M": "BR-AG"}


def round2(value: Decimal) -> Decimal:
    """EN 16931 rounding of amounts: two decimals, half away from zero."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_net_amount(line: InvoiceLine) -> Decimal:
    """BT-131 = quantity × net price / base quantity − line allowances + line charges."""
    base = line.base_quantity or Decimal(1)
    gross = line.quantity * line.net_price / base
    return round2(gross - sum((a.amount for a in line.allowances), ZERO) + sum((c.amount for c in line.charges), ZERO))


def _key(category: str, rate: Decimal | None) -> tuple[str, Decimal]:
    """(category, rate) with the rate compared by value: 20 == 20.00, and no rate == 0 (EN 16931 accepts both for O)."""
    return category, (rate if rate is not None else ZERO).normalize()


def taxable_bases(invoice: Invoice) -> dict[tuple[str, Decimal], tuple[Decimal | None, Decimal]]:
    """Σ BT-131 − Σ BT-92 + Σ BT-99 per (category, rate), with the rate as first written, in order of appearance."""
    bases: dict[tuple[str, Decimal], tuple[Decimal | None, Decimal]] = {}

    def add(category: str, rate: Decimal | None, amount: Decimal) -> None:
        key = _key(category, rate)
        first_rate, total = bases.get(key, (rate, ZERO))
        bases[key] = (first_rate, total + amount)

    for line in invoice.lines:
        add(line.vat_category, line.vat_rate, line.net_amount if line.net_amount is not None else line_net_amount(line))
    for allowance in invoice.allowances:
        add(allowance.vat_category, allowance.vat_rate, -allowance.amount)
    for charge in invoice.charges:
        add(charge.vat_category, charge.vat_rate, charge.amount)
    return bases


def _vat(category: str, rate: Decimal | None) -> str:
    """A VAT breakdown entry as a message names it: "S 20%", or "O" without a rate."""
    return f"{category} {rate}%" if rate is not None else category


def category_tax(taxable: Decimal, rate: Decimal | None) -> Decimal:
    """BR-CO-17: BT-117 = BT-116 × BT-119 / 100, rounded to two decimals."""
    return round2(taxable * (rate or ZERO) / 100)


def complete(invoice: Invoice) -> list[Finding]:
    """Fill in absent line amounts, VAT breakdown and totals; return findings for given values that disagree."""
    findings: list[Finding] = []

    def check(rule: str, bt: str, given: Decimal | None, expected: Decimal, what: str, tolerance: Decimal = ZERO) -> Decimal:
        if given is None:
            return expected
        if abs(given - expected) > tolerance:
            message = N_("{what}: {given} was sent, {expected} was expected.").format(what=what, given=given, expected=expected)
            findings.append(Finding(rule, "fatal", message, ARTEFACT, business_term=bt))
        return given

    for i, line in enumerate(invoice.lines):
        expected = line_net_amount(line)
        if line.net_amount is None:
            line.net_amount = expected
        elif line.net_amount != expected:
            findings.append(
                Finding(
                    "GW-LINE-NET",
                    "warning",
                    N_("Line {line}: net amount {given} differs from quantity × price − allowances + charges = {expected}.").format(
                        line=line.id, given=line.net_amount, expected=expected
                    ),
                    ARTEFACT,
                    location=f"/lines/{i}/net_amount",
                    business_term="BT-131",
                )
            )

    bases = taxable_bases(invoice)
    given = {_key(b.category, b.rate): b for b in invoice.vat_breakdown}
    breakdown: list[VatBreakdown] = []
    for key, (rate, base) in bases.items():
        category = key[0]
        entry = given.pop(key, None) or VatBreakdown(category=category, rate=rate)
        prefix = CATEGORY_RULE_PREFIX.get(category, f"BR-{category}")
        entry.taxable_amount = check(
            f"{prefix}-08", "BT-116", entry.taxable_amount, round2(base), N_("VAT breakdown {vat} taxable amount").format(vat=_vat(category, rate))
        )
        entry.tax_amount = check(
            "BR-CO-17", "BT-117", entry.tax_amount, category_tax(entry.taxable_amount, rate),
            N_("VAT breakdown {vat} tax amount").format(vat=_vat(category, rate)), tolerance=Decimal(1),
        )  # fmt: skip
        breakdown.append(entry)
    for stray in given.values():
        prefix = CATEGORY_RULE_PREFIX.get(stray.category, f"BR-{stray.category}")
        findings.append(
            Finding(
                f"{prefix}-08",
                "fatal",
                N_("VAT breakdown {vat} matches no line, allowance or charge.").format(vat=_vat(stray.category, stray.rate)),
                ARTEFACT,
                business_term="BG-23",
            )
        )
        breakdown.append(stray)
    invoice.vat_breakdown = breakdown

    t = invoice.totals or Totals()
    line_sum = sum((line.net_amount or ZERO for line in invoice.lines), ZERO)
    t.line_net_total = check("BR-CO-10", "BT-106", t.line_net_total, line_sum, N_("Sum of line net amounts"))
    allowances = sum((a.amount for a in invoice.allowances), ZERO)
    charges = sum((c.amount for c in invoice.charges), ZERO)
    if invoice.allowances or t.allowance_total is not None:
        t.allowance_total = check("BR-CO-11", "BT-107", t.allowance_total, allowances, N_("Sum of document allowances"))
    if invoice.charges or t.charge_total is not None:
        t.charge_total = check("BR-CO-12", "BT-108", t.charge_total, charges, N_("Sum of document charges"))
    t.tax_exclusive_amount = check(
        "BR-CO-13", "BT-109", t.tax_exclusive_amount,
        t.line_net_total - (t.allowance_total or ZERO) + (t.charge_total or ZERO), N_("Total without VAT"),
    )  # fmt: skip
    vat_sum = sum((b.tax_amount or ZERO for b in invoice.vat_breakdown), ZERO)
    t.tax_amount = check("BR-CO-14", "BT-110", t.tax_amount, vat_sum, N_("Total VAT amount"))
    t.tax_inclusive_amount = check("BR-CO-15", "BT-112", t.tax_inclusive_amount, t.tax_exclusive_amount + t.tax_amount, N_("Total with VAT"))
    t.amount_due = check(
        "BR-CO-16", "BT-115", t.amount_due,
        t.tax_inclusive_amount - (t.paid_amount or ZERO) + (t.rounding_amount or ZERO), N_("Amount due for payment"),
    )  # fmt: skip
    invoice.totals = t
    return findings

"""BR-CO-10…17: computed when absent, checked (never replaced) when given."""

from __future__ import annotations

from decimal import Decimal

from gateway.model.invoice import Totals, VatBreakdown
from gateway.model.serialize import DecodeError, invoice_from_json
from gateway.model.totals import complete, round2
from tests.conftest import load_example

D = Decimal


def test_french_example_totals_are_computed():
    invoice = invoice_from_json(load_example("invoice-fr-b2b"))
    assert complete(invoice) == []
    # line 1: 1 × 12000 − 240 allowance; line 2: 6.5 × 85; line 3: 2 × 24.90
    assert [line.net_amount for line in invoice.lines] == [D("11760.00"), D("552.50"), D("49.80")]
    t = invoice.totals
    assert (t.line_net_total, t.allowance_total, t.charge_total) == (D("12362.30"), D("50.00"), D("150.00"))
    assert t.tax_exclusive_amount == D("12462.30")
    assert [(b.category, b.rate, b.taxable_amount, b.tax_amount) for b in invoice.vat_breakdown] == [
        ("S", D("20"), D("12412.50"), D("2482.50")),
        ("S", D("5.5"), D("49.80"), D("2.74")),
    ]
    assert (t.tax_amount, t.tax_inclusive_amount, t.amount_due) == (D("2485.24"), D("14947.54"), D("14947.54"))


def test_given_totals_are_checked_and_never_replaced():
    data = load_example("invoice-fr-b2b")
    data["totals"] = {"line_net_total": "12362.30", "tax_inclusive_amount": "14947.55", "amount_due": "14947.55"}
    invoice = invoice_from_json(data)
    findings = complete(invoice)
    assert [(f.rule_id, f.severity, f.business_term) for f in findings] == [("BR-CO-15", "fatal", "BT-112")]
    assert invoice.totals.tax_inclusive_amount == D("14947.55")  # kept as sent
    assert "14947.54" in findings[0].message


def test_vat_breakdown_given_with_exemption_reason_only_gets_amounts():
    data = load_example("credit-note-fr-b2b")
    data["lines"][0].update(vat_category="E", vat_rate="0")
    data["vat_breakdown"] = [{"category": "E", "rate": "0", "exemption_reason": "Exonération art. 261 CGI", "exemption_reason_code": "VATEX-EU-132"}]
    invoice = invoice_from_json(data)
    assert complete(invoice) == []
    (entry,) = invoice.vat_breakdown
    assert (entry.taxable_amount, entry.tax_amount, entry.exemption_reason_code) == (D("24.90"), D("0.00"), "VATEX-EU-132")


def test_wrong_vat_breakdown_names_category_rule():
    invoice = invoice_from_json(load_example("credit-note-fr-b2b"))
    invoice.vat_breakdown = [VatBreakdown(category="S", rate=D("5.5"), taxable_amount=D("20.00"), tax_amount=D("1.10"))]
    invoice.totals = Totals()
    rules = {f.rule_id for f in complete(invoice)}
    assert "BR-S-08" in rules


def test_br_co_17_tolerates_one_unit_like_the_official_artefact():
    invoice = invoice_from_json(load_example("credit-note-fr-b2b"))
    invoice.vat_breakdown = [VatBreakdown(category="S", rate=D("5.5"), taxable_amount=D("24.90"), tax_amount=D("1.38"))]
    findings = complete(invoice)
    # BT-117 one cent off is tolerated by BR-CO-17, but BT-110 must then equal the sum of BT-117.
    assert findings == []
    assert invoice.totals.tax_amount == D("1.38")


def test_rounding_is_half_up_on_two_decimals():
    assert round2(D("0.125")) == D("0.13")
    assert round2(D("-0.125")) == D("-0.13")
    assert round2(D("2.674999")) == D("2.67")


def test_decimals_must_be_strings_and_dates_iso():
    data = load_example("credit-note-fr-b2b")
    data["lines"][0]["quantity"] = 1
    try:
        invoice_from_json(data)
    except DecodeError as exc:
        assert exc.pointer == "/lines/0/quantity"
    else:
        raise AssertionError("a number instead of a decimal string must be refused")

"""What an occurrence bills: its period, the prorata of a cut period, price revisions compounding from the template's
prices, its own number as payment reference; a template from an earlier invoice keeps nothing that names that invoice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from gateway import intake
from gateway.model.serialize import to_dict
from gateway.recurring import billing
from tests.conftest import load_example
from tests.recurring.helpers import template


def test_a_period_runs_to_the_day_before_the_next_occurrence_within_the_service_dates():
    assert billing.period(date(2026, 1, 1), date(2026, 2, 1), None, None) == billing.Period(date(2026, 1, 1), date(2026, 1, 31), 31)
    cut = billing.period(date(2026, 3, 1), date(2026, 4, 1), date(2026, 3, 15), None)
    assert (cut.start, cut.end, cut.days, cut.full_days) == (date(2026, 3, 15), date(2026, 3, 31), 17, 31)
    assert billing.period(date(2028, 2, 29), None, None, None).end == date(2029, 2, 27)  # no next occurrence: a year


def test_a_cut_period_is_prorated_and_says_so():
    billed = billing.period(date(2026, 3, 1), date(2026, 4, 1), date(2026, 3, 15), None)
    data = billing.invoice_json(template(), "ABO-000007", date(2026, 3, 1), billed, 30, [])
    assert data["lines"][0]["quantity"] == str((Decimal(17) / 31).quantize(Decimal("0.0001")))
    assert data["notes"][-1] == {"text": "Prorata : 17 jours sur 31"}
    assert data["invoicing_period"] == {"start": "2026-03-15", "end": "2026-03-31"}
    assert (data["issue_date"], data["due_date"], data["payment"]["remittance_information"]) == ("2026-03-01", "2026-03-31", "ABO-000007")
    completed = intake.read_json(data).invoice
    assert completed.totals.tax_exclusive_amount == (Decimal("0.5484") * 300).quantize(Decimal("0.01"))


def test_revisions_compound_from_their_dates_on_the_templates_prices():
    revisions = [billing.Revision(date(2027, 1, 1), Decimal("3.5")), billing.Revision(date(2028, 1, 1), Decimal("2"))]
    prices = [billing.invoice_json(template(), "N", day, billing.period(day, None, None, None), 30, revisions)["lines"][0]["net_price"]
              for day in (date(2026, 12, 1), date(2027, 1, 1), date(2028, 6, 1))]  # fmt: skip
    assert prices == ["300.00", "310.50", str((Decimal(300) * Decimal("1.035") * Decimal("1.02")).quantize(Decimal("0.01")))]


def test_a_template_from_an_invoice_keeps_neither_its_identity_nor_its_computed_amounts():
    canonical = intake.read_json(load_example("invoice-fr-b2b")).invoice

    made = billing.template_of(to_dict(canonical))
    assert not {"number", "issue_date", "due_date", "invoicing_period", "totals"} & set(made)
    assert all("net_amount" not in line for line in made["lines"]) and "remittance_information" not in made["payment"]
    assert made["vat_breakdown"] == [{"category": "S", "rate": "20"}, {"category": "S", "rate": "5.5"}]
    billed = billing.invoice_json(made, "F-REPEAT-1", date(2026, 12, 1), billing.period(date(2026, 12, 1), None, None, None), 30, [])
    assert intake.read_json(billed).invoice.totals.amount_due == canonical.totals.amount_due

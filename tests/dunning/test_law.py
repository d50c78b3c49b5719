"""The penalty rate and amount French law gives (L441-10 C. com., R2192-31 CCP), read from the invoice's terms."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gateway.config import ConfigError
from gateway.dunning import law
from gateway.dunning.settings import DunningSettings

RATES = law.Rates()


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("Pénalités de retard : trois fois le taux d'intérêt légal, exigibles dès le lendemain de l'échéance.", law.Terms(three_times_legal=True)),
        ("Pénalités de retard au taux de 3 fois le taux de l'intérêt légal", law.Terms(three_times_legal=True)),
        ("Late payment interest: three times the French legal interest rate", law.Terms(three_times_legal=True)),
        ("Pénalités de retard : taux annuel de 12,5 %", law.Terms(rate=Decimal("12.5"))),
        ("Late-payment interest of 10% per annum from the due date", law.Terms(rate=Decimal("10"))),
        ("Paiement à 30 jours date de facture, par virement.", law.Terms()),
    ],
)
def test_terms_say_the_rate_or_nothing(text, terms):
    assert law.read_terms([text]) == terms


def test_without_terms_the_rate_is_the_ecb_rate_of_the_half_year_plus_ten_points():
    rate = law.penalty_rate(law.Terms(), public=False, starts=date(2025, 6, 16), rates=RATES)
    assert (rate.percent, rate.basis) == (Decimal("13.15"), law.ECB_PLUS_10)  # ECB 3.15 % on 1 January 2025
    assert law.penalty_rate(law.Terms(), public=False, starts=date(2025, 7, 1), rates=RATES).percent == Decimal("12.15")  # 2.15 % on 1 July


def test_a_stated_rate_below_three_times_the_legal_rate_is_raised_to_it():
    low = law.penalty_rate(law.Terms(rate=Decimal("5")), public=False, starts=date(2025, 8, 1), rates=RATES)
    assert (low.percent, low.basis) == (Decimal("8.28"), law.FLOOR)  # 3 × 2.76 %
    high = law.penalty_rate(law.Terms(rate=Decimal("15")), public=False, starts=date(2025, 8, 1), rates=RATES)
    assert (high.percent, high.basis) == (Decimal("15"), law.STATED)


def test_a_public_buyer_owes_the_ecb_rate_plus_eight_points_whatever_the_terms():
    rate = law.penalty_rate(law.Terms(rate=Decimal("15")), public=True, starts=date(2025, 8, 1), rates=RATES)
    assert (rate.percent, rate.basis) == (Decimal("10.15"), law.PUBLIC)


def test_a_half_year_not_known_yet_uses_the_latest_and_says_so_until_the_operator_adds_it():
    assert "latest known" in law.penalty_rate(law.Terms(three_times_legal=True), public=False, starts=date(2026, 8, 1), rates=RATES).source
    rates = DunningSettings.from_section({"legal_rates": {"2026-S2": "3.00"}}).rates
    given = law.penalty_rate(law.Terms(three_times_legal=True), public=False, starts=date(2026, 8, 1), rates=rates)
    assert given.percent == Decimal("9.00") and "latest" not in given.source
    with pytest.raises(ConfigError, match="2026-7"):
        DunningSettings.from_section({"legal_rates": {"2026-7": "3.00"}})


def test_penalties_run_on_each_part_until_it_is_paid():
    # 10,000 due on 1 March; 4,000 paid on 31 March (30 days late); 6,000 still due on 30 April (60 days late), at 10 %.
    amount = law.penalties(date(2025, 3, 1), date(2025, 4, 30), Decimal("6000"), [(date(2025, 3, 31), Decimal("4000"))], Decimal("10"))
    assert amount == (Decimal(4000) * 10 * 30 / 36500 + Decimal(6000) * 10 * 60 / 36500).quantize(Decimal("0.01"))
    assert law.penalties(date(2025, 3, 1), date(2025, 3, 1), Decimal("6000"), [], Decimal("10")) == Decimal("0.00")

"""Early-payment discounts read from payment terms as sellers write them, and the tier a payment date earns."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gateway.payments.discounts import Discount, discounts, granted


@pytest.mark.parametrize(
    ("terms", "tiers"),
    [
        ("Escompte de 2 % pour paiement sous 10 jours.", [("2", 10)]),
        ("2 % d'escompte pour règlement à 8 jours", [("2", 8)]),
        ("Escompte 1,5% pour paiement anticipé à 15 jours", [("1.5", 15)]),
        ("Escompte : 2 % si règlement sous 8 jours", [("2", 8)]),
        ("Escompte de 2 % en cas de paiement dans les 10 jours", [("2", 10)]),
        ("#SKONTO#TAGE=10#PROZENT=3.00#\n#SKONTO#TAGE=20#PROZENT=1.50#\n", [("3", 10), ("1.5", 20)]),  # XRechnung, two tiers
        ("2% discount if paid within 10 days, net 30", [("2", 10)]),
        ("Terms: 2/10 net 30", [("2", 10)]),
        ("Pas d'escompte pour paiement anticipé.", []),
        ("Paiement à 30 jours date de facture, par virement.", []),  # a due date is not a discount
        ("Pénalités de retard : 3 fois le taux d'intérêt légal, 40 € d'indemnité forfaitaire.", []),
        (None, []),
    ],
)
def test_discount_terms_as_sellers_write_them(terms, tiers):
    assert [(t.percent, t.days) for t in discounts(terms)] == [(Decimal(p), d) for p, d in tiers]


def test_the_largest_tier_a_payment_date_meets_with_the_grace_for_the_transfer():
    tiers = discounts("#SKONTO#TAGE=10#PROZENT=3.00#\n#SKONTO#TAGE=20#PROZENT=1.50#")
    issued = date(2026, 11, 20)
    assert granted(tiers, issued, date(2026, 11, 30), grace_days=0).percent == Decimal("3")  # day 10: the first tier
    assert granted(tiers, issued, date(2026, 12, 2), grace_days=2).percent == Decimal("3")  # day 12: in its grace
    assert granted(tiers, issued, date(2026, 12, 2), grace_days=0).percent == Decimal("1.5")
    assert granted(tiers, issued, date(2026, 12, 11), grace_days=0) is None  # day 21: none earned
    assert granted(tiers, issued, None, grace_days=3) is None and granted((), issued, issued, grace_days=3) is None
    assert Discount(Decimal("2"), 10).of(Decimal("14947.54")) == Decimal("298.95")

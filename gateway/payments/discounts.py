"""Early-payment discounts read from an invoice's payment terms: what percentage, until how many days after its issue.

EN 16931 carries discount terms as text only (BT-20, and in France the note of subject AAB, "conditions
d'escompte", that every B2B invoice must state, art. L441-9 C. com.).  Three ways of writing them are read:
the XRechnung convention `#SKONTO#TAGE=10#PROZENT=2.00#` (one line per tier), the French sentence ("Escompte de
2 % pour paiement sous 10 jours", "2 % d'escompte pour règlement à 8 jours") and the English one ("2% discount if
paid within 10 days", "2/10 net 30").  A text saying there is none ("Pas d'escompte pour paiement anticipé")
gives none; anything else unrecognised gives none too, so a payment short of the total goes to partial payment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

CENT = Decimal("0.01")
_NUMBER = r"(\d{1,2}(?:[.,]\d{1,4})?)"
_DAYS = r"(\d{1,3})"
_XRECHNUNG = re.compile(r"#SKONTO#TAGE=" + _DAYS + r"#PROZENT=" + _NUMBER + r"#", re.IGNORECASE)
_FRENCH = (
    re.compile(  # escompte (de) 2 % (pour|si|en cas de) (paiement|règlement) (anticipé) (sous|à|dans les|avant) 10 jours
        r"escompte\s*(?:de\s*)?:?\s*" + _NUMBER + r"\s*%\s*(?:pour|si|en\s+cas\s+de)?\s*(?:un\s+)?(?:paiement|r[èe]glement)?\s*"
        r"(?:anticip[ée]\s*)?(?:comptant\s*)?(?:sous|[àa]|dans\s+les|dans\s+un\s+d[ée]lai\s+de|avant|en)\s*" + _DAYS + r"\s*jours",
        re.IGNORECASE,
    ),
    re.compile(  # 2 % d'escompte (pour paiement) (sous|à) 10 jours
        _NUMBER + r"\s*%\s*d['’]\s*escompte\s*(?:pour|si|en\s+cas\s+de)?\s*(?:un\s+)?(?:paiement|r[èe]glement)?\s*(?:anticip[ée]\s*)?"
        r"(?:sous|[àa]|dans\s+les|dans\s+un\s+d[ée]lai\s+de|avant|en)\s*" + _DAYS + r"\s*jours",
        re.IGNORECASE,
    ),
)
_ENGLISH = (
    re.compile(_NUMBER + r"\s*%\s*(?:early[- ]payment\s+)?discount\s+(?:if|when)?\s*paid\s+within\s+" + _DAYS + r"\s*days", re.IGNORECASE),
    re.compile(r"\b" + _NUMBER + r"\s*/\s*" + _DAYS + r"\s*,?\s*net\s*\d{1,3}\b", re.IGNORECASE),  # 2/10 net 30
)


@dataclass(frozen=True)
class Discount:
    """`percent` off the amount due when paid at the latest `days` days after the invoice's issue date."""

    percent: Decimal
    days: int

    def until(self, issued: date) -> date:
        return issued + timedelta(days=self.days)

    def of(self, amount: Decimal) -> Decimal:
        return (amount * self.percent / 100).quantize(CENT)


@lru_cache(maxsize=4096)
def discounts(terms: str | None) -> tuple[Discount, ...]:
    """The discount tiers `terms` grant, the largest percentage first (none when it says there is none)."""
    if not terms:
        return ()
    found = [(number, days) for days, number in _XRECHNUNG.findall(terms)]
    for pattern in (*_FRENCH, *_ENGLISH):
        found += pattern.findall(terms)
    tiers = {Discount(Decimal(number.replace(",", ".")), int(days)) for number, days in found}
    return tuple(sorted((t for t in tiers if 0 < t.percent < 100), key=lambda t: (-t.percent, t.days)))


def granted(tiers: tuple[Discount, ...], issued: date | None, paid: date | None, grace_days: int) -> Discount | None:
    """The tier a payment made on `paid` earns (the largest whose deadline, plus `grace_days` for the transfer, it meets)."""
    if not tiers or issued is None or paid is None:
        return None
    return next((t for t in tiers if paid <= t.until(issued) + timedelta(days=grace_days)), None)

"""A status change as the reform's messages carry it: which status, when, emitted by whom, why, and which amounts.

The fields are those of the CDAR status detail (MDG-37) so that a change built by the
gateway and the same change read back from its CDAR message are equal.  Times are UTC with
whole seconds (CDAR date format 204 carries no zone and no fraction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Amount:
    """One value of a status (MDG-43): an amount collected (MEN) or paid (MPA) at a VAT rate, or a corrected value."""

    type_code: str  # MDT-207: MEN, MPA, RAP, ESC … (codes.AMOUNT_TYPES)
    amount: Decimal | None = None  # MDT-215
    currency: str | None = None  # MDT-215 @currencyID
    vat_rate: Decimal | None = None  # MDT-224, a percentage ("20.00")
    value_date: date | None = None  # MDT-219, e.g. the date of the payment
    term: str | None = None  # the business term concerned ("BT-152"), for a disputed value
    name: str | None = None
    location: str | None = None  # XPath of the disputed value in the invoice
    changed: bool | None = None  # MDT-209


@dataclass(frozen=True)
class StatusChange:
    """A lifecycle status set on an invoice by a party (role), at a time, with its reason, comment and amounts."""

    code: str  # MDT-105, "200" … "228"
    at: datetime  # MDT-78: when the status was set (UTC)
    role: str  # MDT-40: who emits it (codes.SELLER, BUYER, PLATFORM …)
    reason_code: str | None = None  # MDT-113 (codes.REASONS)
    reason: str | None = None  # MDT-114, free text
    action_code: str | None = None  # MDT-121 (codes.ACTIONS)
    comment: str | None = None  # MDT-126
    amounts: tuple[Amount, ...] = ()


def utc_seconds(moment: datetime) -> datetime:
    """`moment` in UTC without its fraction of a second: what a CDAR date-time can carry."""
    if moment.tzinfo is None:
        raise ValueError("a status time must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0)


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value.isoformat() if isinstance(value, date | datetime) else value


def change_to_dict(change: StatusChange) -> dict[str, Any]:
    """The change as JSON-ready values (Decimal and dates as strings), without empty fields."""
    data: dict[str, Any] = {k: _plain(v) for k, v in vars(change).items() if v is not None and k != "amounts"}
    if change.amounts:
        data["amounts"] = [{k: _plain(v) for k, v in vars(amount).items() if v is not None} for amount in change.amounts]
    return data


def _amount_from_dict(item: dict[str, Any]) -> Amount:
    values = dict(item)
    for key in ("amount", "vat_rate"):
        if key in values:
            values[key] = Decimal(values[key])
    if "value_date" in values:
        values["value_date"] = date.fromisoformat(values["value_date"])
    return Amount(**values)


def change_from_dict(data: dict[str, Any]) -> StatusChange:
    """The inverse of `change_to_dict`."""
    amounts = tuple(_amount_from_dict(item) for item in data.get("amounts", ()))
    return StatusChange(**{**data, "at": datetime.fromisoformat(data["at"]), "amounts": amounts})

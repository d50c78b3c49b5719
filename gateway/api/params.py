"""Query parameters read for the API's routes: each bad value is a 400 naming the parameter and saying what it must be.

Which parameters a route accepts at all is `gateway.api.conventions` (the OpenAPI document's); here is how
one value is read.  Text the database or XML could not hold (control characters) is refused before use.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

from flask import request

from gateway import intake
from gateway.api.errors import ApiError

ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
SPACE_FOR_PLUS = re.compile(r" ([0-9]{2}(:?[0-9]{2})?)\Z")  # a "+01:00" zone sent unescaped in a URL arrives as " 01:00"


def bad(name: str, message: str, why: str) -> ApiError:
    """The 400 for one query parameter: `message` for the answer, `why` in its `errors` entry."""
    return ApiError(400, "bad_request", message, [(f"?{name}", why)])


def text_param(name: str) -> str | None:
    """A query parameter as given (None when absent); text XML or the database could not hold is refused."""
    value = request.args.get(name)
    if value is not None and not intake.xml_safe(value):
        raise bad(name, f"Query parameter {name} holds control characters.", "control characters")
    return value


def int_param(name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter from `low` to `high` (its length is checked first: int() of 5,000 digits raises)."""
    value = text_param(name)
    if value is None or value == "":
        return default
    if not (value.isascii() and value.isdigit() and len(value) <= len(str(high))) or not low <= int(value) <= high:
        raise bad(name, f"Query parameter {name} must be an integer from {low} to {high}.", "out of range")
    return int(value)


def date_param(name: str) -> date | None:
    """An ISO date (YYYY-MM-DD); empty is absent."""
    value = text_param(name)
    if not value:
        return None
    try:
        if not ISO_DATE.match(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise bad(name, f"Query parameter {name} must be an ISO date (YYYY-MM-DD), such as 2026-11-20.", "not an ISO date") from None


def moment_param(name: str, *, end: bool) -> datetime | None:
    """A date (the whole day in UTC: its first instant, or its last with `end`) or a date-time with its zone; empty is absent."""
    value = text_param(name)
    if not value:
        return None
    if len(value) == 10:
        day = date_param(name)
        assert day is not None
        return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)
    moment = None
    if value.isascii() and len(value) <= 40:
        try:
            given = datetime.fromisoformat(SPACE_FOR_PLUS.sub(r"+\1", value))
            moment = given.astimezone(UTC) if given.tzinfo is not None else None
        except (ValueError, OverflowError):  # OverflowError: a zone that moves the first or last day out of range
            moment = None
    if moment is None:
        raise bad(
            name,
            f"Query parameter {name} must be an ISO date (2026-11-20, a day in UTC) or a date-time with its zone (2026-11-20T10:30:00+01:00).",
            "not an ISO date or date-time with a zone",
        )
    return moment


def bool_param(name: str, default: bool) -> bool:
    value = (text_param(name) or "").lower()
    if value == "":
        return default
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise bad(name, f"Query parameter {name} must be true or false.", "not a boolean")


def list_param(name: str, max_items: int = 20) -> list[str]:
    """Comma-separated values (spaces around them ignored, empty ones dropped); absent or empty is []."""
    value = text_param(name)
    items = [item.strip() for item in (value or "").split(",") if item.strip()]
    if len(items) > max_items:
        raise bad(name, f"Query parameter {name} takes at most {max_items} comma-separated values.", "too many values")
    return items

"""A schedule's recurrence: `monthly`, `quarterly`, `yearly`, `weekly`, or an iCalendar RRULE (RFC 5545) read by
python-dateutil, from the schedule's start (its DTSTART).

A rule is refused when it is not an RRULE, fires more often than daily, names its own DTSTART, or never fires: no
occurrence between the start and the end (or the next five years, without an end) — a schedule that would
silently never bill.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from dateutil.rrule import rrule, rrulestr

SHORTCUTS = {"weekly": "FREQ=WEEKLY", "monthly": "FREQ=MONTHLY", "quarterly": "FREQ=MONTHLY;INTERVAL=3", "yearly": "FREQ=YEARLY"}
FREQUENCIES = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY")
HORIZON = timedelta(days=5 * 366)
_FREQ = re.compile(r"(?:^|;)FREQ=([A-Z]+)(?:;|$)")


class RuleError(ValueError):
    """A recurrence the gateway cannot use, said in words."""


def _at(day: date) -> datetime:
    return datetime.combine(day, time())


def recurrence(rule: str, start: date, end: date | None = None) -> rrule:
    """The rule as dateutil's rrule from `start`, checked (RuleError)."""
    if not isinstance(rule, str) or not rule.strip():
        raise RuleError("a rule is monthly, quarterly, yearly, weekly or an iCalendar RRULE such as FREQ=MONTHLY;BYMONTHDAY=1")
    text = SHORTCUTS.get(rule.strip().lower()) or rule.strip().upper().removeprefix("RRULE:")
    if "\n" in text or "DTSTART" in text:
        raise RuleError("one RRULE line, without DTSTART: the schedule's start is its DTSTART")
    frequency = _FREQ.search(text)
    if frequency is None:
        raise RuleError(f"{rule!r} is neither monthly, quarterly, yearly, weekly nor an iCalendar RRULE (FREQ=…)")
    if frequency.group(1) not in FREQUENCIES:
        raise RuleError(f"FREQ must be one of {', '.join(FREQUENCIES)}: an invoice is billed at most daily")
    try:
        parsed = rrulestr("RRULE:" + text, dtstart=_at(start))
    except (ValueError, TypeError, KeyError) as exc:
        raise RuleError(f"not an iCalendar RRULE: {exc}") from None
    if not isinstance(parsed, rrule):
        raise RuleError("one RRULE only")
    limit = end or start + HORIZON
    first = parsed.after(_at(start), inc=True)
    if first is None or first.date() > limit:
        raise RuleError(f"the rule never fires between {start.isoformat()} and {limit.isoformat()}")
    return parsed


def dates(recurring: rrule, start: date, until: date) -> list[date]:
    """The occurrences from `start` to `until`, both included."""
    return [moment.date() for moment in recurring.between(_at(start), _at(until), inc=True)] if until >= start else []


def following(recurring: rrule, day: date) -> date | None:
    """The occurrence after `day` (the end of the period `day` starts), None when there is none."""
    moment = recurring.after(_at(day))
    return moment.date() if moment is not None else None

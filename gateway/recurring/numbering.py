"""Invoice numbers per series: gapless and in the order of issue, whatever the number of runs at once.

The series' row is locked (PostgreSQL `SELECT … FOR UPDATE`; on SQLite the transaction's first write takes the
database's write lock) before its counter moves, in the transaction that stores the invoice: a second run waits,
then sees the number given; a transaction rolled back gives its number back.  A number's format names `{seq}` and
may name `{series}` and `{year}` (the issue date's), e.g. `{series}-{year}-{seq:05d}`.
"""

from __future__ import annotations

import string
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.recurring.models import InvoiceSeries

DEFAULT_FORMAT = "{series}-{seq:06d}"
FIELDS = {"series", "year", "seq"}
MAX_NUMBER = 40


def check_format(number_format: str, series: str) -> None:
    """ValueError when `number_format` cannot number invoices of `series`."""
    try:
        fields = {field for _, field, _, _ in string.Formatter().parse(number_format) if field is not None}
        sample = number_format.format(series=series, year=2026, seq=123456)
    except (ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"number_format {number_format!r}: {exc}") from None
    if "seq" not in fields or fields - FIELDS:
        raise ValueError(f"number_format names {{seq}} and may name {{series}} and {{year}}, not {', '.join(sorted(fields - FIELDS)) or 'nothing'}")
    if not 0 < len(sample) <= MAX_NUMBER:
        raise ValueError(f"number_format gives numbers of at most {MAX_NUMBER} characters")


def lock(session: Session, series_id: int) -> InvoiceSeries:
    """The series, locked for the rest of the transaction, as committed by the last run to hold it."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(InvoiceSeries).where(InvoiceSeries.id == series_id).values(last_number=InvoiceSeries.last_number))
        query = select(InvoiceSeries).where(InvoiceSeries.id == series_id)
    else:
        query = select(InvoiceSeries).where(InvoiceSeries.id == series_id).with_for_update()
    series = session.scalar(query.execution_options(populate_existing=True))
    assert series is not None
    return series


def allocate(series: InvoiceSeries, issued: date) -> str:
    """The series' next number, for an invoice issued on `issued` (the series must be locked)."""
    series.last_number += 1
    series.last_issue_date = max(issued, series.last_issue_date or issued)
    return series.number_format.format(series=series.name, year=issued.year, seq=series.last_number)

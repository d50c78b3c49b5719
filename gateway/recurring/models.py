"""Recurring-invoice tables: numbering series, schedules, and one row per occurrence of a schedule.

Only this domain writes these tables; the invoices an occurrence issues are the intake's.  An occurrence is unique
per (schedule, date): however many runs at once, each is issued once.  A series' counter moves in the transaction
that stores the invoice it numbers, under the series' row lock: a failed issue gives its number back (rolled back
with it), so numbers are gapless and follow the order of issue.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.store.models import Base, JSONType, UTCDateTime, new_id, utcnow

# Schedule.state
ACTIVE, PAUSED = "active", "paused"
# Occurrence.state: `pending` due, not issued yet; `issued` its invoice stored (accepted); `failed` the intake refused it or
# stored it rejected (retried by the next runs, with the same number if it got one); `skipped` its date passed while the
# schedule was paused (never issued).
PENDING, ISSUED, FAILED, SKIPPED = "pending", "issued", "failed", "skipped"


class InvoiceSeries(Base):
    """A numbering series of a tenant: its format and the last number it gave."""

    __tablename__ = "invoice_series"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    number_format: Mapped[str] = mapped_column(String(100))  # "{series}-{year}-{seq:05d}"
    last_number: Mapped[int] = mapped_column(Integer, default=0)
    last_issue_date: Mapped[date | None] = mapped_column(Date)  # of the latest invoice numbered: no run may date one before it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Schedule(Base):
    """What to bill and when: a recurrence rule from `start`, the template (intake JSON), price revisions and prorata."""

    __tablename__ = "recurring_schedules"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("invoice_series.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    rule: Mapped[str] = mapped_column(Text)  # as given: monthly, quarterly, yearly, or an iCalendar RRULE
    start: Mapped[date] = mapped_column(Date)  # the first occurrence (DTSTART)
    end: Mapped[date | None] = mapped_column(Date)
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)  # the schedule as given (template, due_days, revisions, service dates)
    state: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Occurrence(Base):
    """One billing date of a schedule, and what became of it."""

    __tablename__ = "recurring_occurrences"
    __table_args__ = (UniqueConstraint("schedule_id", "on"), Index("ix_recurring_occurrences_due", "state", "on"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    schedule_id: Mapped[str] = mapped_column(ForeignKey("recurring_schedules.id"), index=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("invoice_series.id"))
    on: Mapped[date] = mapped_column(Date)  # the occurrence: the start of the period it bills
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    number: Mapped[str | None] = mapped_column(Text)  # given once, kept for retries (a rejected invoice is re-sent under it)
    invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"))
    issue_date: Mapped[date | None] = mapped_column(Date)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

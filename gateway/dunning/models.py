"""Dunning tables: the tenants' policies (a default one, and one per buyer) and every reminder planned or sent.

Only this domain writes these tables; invoices and their payments are read through their own services.  A reminder
is unique per (invoice, tier): the row is committed before anything is sent, so a tier is never planned twice, even by
two runs at once; a run sends it only after taking its lease (one conditional UPDATE), so no two runs send it at
the same time; a send that fails, or a run that died holding the lease, is retried by a later run with the same
Message-ID.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.store.models import Amount, Base, JSONType, UTCDateTime, new_id, utcnow

# Reminder.state: `pending` claimed, not yet sent; `sent` every channel done; `failed` a channel failed (retried);
# `skipped` a lower tier passed over because a higher one was due at the same run (never sent later).
PENDING, SENT, FAILED, SKIPPED = "pending", "sent", "failed", "skipped"
DEFAULT = ""  # DunningPolicy.buyer of the tenant's default policy


class DunningPolicy(Base):
    """A tenant's policy, for every buyer (`buyer` empty) or one buyer (its SIREN); `body` is the policy as given."""

    __tablename__ = "dunning_policies"
    __table_args__ = (UniqueConstraint("tenant_id", "buyer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    buyer: Mapped[str] = mapped_column(String(9), default=DEFAULT)
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Reminder(Base):
    """One tier of one invoice's dunning: what it claimed (as of `as_of`), through which channels, and what they did."""

    __tablename__ = "dunning_reminders"
    __table_args__ = (UniqueConstraint("invoice_id", "tier"), Index("ix_dunning_reminders_tenant_state", "tenant_id", "state"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    tier: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer)  # the tier's place in its policy, from 1
    as_of: Mapped[date] = mapped_column(Date)
    days_late: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    claimed: Mapped[Decimal] = mapped_column(Amount)  # still due on the invoice
    penalties: Mapped[Decimal] = mapped_column(Amount)  # late-payment interest until as_of (0 when the tier claims none)
    indemnity: Mapped[Decimal] = mapped_column(Amount)  # the fixed recovery indemnity (EUR), 0 when not claimed
    channels: Mapped[list[str]] = mapped_column(JSONType)
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType)  # the computation (rate, periods, law), and each channel's outcome
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    letter_sha256: Mapped[str | None] = mapped_column(String(64))  # the letter PDF, archived
    error: Mapped[str | None] = mapped_column(Text)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a run is sending it until then: no other run may
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

"""Lifecycle tables beside `status_events` (gateway.store.models): what the lifecycle knows of each event, and PPF reports.

A `StatusEvent` row says which status, when, and through which source; its `detail` holds the
change as carried (reason, comment, amounts).  `LifecycleEvent` adds, one-to-one, who set it, whether
the state machine applied or flagged it (and why), and the message that carried it (archived, by
SHA-256).  An event without a `LifecycleEvent` row (the intake's 200 Déposée) was applied by the
gateway itself.  `PpfReport` records that a mandatory status (F6) or the regulatory data of a
deposited invoice (F1) was transmitted to the PPF: the 24-hour deadlines are measured against it.
Both tables are only ever inserted into.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.store.models import Base, UTCDateTime, utcnow


class LifecycleEvent(Base):
    """Who set a status event, whether it was applied, and the message that carried it."""

    __tablename__ = "lifecycle_events"

    status_event_id: Mapped[int] = mapped_column(ForeignKey("status_events.id"), primary_key=True, autoincrement=False)
    role: Mapped[str] = mapped_column(String(8))  # who emits the status: SE, BY, WK …
    actor: Mapped[str] = mapped_column(Text)  # who told the gateway: "tenant:12", a partner platform, "gateway"
    reason_code: Mapped[str | None] = mapped_column(String(64))  # MDT-113
    applied: Mapped[bool] = mapped_column(Boolean)  # False: flagged by the state machine, recorded but not applied
    flag: Mapped[str | None] = mapped_column(Text)  # why it was not applied
    message_sha256: Mapped[str | None] = mapped_column(String(64))  # the archived message that carried it (a CDAR, a request body)
    message_type: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PpfReport(Base):
    """A transmission to the PPF: the F6 status message of a mandatory status, or the F1 regulatory data of a 200 Déposée."""

    __tablename__ = "ppf_reports"
    __table_args__ = (UniqueConstraint("status_event_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    status_event_id: Mapped[int] = mapped_column(ForeignKey("status_events.id"))
    kind: Mapped[str] = mapped_column(String(4))  # "F1" or "F6"
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    message_sha256: Mapped[str | None] = mapped_column(String(64))

"""The reception table: one row per document a partner sent the tenant, and the inbox state the ERP acknowledges.

A row is written in the transaction that stores the received invoice (or, for bytes that hold no readable
invoice, alone with those bytes archived), so what arrived is never lost between the channel and the ERP: the
ERP reads the unacknowledged rows (`GET /api/v1/inbox`) and acknowledges each once it has it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.store.models import Base, Invoice, JSONType, UTCDateTime, new_id, utcnow

CHANNELS = ("api", "email", "peppol")
ACCEPTED, REJECTED, UNREADABLE = "202", "213", "unreadable"  # a reception's outcome


class Reception(Base):
    """One received document: through which channel and from whom, its outcome and reasons, and its acknowledgement by the ERP."""

    __tablename__ = "receptions"
    __table_args__ = (Index("ix_receptions_inbox", "tenant_id", "acknowledged_at", "received_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"), index=True)  # None: no readable invoice in the bytes
    channel: Mapped[str] = mapped_column(String(16))  # one of CHANNELS
    origin: Mapped[str | None] = mapped_column(Text)  # who sent it: e-mail address, Peppol sender id, API key prefix
    outcome: Mapped[str] = mapped_column(String(16))  # ACCEPTED, REJECTED or UNREADABLE
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)  # [{code, message, rule_id, location}]
    duplicate_of: Mapped[str | None] = mapped_column(String(36))  # the earlier invoice, for a DOUBLON
    document_sha256: Mapped[str] = mapped_column(String(64))  # the bytes received, archived
    message_sha256: Mapped[str | None] = mapped_column(String(64))  # the carrying message (e-mail, SBD), archived
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(Text)  # the API key prefix that acknowledged it

    invoice: Mapped[Invoice | None] = relationship()

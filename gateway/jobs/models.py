"""Outbox tables: one delivery per accepted invoice, its attempts as separate rows, and the status-polling watermarks.

A `Delivery` is written by the intake in the transaction that accepts the invoice (state "pending", no
channel yet); a worker routes it, sends it and records what happened.  Each try is a `DeliveryAttempt`
row, opened when the delivery is claimed and closed with its outcome, so the timeline is complete even
when a worker dies mid-send (its open attempt is closed as "interrupted" by whoever takes the row next).
The network's answer is committed on the attempt (`receipt`) the moment it arrives, before the longer
recording: a worker that dies in between leaves it there, and the next one records it instead of sending again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from gateway.jobs import reasons
from gateway.store.models import Base, Invoice, JSONType, Tenant, UTCDateTime, utcnow

# Delivery states.
PENDING = "pending"  # waiting for a worker (first try)
SENDING = "sending"  # claimed by a worker until `lease_until`
SENT = "sent"  # the network accepted it (receipt archived, 201 recorded)
RETRYING = "failed-retrying"  # a transient failure; tried again at `next_attempt_at`
DEAD = "dead"  # permanent failure, business rejection or attempts exhausted: an admin may retry it
UNROUTABLE = "unroutable"  # no channel could be decided: the decision says what was tried
STATES = (PENDING, SENDING, SENT, RETRYING, DEAD, UNROUTABLE)
DUE_STATES = (PENDING, RETRYING)
RETRYABLE_STATES = (DEAD, UNROUTABLE)  # what an admin may send again

SANDBOX = "sandbox"  # the channel of the simulated recipient (connectors/sandbox): nothing leaves the gateway

# Attempt outcomes.
OUTCOME_SENT = "sent"
OUTCOME_REJECTED = "rejected"  # handed over, then refused by the network (Receipt.accepted is False)
OUTCOME_FAILED = "failed"  # a ConnectorError (or an internal error) before hand-over
OUTCOME_INTERRUPTED = "interrupted"  # the worker vanished (crash, kill) or lost its claim
OUTCOME_UNROUTABLE = "unroutable"
OUTCOME_GAVE_UP = "gave-up"  # the attempt limit was reached by interruptions alone

# The invoice's technical state (`invoices.state`) after delivery.
INVOICE_SENT = "sent"
INVOICE_UNROUTABLE = "unroutable"
INVOICE_UNDELIVERABLE = "undeliverable"


class Delivery(Base):
    """One invoice on its way to its buyer through one channel."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "state", "next_attempt_at"), Index("ix_deliveries_tenant_state", "tenant_id", "state"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    channel: Mapped[str | None] = mapped_column(String(32))  # connector name, set by routing
    document_kind: Mapped[str | None] = mapped_column(String(16))  # facturx, ubl or cii
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)  # stable across retries of this delivery
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # the routing decision: who decided, what was tried
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # attempts made (claims); numbers the attempt rows
    attempt_base: Mapped[int] = mapped_column(Integer, default=0)  # `attempts` at the last admin retry: the limit counts from here
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a claim older than this belongs to a dead worker
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claim_token: Mapped[str | None] = mapped_column(String(36))  # every write of the claimed worker is conditional on it
    remote_id: Mapped[str | None] = mapped_column(Text)  # the network's id (Message-ID, numeroFluxDepot, SBDH InstanceIdentifier)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    tenant: Mapped[Tenant] = relationship()
    invoice: Mapped[Invoice] = relationship()
    attempt_rows: Mapped[list[DeliveryAttempt]] = relationship(back_populates="delivery", order_by="DeliveryAttempt.number")

    @property
    def sandbox(self) -> bool:
        """Delivered (or to be) to the sandbox's simulated recipient, not to a real one."""
        return self.channel == SANDBOX

    @property
    def reason(self) -> str | None:
        """For a dead letter or an unroutable delivery, what happened and what a person can do about it; else None."""
        if self.state == UNROUTABLE:
            return (self.decision or {}).get("reason") or self.last_error
        if self.state != DEAD:
            return None
        last = self.attempt_rows[-1] if self.attempt_rows else None
        return reasons.dead_letter(self.channel, self.last_error, last.outcome if last else None, last.error_code if last else None)


class DeliveryAttempt(Base):
    """One try at a delivery: opened at the claim, closed with its outcome (never reopened)."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: in flight (or its worker died)
    channel: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(String(16))
    transient: Mapped[bool | None] = mapped_column(Boolean)  # for failures: could retrying help?
    error_code: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    remote_id: Mapped[str | None] = mapped_column(Text)
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # the network's answer, committed as soon as it came

    delivery: Mapped[Delivery] = relationship(back_populates="attempt_rows")


class StatusPoll(Base):
    """Up to when a tenant's statuses were fetched from a network (the next poll asks from there, with a margin)."""

    __tablename__ = "delivery_status_polls"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    polled_until: Mapped[datetime] = mapped_column(UTCDateTime)


def sandboxed(session: Session, invoice_id: str) -> bool:
    """Whether the invoice went to the sandbox (its statuses are played back by a simulated recipient)."""
    return session.scalar(select(Delivery.id).where(Delivery.invoice_id == invoice_id, Delivery.channel == SANDBOX).limit(1)) is not None


def channel_of(session: Session, invoice_id: str) -> str | None:
    """The channel the invoice was last routed to (None before routing)."""
    query = select(Delivery.channel).where(Delivery.invoice_id == invoice_id, Delivery.channel.is_not(None))
    return session.scalar(query.order_by(Delivery.next_attempt_at.desc()).limit(1))

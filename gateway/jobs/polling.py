"""Status polling: what the networks report about sent invoices becomes lifecycle events.

First, the verdicts still pending (`poll_reports`): a Chorus Pro deposit whose report was not final when the
worker recorded it is asked about again at every poll until it is IN_INTEGRE (the receipt is completed) or
IN_REJETE (a dead letter, the status 213 with the platform's error list: `Deliverer.record_verdict`).

For each tenant and channel with sent deliveries, `connector.fetch_statuses(since)` is asked from the
last poll (minus a margin: Chorus Pro histories have minute resolution); each update is matched to its
delivery by the network's id, else by invoice number, and recorded through the lifecycle service
(source "partner", or "sandbox" for what the sandbox's simulated recipient plays back) unless it is already there.  The poll's watermark
row is written first in each transaction, so two schedulers polling at once queue instead of
recording an update twice.  A status that lacks what the reform's rules require (e.g. a Chorus Pro
SUSPENDUE without a reason code) is recorded flagged, visible in the timeline, and not applied.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from connectors.base import ConnectorError, ReportingConnector, StatusUpdate
from gateway.archive.service import Archive
from gateway.jobs.deliver import Deliverer
from gateway.jobs.models import OUTCOME_SENT, SANDBOX, SENT, Delivery, DeliveryAttempt, StatusPoll
from gateway.lifecycle import codes
from gateway.lifecycle import service as lifecycle
from gateway.lifecycle.events import Amount, StatusChange, utc_seconds
from gateway.store import models as db
from gateway.store.models import utcnow

log = logging.getLogger(__name__)

MARGIN = timedelta(minutes=2)


def role_for(code: str) -> str:
    """Who a network-reported status is set by: the platform for transmission statuses, else the buyer (or its only emitter)."""
    emitters = codes.status(code).emitters
    return next((role for role in (codes.PLATFORM, codes.BUYER) if role in emitters), min(emitters))


def _mark(session: Session, tenant_id: int, channel: str, until: datetime) -> None:
    """Move the watermark first: the write serialises concurrent pollers of the same tenant and channel."""
    moved = session.execute(
        update(StatusPoll).where(StatusPoll.tenant_id == tenant_id, StatusPoll.channel == channel).values(polled_until=until),
        execution_options={"synchronize_session": False},
    )
    if moved.rowcount == 0:
        session.add(StatusPoll(tenant_id=tenant_id, channel=channel, polled_until=until))
        session.flush()


def _invoice_for(session: Session, tenant_id: int, channel: str, update_: StatusUpdate) -> db.Invoice | None:
    return session.scalars(
        select(db.Invoice)
        .join(Delivery, Delivery.invoice_id == db.Invoice.id)
        .where(
            Delivery.tenant_id == tenant_id,
            Delivery.channel == channel,
            Delivery.state == SENT,
            or_(Delivery.remote_id == update_.remote_id, *([db.Invoice.number == update_.invoice_number] if update_.invoice_number else [])),
        )
        .order_by(Delivery.remote_id != update_.remote_id)  # a match by the network's id first
    ).first()


def apply(session: Session, archive: Archive, tenant_id: int, channel: str, updates: list[StatusUpdate]) -> int:
    """Record the updates not recorded yet; how many were recorded.

    The network's time is kept in the comment; the event's time is never earlier than the invoice's
    latest event (a Chorus Pro history at minute resolution would otherwise place the 202 that follows
    our deposit before the deposit itself).  An update is known by its code and comment (which holds that time).
    """
    recorded = 0
    source = lifecycle.SOURCE_SANDBOX if channel == SANDBOX else lifecycle.SOURCE_PARTNER
    for item in updates:
        invoice = _invoice_for(session, tenant_id, channel, item)
        if invoice is None or item.code not in codes.STATUSES:
            continue
        comment = f"{item.detail or channel} (reported for {utc_seconds(item.at).isoformat()})"
        if any(e.code == item.code and e.source == source and (e.detail or {}).get("comment") == comment for e in invoice.events):
            continue
        at = max([utc_seconds(item.at), *(e.time for e in invoice.events)])
        amounts = tuple(Amount(a.type_code, a.amount, a.currency, a.vat_rate) for a in item.amounts)
        change = StatusChange(item.code, at, role_for(item.code), reason_code=item.reason_code, comment=comment, amounts=amounts)
        done = lifecycle.record(session, archive, invoice, change, source=source, actor=channel, relayed=True)
        if not done.decision.applied:
            log.warning("status %s for invoice %s from %s recorded, not applied: %s", item.code, invoice.id, channel, done.decision.why)
        recorded += 1
    return recorded


def _of(channels: Collection[str] | None) -> list[Any]:
    """The query condition for deliveries on `channels` (None: every channel)."""
    return [] if channels is None else [Delivery.channel.in_(sorted(channels))]


def poll_reports(deliverer: Deliverer, channels: Collection[str] | None = None) -> int:
    """Ask again about every sent delivery (on `channels`) whose receipt is pending; how many final verdicts were recorded."""
    with deliverer.database.session() as session:
        pending = session.execute(
            select(Delivery.id, db.Tenant.name, Delivery.channel, Delivery.remote_id, DeliveryAttempt.number)
            .join(DeliveryAttempt, DeliveryAttempt.delivery_id == Delivery.id)
            .join(db.Tenant, db.Tenant.id == Delivery.tenant_id)
            .where(Delivery.state == SENT, DeliveryAttempt.outcome == OUTCOME_SENT, DeliveryAttempt.receipt["pending"].as_boolean().is_(True))
            .where(*_of(channels))
            .order_by(Delivery.sent_at)
        ).all()
    recorded = 0
    for delivery_id, tenant, channel, remote_id, attempt in pending:
        try:
            connector = deliverer.connector(tenant, channel)
            receipt = connector.final_receipt(remote_id) if isinstance(connector, ReportingConnector) else None
        except ConnectorError as exc:
            log.warning("verdict of %s delivery %s (%s) not read: %s", channel, delivery_id, remote_id, exc.message)
            continue
        if receipt is not None:
            deliverer.record_verdict(delivery_id, attempt, receipt)
            recorded += 1
    return recorded


def poll(deliverer: Deliverer, now: datetime | None = None, channels: Collection[str] | None = None, sent_after: datetime | None = None) -> int:
    """Poll pending verdicts, then every (tenant, channel) with sent deliveries once; how many lifecycle events and verdicts were
    recorded.  `channels` and `sent_after` narrow it (the sandbox's recent deliveries are played back more often than real
    networks are polled)."""
    now = now or utcnow()
    recorded = poll_reports(deliverer, channels)
    recent = [] if sent_after is None else [Delivery.sent_at >= sent_after]
    with deliverer.database.session() as session:
        pairs = session.execute(
            select(Delivery.tenant_id, db.Tenant.name, Delivery.channel, func.min(Delivery.sent_at))
            .join(db.Tenant, db.Tenant.id == Delivery.tenant_id)
            .where(Delivery.state == SENT, *_of(channels), *recent)
            .group_by(Delivery.tenant_id, db.Tenant.name, Delivery.channel)
        ).all()
        marks = {(m.tenant_id, m.channel): m.polled_until for m in session.scalars(select(StatusPoll))}
    for tenant_id, tenant, channel, first_sent in pairs:
        since = marks.get((tenant_id, channel), first_sent) - MARGIN
        try:
            updates = deliverer.connector(tenant, channel).fetch_statuses(since)
        except ConnectorError as exc:
            log.warning("status polling of %s for tenant %r failed: %s", channel, tenant, exc.message)
            continue
        with deliverer.database.session() as session:
            _mark(session, tenant_id, channel, now)
            recorded += apply(session, deliverer.archive, tenant_id, channel, updates)
    return recorded

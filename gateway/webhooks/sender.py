"""Enqueue webhook events with the change they announce, and send the due ones: signed, retried with backoff, logged.

A delivery is taken by one conditional UPDATE (due state and time re-checked, as `gateway.jobs.outbox.claim`
does), which sets a lease: the HTTP request runs outside any transaction, and its outcome is written only
while the delivery is still `sending` under that lease.  A delivery left `sending` by a dead worker is due
again when its lease expires.  Failures back off with `outbox.backoff` (exponential, capped, jittered);
after `MAX_ATTEMPTS` the delivery is `failed` (replayable by hand).  A URL the SSRF guard refuses
(`guard.check`, run again before every attempt) fails the delivery at once: retrying would not change it.
Signing secrets are stored encrypted (`sealing`) and decrypted only to sign.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, selectinload

from gateway.jobs.outbox import backoff
from gateway.store import models as db
from gateway.store.models import new_id, utcnow
from gateway.store.session import Database
from gateway.webhooks import guard, sealing, signing
from gateway.webhooks.models import DELIVERED, DUE_STATES, FAILED, PENDING, RETRYING, SENDING, Subscription, WebhookAttempt, WebhookDelivery
from gateway.webhooks.settings import WebhookSettings

TIMEOUT_SECONDS = 10.0
LEASE_SECONDS = 60.0
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 3600.0
BATCH = 20
USER_AGENT = "einvoice-gateway-webhooks/1"

log = logging.getLogger(__name__)


def _invoice_data(invoice: db.Invoice) -> dict[str, Any]:
    """The invoice an event is about, with the ERP's metadata on it ({} when it gave none)."""
    return {"id": invoice.id, "number": invoice.number, "direction": invoice.direction, "state": invoice.state, "status": invoice.status,
            "status_label": invoice.status_label, "metadata": invoice.invoice_metadata or {}}  # fmt: skip


def subscriptions(session: Session, tenant_id: int) -> list[Subscription]:
    """The tenant's subscriptions that are not deleted, oldest first."""
    query = select(Subscription).where(Subscription.tenant_id == tenant_id, Subscription.deleted_at.is_(None)).order_by(Subscription.created_at)
    return list(session.scalars(query))


def deliveries(session: Session, tenant_id: int, *, state: str | None = None, limit: int = 100) -> list[WebhookDelivery]:
    """The tenant's latest deliveries, newest first, optionally in one state, with their attempts and subscriptions (API and portal)."""
    query = select(WebhookDelivery).where(WebhookDelivery.tenant_id == tenant_id)
    if state is not None:
        query = query.where(WebhookDelivery.state == state)
    query = query.options(selectinload(WebhookDelivery.attempt_rows), selectinload(WebhookDelivery.subscription))
    return list(session.scalars(query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id).limit(limit)))


def subscribe(session: Session, key: bytes, tenant_id: int, url: str, events: list[str]) -> tuple[Subscription, str]:
    """A new subscription with a fresh signing secret, stored encrypted: (the row, the secret in clear to show once)."""
    secret = "whsec_" + secrets.token_hex(32)
    subscription = Subscription(id=new_id(), tenant_id=tenant_id, url=url, events=events)
    subscription.encrypted_secret = sealing.seal(key, subscription.id, secret)
    session.add(subscription)
    return subscription, secret


def enqueue(session: Session, invoice: db.Invoice, event: str, extra: dict[str, Any] | None = None) -> list[WebhookDelivery]:
    """Add one delivery of `event` about `invoice` per subscription of its tenant that wants it (the caller's transaction commits them)."""
    now = utcnow()
    deliveries = []
    for subscription in subscriptions(session, invoice.tenant_id):
        if event not in subscription.events:
            continue
        delivery_id = new_id()
        body = {"id": delivery_id, "event": event, "created_at": now.isoformat(), "data": {"invoice": _invoice_data(invoice), **(extra or {})}}
        payload = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        delivery = WebhookDelivery(
            id=delivery_id, tenant_id=invoice.tenant_id, subscription_id=subscription.id, event=event, invoice_id=invoice.id, payload=payload,
            state=PENDING, attempts=0, next_attempt_at=now, created_at=now,
        )  # fmt: skip
        session.add(delivery)
        deliveries.append(delivery)
    return deliveries


def _due(now: datetime) -> Any:
    table = WebhookDelivery
    return or_(and_(table.state.in_(DUE_STATES), table.next_attempt_at <= now), and_(table.state == SENDING, table.lease_until < now))


def _claim(database: Database, now: datetime) -> list[str]:
    """Take up to BATCH due deliveries under a lease; the ids this worker won."""
    won = []
    with database.session() as session:
        for delivery_id in session.scalars(select(WebhookDelivery.id).where(_due(now)).order_by(WebhookDelivery.next_attempt_at).limit(BATCH)).all():
            taken = session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id, _due(now))
                .values(state=SENDING, lease_until=now + timedelta(seconds=LEASE_SECONDS), attempts=WebhookDelivery.attempts + 1),
                execution_options={"synchronize_session": False},
            )
            if taken.rowcount == 1:
                won.append(delivery_id)
    return won


def post(target: guard.Target, secret: str, payload: bytes, event: str, delivery_id: str, settings: WebhookSettings) -> tuple[int | None, str | None]:
    """POST the signed payload once to the checked target: (HTTP status or None, error or None).  No redirects are followed; 2xx is success."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Gateway-Event": event,
        "X-Gateway-Delivery": delivery_id,
        signing.HEADER: signing.sign(secret, payload, int(time.time())),
    }
    try:
        response = guard.post(target, payload, headers, settings, TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"[:1000]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    if response.is_redirect:
        return response.status_code, f"HTTP {response.status_code}: redirects are not followed (subscribe the final URL)"
    return response.status_code, f"HTTP {response.status_code}"


def _attempt(subscription: Subscription, delivery: WebhookDelivery, settings: WebhookSettings, key: bytes) -> tuple[int | None, str | None, bool]:
    """Check the URL again (DNS may have changed), decrypt the secret, POST: (HTTP status, error, whether the failure is permanent).

    Runs outside any transaction: both rows are detached copies."""
    try:
        target = guard.check(subscription.url, settings)
    except guard.Refused as exc:
        return None, f"not sent: {exc}", exc.permanent
    try:
        secret = sealing.unseal(key, subscription.id, subscription.encrypted_secret)
    except sealing.SealError as exc:  # the operator's key, not the receiver: retried, so a fixed key still delivers
        log.error("%s", exc)
        return None, f"not sent: {exc}", False
    return (*post(target, secret, delivery.payload, delivery.event, delivery.id, settings), False)


def _send(database: Database, delivery_id: str, now: datetime, settings: WebhookSettings, key: bytes) -> str:
    """Send one claimed delivery and record the attempt; its new state."""
    with database.session() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        subscription, lease = delivery.subscription, delivery.lease_until
    started = time.monotonic()
    status, error, permanent = _attempt(subscription, delivery, settings, key)
    duration_ms = int((time.monotonic() - started) * 1000)
    with database.session() as session:
        delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.state != SENDING or delivery.lease_until != lease:
            return "lost"  # the lease expired and another worker took it: record nothing
        session.add(WebhookAttempt(delivery_id=delivery_id, at=utcnow(), http_status=status, error=error, duration_ms=duration_ms))
        delivery.lease_until = None
        if error is None:
            delivery.state, delivery.delivered_at = DELIVERED, utcnow()
        elif permanent or delivery.attempts >= MAX_ATTEMPTS:
            delivery.state = FAILED
        else:
            delivery.state = RETRYING
            delivery.next_attempt_at = now + timedelta(seconds=backoff(delivery.attempts, BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS))
        return delivery.state


def send_due(database: Database, now: datetime | None = None) -> int:
    """Send every delivery due at `now` (default: now), one batch at a time; how many were tried."""
    tried = 0
    settings = WebhookSettings.from_config(database.config)
    key = sealing.load_key(settings)
    while ids := _claim(database, now or utcnow()):
        for delivery_id in ids:
            _send(database, delivery_id, now or utcnow(), settings, key)
        tried += len(ids)
    return tried


class InFlight(ValueError):
    """A replay of a delivery a worker is sending right now."""


def replay(session: Session, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again (delivered or failed alike): the same bytes, freshly signed, due now with a fresh attempt budget."""
    if delivery.state == SENDING:
        raise InFlight(f"webhook delivery {delivery.id} is being sent right now")
    delivery.state, delivery.attempts, delivery.next_attempt_at, delivery.lease_until = PENDING, 0, utcnow(), None
    session.flush()
    return delivery

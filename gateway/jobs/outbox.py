"""The durable outbox: enqueue with the invoice, claim safely in parallel, record outcomes, back off, dead-letter, retry.

Claiming is one conditional UPDATE of a due row: on PostgreSQL its sub-select takes the row with
`FOR UPDATE SKIP LOCKED`, so concurrent workers pick different rows without waiting; on SQLite the
UPDATE runs under the database write lock (writers are serialised) and re-checks that the row is still
due.  The claim sets a lease: a row left `sending` past its lease belongs to a dead worker and is due
again, and the attempt it left open is closed as "interrupted".  Every later write of the claiming
worker is conditional on its claim token, so a worker that lost its claim can never overwrite anything.

Nothing here imports the lifecycle or the connectors: the intake calls `enqueue` inside its transaction.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from gateway.jobs.models import (
    DEAD,
    DUE_STATES,
    OUTCOME_INTERRUPTED,
    PENDING,
    RETRYABLE_STATES,
    RETRYING,
    SENDING,
    UNROUTABLE,
    Delivery,
    DeliveryAttempt,
)
from gateway.jobs.settings import DeliverySettings
from gateway.store import models as db
from gateway.store.models import new_id, utcnow
from gateway.texts import N_

INTERRUPTED = N_("the worker stopped before recording an outcome (crash, kill or expired lease); the delivery was taken again")
DATABASE_AWAY = N_("the database became unavailable during the attempt, before its outcome was recorded; the delivery was taken again")

_table = Delivery.__table__
_candidate = _table.alias("candidate")


class LostClaim(RuntimeError):
    """The worker's claim expired and another worker took the delivery: this worker must not record anything."""


class NotRetryable(ValueError):
    """An admin retry of a delivery that is neither dead nor unroutable."""


@dataclass(frozen=True)
class Claim:
    """A delivery taken by a worker: its id, the worker's token and the number of the attempt opened for it."""

    delivery_id: str
    token: str
    attempt: int
    worker: str


def enqueue(session: Session, invoice: db.Invoice) -> Delivery:
    """Add the delivery of a just-accepted invoice to the session (the caller's transaction commits both)."""
    delivery = Delivery(id=new_id(), tenant_id=invoice.tenant_id, invoice_id=invoice.id, state=PENDING, next_attempt_at=utcnow())
    session.add(delivery)
    return delivery


def _due(table: Any, now: datetime) -> Any:
    return or_(and_(table.c.state.in_(DUE_STATES), table.c.next_attempt_at <= now), and_(table.c.state == SENDING, table.c.lease_until < now))


def _close_interrupted(session: Session, delivery_ids: list[str], now: datetime) -> None:
    """Close the attempts left open by dead workers."""
    session.execute(
        update(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id.in_(delivery_ids), DeliveryAttempt.finished_at.is_(None))
        .values(finished_at=now, outcome=OUTCOME_INTERRUPTED, transient=True, error=INTERRUPTED),
        execution_options={"synchronize_session": False},
    )


def claim(session: Session, worker: str, lease_seconds: float, now: datetime | None = None) -> Claim | None:
    """Take the most overdue delivery for `worker` and open its attempt, or None when nothing is due (the caller commits)."""
    now = now or utcnow()
    if session.execute(select(_table.c.id).where(_due(_table, now)).limit(1)).first() is None:
        return None  # nothing due: no write, so idle workers do not take SQLite's write lock
    pick = (
        select(_candidate.c.id)
        .where(_due(_candidate, now))
        .order_by(_candidate.c.next_attempt_at, _candidate.c.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    token = new_id()
    row = session.execute(
        update(_table)
        .where(_table.c.id == pick, _due(_table, now))
        .values(
            state=SENDING,
            claim_token=token,
            claimed_by=worker,
            lease_until=now + timedelta(seconds=lease_seconds),
            attempts=_table.c.attempts + 1,
        )
        .returning(_table.c.id, _table.c.attempts, _table.c.channel)
    ).first()
    if row is None:
        return None  # another worker took it first
    _close_interrupted(session, [row.id], now)
    session.add(DeliveryAttempt(delivery_id=row.id, number=row.attempts, worker=worker, started_at=now, channel=row.channel))
    session.flush()
    return Claim(row.id, token, row.attempts, worker)


def release_expired(session: Session, now: datetime | None = None) -> int:
    """Make the deliveries of dead workers visible as retrying (their open attempts closed as interrupted); how many."""
    now = now or utcnow()
    ids = list(session.scalars(select(Delivery.id).where(Delivery.state == SENDING, Delivery.lease_until < now).with_for_update(skip_locked=True)))
    if ids:
        _close_interrupted(session, ids, now)
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.state == SENDING, Delivery.lease_until < now)
            .values(  # due from the moment its lease expired (SET expressions read the row as it was)
                state=RETRYING, next_attempt_at=Delivery.lease_until, claim_token=None, claimed_by=None, lease_until=None, last_error=INTERRUPTED
            ),
            execution_options={"synchronize_session": False},
        )
    return len(ids)


def release(session: Session, claim: Claim, now: datetime | None = None) -> bool:
    """Give back a claim whose outcome could not be recorded (the database went away): due again now, its attempt closed
    as interrupted, so that it need not wait for its lease to expire.  False when the claim was no longer this worker's."""
    now = now or utcnow()
    released = session.execute(
        update(Delivery)
        .where(Delivery.id == claim.delivery_id, Delivery.claim_token == claim.token, Delivery.state == SENDING)
        .values(state=RETRYING, next_attempt_at=now, claim_token=None, claimed_by=None, lease_until=None, last_error=DATABASE_AWAY),
        execution_options={"synchronize_session": False},
    )
    if released.rowcount != 1:
        return False
    session.execute(
        update(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id == claim.delivery_id, DeliveryAttempt.number == claim.attempt, DeliveryAttempt.finished_at.is_(None))
        .values(finished_at=now, outcome=OUTCOME_INTERRUPTED, transient=True, error=DATABASE_AWAY),
        execution_options={"synchronize_session": False},
    )
    return True


def owned(session: Session, claim: Claim) -> Delivery:
    """The claimed delivery, locked for the rest of the transaction (a row lock on PostgreSQL; the write lock on SQLite),
    or LostClaim when the claim is no longer this worker's."""
    taken = session.execute(
        update(Delivery)
        .where(Delivery.id == claim.delivery_id, Delivery.claim_token == claim.token, Delivery.state == SENDING)
        .values(updated_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    if taken.rowcount != 1:
        raise LostClaim(f"delivery {claim.delivery_id}: the claim of {claim.worker} expired and was taken by another worker")
    delivery = session.get(Delivery, claim.delivery_id, populate_existing=True)
    assert delivery is not None
    return delivery


def attempt_of(session: Session, claim: Claim) -> DeliveryAttempt:
    attempt = session.scalar(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == claim.delivery_id, DeliveryAttempt.number == claim.attempt))
    assert attempt is not None
    return attempt


def finish(delivery: Delivery, state: str, now: datetime, **values: Any) -> None:
    """Release the claim and move the delivery to `state`."""
    delivery.state = state
    delivery.claim_token = delivery.claimed_by = delivery.lease_until = None
    delivery.updated_at = now
    for name, value in values.items():
        setattr(delivery, name, value)


def failures(delivery: Delivery) -> int:
    """Attempts counted against the limit: those since the last admin retry."""
    return delivery.attempts - delivery.attempt_base


def backoff(failure: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds before the next try after the `failure`-th failure: exponential, capped, with equal jitter (half fixed, half random)."""
    delay = min(cap, base * 2 ** max(failure - 1, 0))
    return delay / 2 + (rng or random).uniform(0, delay / 2)


def failed(delivery: Delivery, now: datetime, error: str, *, transient: bool, settings: DeliverySettings) -> str:
    """Move a delivery on after a failed attempt (a send, a bounce): retried after a backoff while transient and under the
    attempt limit, else dead; the new state."""
    count = failures(delivery)
    if transient and count < settings.max_attempts:
        delay = backoff(count, settings.backoff_base_seconds, settings.backoff_max_seconds)
        finish(delivery, RETRYING, now, next_attempt_at=now + timedelta(seconds=delay), last_error=error)
        return RETRYING
    gave_up = N_("gave up after {count} attempt(s): {error}").format(count=count, error=error)
    finish(delivery, DEAD, now, last_error=error if not transient else gave_up)
    return DEAD


def retry(session: Session, delivery: Delivery, now: datetime | None = None) -> Delivery:
    """An admin sends a dead or unroutable delivery again: it is due now with a fresh attempt budget; an unroutable one is routed again."""
    if delivery.state not in RETRYABLE_STATES:
        raise NotRetryable(f"delivery {delivery.id} is {delivery.state}: only {' or '.join(RETRYABLE_STATES)} deliveries are retried by hand")
    now = now or utcnow()
    if delivery.state == UNROUTABLE:
        delivery.channel = delivery.decision = delivery.idempotency_key = delivery.document_kind = None
    finish(delivery, PENDING, now, next_attempt_at=now, attempt_base=delivery.attempts, last_error=None)
    invoice = session.get(db.Invoice, delivery.invoice_id)
    if invoice is not None and invoice.state != db.STATE_REJECTED:
        invoice.state = db.STATE_VALIDATED
    session.flush()
    return delivery

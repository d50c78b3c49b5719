"""The outbox on SQLite and PostgreSQL: written with the invoice, claimed once in parallel, leases, backoff."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from gateway import intake
from gateway.jobs import outbox
from gateway.jobs.models import OUTCOME_INTERRUPTED, PENDING, RETRYING, SENDING, SENT, Delivery, DeliveryAttempt
from gateway.store import models as db
from gateway.store.models import utcnow
from gateway.validation.report import Finding
from tests.jobs import helpers

pytestmark = pytest.mark.timeout(120)


def deliveries(setup, invoice_ids: list[str]) -> list[Delivery]:
    with setup.database.session() as session:
        rows = session.scalars(select(Delivery).where(Delivery.invoice_id.in_(invoice_ids))).all()
        for row in rows:
            _ = row.attempt_rows
        return list(rows)


def test_accepting_an_invoice_writes_its_delivery_in_the_same_transaction(setup):
    tenant = helpers.new_tenant(setup.database)
    [invoice_id] = helpers.submit(setup.database, setup.archive, tenant, 1)
    [delivery] = deliveries(setup, [invoice_id])
    assert (delivery.state, delivery.channel, delivery.attempts, delivery.tenant_id) == (PENDING, None, 0, tenant.id)

    with pytest.raises(RuntimeError), setup.database.session() as session:  # the intake transaction fails after store(): nothing stays
        row = intake.store(session, setup.archive, session.get(db.Tenant, tenant.id), helpers.processed("F-ROLLED-BACK"))
        rolled_back = row.id
        raise RuntimeError("crash before commit")
    assert deliveries(setup, [rolled_back]) == []
    setup.drain(setup.deliverer())


def test_a_rejected_invoice_gets_no_delivery(setup):
    tenant = helpers.new_tenant(setup.database)
    processed = helpers.processed("F-REJECTED-1")
    processed.report.findings.append(Finding("BR-CO-15", "fatal", "totals do not add up", "TEST"))
    with setup.database.session() as session:
        row = intake.store(session, setup.archive, session.get(db.Tenant, tenant.id), processed)
    assert row.state == db.STATE_REJECTED
    assert deliveries(setup, [row.id]) == []


def test_parallel_claims_take_each_row_once(setup):
    tenant = helpers.new_tenant(setup.database)
    ids = helpers.submit(setup.database, setup.archive, tenant, 24)
    claimed: list[str] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        while True:
            with setup.database.session() as session:
                claim = outbox.claim(session, name, lease_seconds=60)
            if claim is None:
                return
            with lock:
                claimed.append(claim.delivery_id)

    threads = [threading.Thread(target=claimer, args=(f"claimer-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = deliveries(setup, ids)
    assert len(claimed) == len(set(claimed)) and {d.id for d in rows} <= set(claimed)  # every row once, none twice
    assert {(d.state, d.attempts, len(d.attempt_rows)) for d in rows} == {(SENDING, 1, 1)}
    assert len({d.claimed_by for d in rows}) > 1 or setup.kind == "sqlite"  # PostgreSQL: SKIP LOCKED lets claimers work side by side
    with setup.database.session() as session:  # leave nothing claimed for the next tests
        assert outbox.release_expired(session, utcnow() + timedelta(seconds=61)) == len(claimed)
    setup.drain(setup.deliverer())


def test_two_workers_never_send_the_same_delivery(setup):
    tenant = helpers.new_tenant(setup.database)
    ids = helpers.submit(setup.database, setup.archive, tenant, 16, helpers.PRIVATE_BUYER)
    before = len(setup.net.message_ids())
    workers = [setup.deliverer() for _ in range(2)]
    threads = [threading.Thread(target=setup.drain, args=(w, f"worker-{i}")) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = deliveries(setup, ids)
    assert {d.state for d in rows} == {SENT}
    sent = setup.net.message_ids()[before:]
    assert sorted(sent) == sorted(d.remote_id for d in rows)  # each delivery's Message-ID exactly once at the server
    assert {a.number for d in rows for a in d.attempt_rows} == {1}


def test_an_expired_claim_is_taken_again_and_its_first_worker_can_no_longer_write(setup):
    tenant = helpers.new_tenant(setup.database)
    [invoice_id] = helpers.submit(setup.database, setup.archive, tenant, 1, helpers.PRIVATE_BUYER)
    start = utcnow() - timedelta(minutes=1)  # accepted and claimed "a minute ago", so that the released row is due now
    with setup.database.session() as session:
        session.execute(update(Delivery).where(Delivery.invoice_id == invoice_id).values(next_attempt_at=start))
    with setup.database.session() as session:
        first = outbox.claim(session, "dying-worker", lease_seconds=5, now=start)
    assert first is not None
    with setup.database.session() as session:
        assert outbox.claim(session, "other", lease_seconds=5, now=start + timedelta(seconds=1)) is None  # still leased
    with setup.database.session() as session:
        second = outbox.claim(session, "other", lease_seconds=5, now=start + timedelta(seconds=6))
    assert second is not None and (second.delivery_id, second.attempt) == (first.delivery_id, 2)
    with pytest.raises(outbox.LostClaim), setup.database.session() as session:
        outbox.owned(session, first)
    [delivery] = deliveries(setup, [invoice_id])
    assert [(a.number, a.worker, a.outcome) for a in delivery.attempt_rows] == [(1, "dying-worker", OUTCOME_INTERRUPTED), (2, "other", None)]
    with setup.database.session() as session:
        assert outbox.release_expired(session, start + timedelta(seconds=12)) == 1
    [delivery] = deliveries(setup, [invoice_id])
    assert (delivery.state, delivery.claim_token, delivery.attempt_rows[1].outcome) == (RETRYING, None, OUTCOME_INTERRUPTED)
    setup.drain(setup.deliverer())
    [delivery] = deliveries(setup, [invoice_id])
    assert (delivery.state, delivery.attempts) == (SENT, 3)


def test_a_claim_given_back_is_due_at_once_and_only_by_its_owner(setup):
    """What a worker does when the database went away mid-delivery: the row is due again without waiting for its lease."""
    tenant = helpers.new_tenant(setup.database)
    [invoice_id] = helpers.submit(setup.database, setup.archive, tenant, 1, helpers.PRIVATE_BUYER)
    with setup.database.session() as session:
        claim = outbox.claim(session, "cut-off-worker", lease_seconds=300)
    assert claim is not None
    stranger = outbox.Claim(claim.delivery_id, "not-the-token", claim.attempt, "other")
    with setup.database.session() as session:
        assert not outbox.release(session, stranger)
        assert outbox.release(session, claim)
        assert not outbox.release(session, claim)  # once
    [delivery] = deliveries(setup, [invoice_id])
    assert (delivery.state, delivery.claim_token, delivery.last_error) == (RETRYING, None, outbox.DATABASE_AWAY)
    assert delivery.next_attempt_at <= utcnow()
    assert [(a.outcome, a.error) for a in delivery.attempt_rows] == [(OUTCOME_INTERRUPTED, outbox.DATABASE_AWAY)]
    setup.drain(setup.deliverer())
    [delivery] = deliveries(setup, [invoice_id])
    assert (delivery.state, delivery.attempts) == (SENT, 2)


def test_backoff_is_exponential_capped_and_jittered():
    rng = random.Random(7)
    for failure in range(1, 12):
        full = min(3600, 30 * 2 ** (failure - 1))
        delays = [outbox.backoff(failure, 30, 3600, rng) for _ in range(200)]
        assert all(full / 2 <= d <= full for d in delays)
        assert max(delays) - min(delays) > full / 4  # jitter spreads the retries of a burst
    assert outbox.backoff(20, 30, 3600, rng) <= 3600


def test_attempt_rows_are_kept_per_try(setup):
    with setup.database.session() as session:
        open_attempts = session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.finished_at.is_(None))).all()
    assert open_attempts == []  # every test above left its attempts closed

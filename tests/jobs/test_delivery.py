"""Deliveries through the real connectors and loopback servers: outcomes, retries, dead letters, statuses, Peppol look-ups."""

from __future__ import annotations

import base64
import json
import time

import pytest
from sqlalchemy import select

from gateway.archive.models import ArchiveEntry
from gateway.jobs import outbox
from gateway.jobs.models import (
    DEAD,
    INVOICE_SENT,
    INVOICE_UNDELIVERABLE,
    INVOICE_UNROUTABLE,
    OUTCOME_FAILED,
    OUTCOME_REJECTED,
    PENDING,
    RETRYING,
    SENT,
    UNROUTABLE,
    Delivery,
)
from gateway.jobs.polling import poll, poll_reports
from gateway.jobs.worker import Worker
from gateway.lifecycle import service as lifecycle
from gateway.store import models as db
from tests.jobs import helpers

pytestmark = pytest.mark.timeout(120)


def state_of(setup, invoice_id: str) -> tuple[Delivery, db.Invoice]:
    with setup.database.session() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.invoice_id == invoice_id)).one()
        _ = delivery.attempt_rows, delivery.invoice.events
        return delivery, delivery.invoice


def codes_of(invoice: db.Invoice) -> list[str]:
    return [event.code for event in invoice.events]


def receipts_of(setup, invoice_id: str) -> list[dict]:
    with setup.database.session() as session:
        query = select(ArchiveEntry).where(ArchiveEntry.invoice_id == invoice_id, ArchiveEntry.kind == "receipt").order_by(ArchiveEntry.seq)
        entries = session.scalars(query).all()  # in the order archived (PostgreSQL returns rows in no given order otherwise)
        return [json.loads(setup.database.blobs.get(e.content_sha256)) for e in entries]


def one(setup, buyer=None, **fields) -> str:
    return helpers.submit(setup.database, setup.archive, helpers.new_tenant(setup.database), 1, buyer, **fields)[0]


# ---------------------------------------------------------------------------------------------- outcomes


def test_chorus_pro_delivery_is_accepted_archived_and_issued(setup):
    invoice_id = one(setup)
    setup.drain(setup.deliverer(documents={"chorus_pro": "ubl"}))
    delivery, invoice = state_of(setup, invoice_id)
    assert (delivery.state, delivery.channel, delivery.document_kind, invoice.state) == (SENT, "chorus_pro", "ubl", INVOICE_SENT)
    assert delivery.remote_id.startswith("CPP") and delivery.remote_id == delivery.attempt_rows[0].remote_id
    assert codes_of(invoice) == ["200", "201"] and invoice.status == "201"
    [receipt] = receipts_of(setup, invoice_id)
    assert receipt["accepted"] and receipt["remote_id"] == delivery.remote_id and receipt["idempotency_key"] == delivery.idempotency_key
    assert b"IN_INTEGRE" in base64.b64decode(receipt["raw"])  # the deposit report, kept as received
    assert invoice.number in setup.net.deposited_numbers()


def test_a_chorus_pro_refusal_is_a_dead_letter_and_status_213(setup):
    invoice_id = one(setup)
    setup.net.chorus.reject_with = "Numéro d'engagement inconnu"
    try:
        setup.drain(setup.deliverer())
    finally:
        setup.net.chorus.reject_with = None
    delivery, invoice = state_of(setup, invoice_id)
    assert (delivery.state, invoice.state, delivery.attempts) == (DEAD, INVOICE_UNDELIVERABLE, 1)
    assert delivery.attempt_rows[0].outcome == OUTCOME_REJECTED and "Numéro d'engagement inconnu" in delivery.last_error
    assert codes_of(invoice) == ["200", "213"]
    assert invoice.events[-1].detail["reason_code"] == "REJ_CONT_B2G"
    assert receipts_of(setup, invoice_id)[0]["accepted"] is False


def sent_pending(setup, reject_with: str | None) -> tuple[object, str, str]:
    """A Chorus Pro delivery recorded while its deposit report was still pending (report_wait shorter than the
    platform's processing); the flow then ends rejected with `reject_with`, or integrated.  The deliverer, invoice and flow."""
    invoice_id = one(setup)
    deliverer = setup.deliverer(connectors=setup.net.connectors(report_wait=0.05))
    chorus = setup.net.chorus
    chorus.processing_delay = 0.5
    try:
        setup.drain(deliverer)
    finally:
        chorus.processing_delay = 0.0
    delivery, invoice = state_of(setup, invoice_id)
    assert (delivery.state, codes_of(invoice)) == (SENT, ["200", "201"])  # deposited: emitted by the platform
    assert delivery.attempt_rows[0].receipt["pending"] is True and "deposit report pending" in delivery.attempt_rows[0].receipt["message"]
    chorus.reject_with = reject_with
    return deliverer, invoice_id, delivery.remote_id


def settled(setup, deliverer, chorus, numero: str) -> None:
    """Poll until the flow's report is final and its verdict recorded (the loopback platform settles it after its delay)."""
    deadline = time.monotonic() + 30
    while not poll_reports(deliverer):
        assert time.monotonic() < deadline, f"flow {numero} still {chorus.flows[numero].state}"
        time.sleep(0.1)


def test_a_pending_deposit_report_is_polled_until_it_rejects_the_flow_then_dead_letter_and_213(setup):
    chorus = setup.net.chorus
    deliverer, invoice_id, numero = sent_pending(setup, reject_with="Code service inconnu")
    try:
        settled(setup, deliverer, chorus, numero)
    finally:
        chorus.reject_with = None
    delivery, invoice = state_of(setup, invoice_id)
    assert (delivery.state, invoice.state, chorus.flows[numero].state) == (DEAD, INVOICE_UNDELIVERABLE, "IN_REJETE")
    assert delivery.last_error == f"refused by chorus_pro after hand-over: IN_REJETE; {invoice.number}: Code service inconnu"
    assert codes_of(invoice) == ["200", "201", "213"] and invoice.status == "213"
    assert invoice.events[-1].detail["reason_code"] == "REJ_CONT_B2G" and "Code service inconnu" in invoice.events[-1].detail["comment"]
    hand_over, verdict = receipts_of(setup, invoice_id)
    assert (hand_over["pending"], verdict["pending"], verdict["accepted"]) == (True, False, False)
    assert delivery.attempt_rows[0].receipt == {k: v for k, v in verdict.items() if k not in ("delivery", "invoice", "idempotency_key")}
    assert poll_reports(deliverer) == 0 and codes_of(state_of(setup, invoice_id)[1]) == ["200", "201", "213"]  # asked once only


def test_a_pending_deposit_report_that_ends_integrated_completes_the_receipt_only(setup):
    chorus = setup.net.chorus
    deliverer, invoice_id, numero = sent_pending(setup, reject_with=None)
    settled(setup, deliverer, chorus, numero)
    delivery, invoice = state_of(setup, invoice_id)
    assert (delivery.state, codes_of(invoice), chorus.flows[numero].state) == (SENT, ["200", "201"], "IN_INTEGRE")
    assert delivery.attempt_rows[0].receipt["pending"] is False and delivery.attempt_rows[0].receipt["message"] == "IN_INTEGRE"
    assert [r["pending"] for r in receipts_of(setup, invoice_id)] == [True, False]


def test_a_permanent_error_is_not_retried(setup):
    invoice_id = one(setup, helpers.PRIVATE_BUYER)
    setup.net.smtp.reject.add("compta@menuiserie-leroux.example")
    try:
        setup.drain(setup.deliverer())
    finally:
        setup.net.smtp.reject.clear()
    delivery, invoice = state_of(setup, invoice_id)
    assert (delivery.state, delivery.attempts, invoice.state) == (DEAD, 1, INVOICE_UNDELIVERABLE)
    [attempt] = delivery.attempt_rows
    assert (attempt.outcome, attempt.transient, attempt.error_code) == (OUTCOME_FAILED, False, "rejected")
    assert "550" in delivery.last_error and codes_of(invoice) == ["200"]


def test_bad_credentials_are_permanent(setup):
    invoice_id = one(setup)
    setup.drain(setup.deliverer(connectors=setup.net.connectors(client_secret="wrong")))
    delivery, _ = state_of(setup, invoice_id)
    assert (delivery.state, delivery.attempts, delivery.attempt_rows[0].transient) == (DEAD, 1, False)


def test_transient_failures_back_off_then_dead_letter_then_admin_retry_delivers(setup):
    invoice_id = one(setup)
    # Backoff of 1-2 s: long enough that "not due yet" holds on a loaded CI machine.
    deliverer = setup.deliverer(max_attempts=3, backoff_base_seconds=2.0, backoff_max_seconds=2.0)
    setup.net.chorus.stop()  # connection refused
    try:
        assert setup.drain(deliverer) == 1
        delivery, _ = state_of(setup, invoice_id)
        assert delivery.state == RETRYING and delivery.attempt_rows[0].transient is True
        delay = (delivery.next_attempt_at - delivery.attempt_rows[0].finished_at).total_seconds()
        assert 1.0 <= delay <= 2.0  # backoff with jitter: half fixed, half random
        assert setup.drain(deliverer) == 0  # not due yet
        for _ in range(2):
            time.sleep(2.05)
            setup.drain(deliverer)
        delivery, invoice = state_of(setup, invoice_id)
        assert (delivery.state, delivery.attempts, invoice.state) == (DEAD, 3, INVOICE_UNDELIVERABLE)
        assert delivery.last_error.startswith("gave up after 3 attempt(s)")
    finally:
        setup.net.chorus.start()
    with setup.database.session() as session:
        retried = outbox.retry(session, session.get(Delivery, delivery.id))
        assert (retried.state, retried.attempt_base) == (PENDING, 3)
    setup.drain(deliverer)
    delivery, invoice = state_of(setup, invoice_id)
    assert (delivery.state, delivery.attempts, invoice.state, codes_of(invoice)) == (SENT, 4, INVOICE_SENT, ["200", "201"])
    assert [a.outcome for a in delivery.attempt_rows] == ["failed", "failed", "failed", "sent"]
    with pytest.raises(outbox.NotRetryable), setup.database.session() as session:
        outbox.retry(session, session.get(Delivery, delivery.id))


def test_a_temporary_smtp_refusal_is_retried(setup):
    invoice_id = one(setup, helpers.PRIVATE_BUYER)
    deliverer = setup.deliverer(backoff_base_seconds=1.0, backoff_max_seconds=1.0)  # not due again before the drain ends, even under load
    setup.net.smtp.tempfail = True
    try:
        setup.drain(deliverer)
    finally:
        setup.net.smtp.tempfail = False
    delivery, _ = state_of(setup, invoice_id)
    assert delivery.state == RETRYING and "451" in delivery.last_error
    time.sleep(1.05)
    setup.drain(deliverer)
    delivery, _ = state_of(setup, invoice_id)
    assert (delivery.state, delivery.attempts) == (SENT, 2)
    assert setup.net.message_ids().count(delivery.remote_id) == 1


def test_unroutable_is_visible_and_routed_again_after_an_admin_retry(setup):
    invoice_id = one(setup, {**helpers.PRIVATE_BUYER, "contact": None})
    setup.drain(setup.deliverer())
    delivery, invoice = state_of(setup, invoice_id)
    assert (delivery.state, delivery.channel, invoice.state) == (UNROUTABLE, None, INVOICE_UNROUTABLE)
    assert [s["step"] for s in delivery.decision["steps"]] == ["rule", "directory", "heuristic", "rule", "peppol", "email", "default", "sandbox"]
    assert delivery.last_error == delivery.reason == delivery.decision["reason"] and delivery.reason.startswith("No channel reaches the buyer")
    with setup.database.session() as session:
        outbox.retry(session, session.get(Delivery, delivery.id))
    setup.drain(setup.deliverer(routing=helpers.routing_section(rules=[{"default": True, "channel": "chorus_pro"}])))
    delivery, invoice = state_of(setup, invoice_id)
    assert (delivery.state, delivery.channel) == (DEAD, "chorus_pro")  # routed now; Chorus Pro does not know this buyer
    assert delivery.decision["decided_by"] == "default" and "no Chorus Pro structure" in delivery.last_error


def test_a_channel_without_connector_is_a_dead_letter_saying_so(setup):
    invoice_id = one(setup)
    setup.drain(setup.deliverer(connectors={}))
    delivery, _ = state_of(setup, invoice_id)
    assert delivery.state == DEAD and "no chorus_pro connector is configured" in delivery.last_error
    assert delivery.reason == (
        f"{delivery.last_error} — what to do: configure the chorus_pro connector ([delivery.connectors.chorus_pro] in config/routing.toml), or "
        "change the rule or directory entry that chose chorus_pro, then retry the delivery"
    )


def test_an_answer_received_by_a_worker_that_died_is_recorded_not_sent_again(setup):
    invoice_id = one(setup, helpers.PRIVATE_BUYER)
    deliverer = setup.deliverer()
    with setup.database.session() as session:
        claim = outbox.claim(session, "dies-after-sending", lease_seconds=0.2)
    deliverer._send(claim, deliverer._load(claim))  # sent, answer committed; the worker dies before recording
    time.sleep(0.3)
    setup.drain(deliverer)
    delivery, invoice = state_of(setup, invoice_id)
    assert (delivery.state, codes_of(invoice)) == (SENT, ["200", "201"])
    first, second = delivery.attempt_rows
    assert (first.outcome, first.remote_id, second.outcome, second.remote_id) == ("interrupted", delivery.remote_id, "sent", delivery.remote_id)
    assert setup.net.message_ids().count(delivery.remote_id) == 1
    assert len(receipts_of(setup, invoice_id)) == 1


# ---------------------------------------------------------------------------------------------- statuses


def test_polled_chorus_pro_statuses_become_lifecycle_events_once(setup):
    invoice_id = one(setup)
    deliverer = setup.deliverer()
    setup.drain(deliverer)
    _, invoice = state_of(setup, invoice_id)
    setup.net.chorus.set_status(invoice.number, "MISE_A_DISPOSITION")
    assert poll(deliverer) >= 2
    _, invoice = state_of(setup, invoice_id)
    assert codes_of(invoice) == ["200", "201", "202", "203"] and invoice.status == "203"  # DEPOSEE → 202, MISE_A_DISPOSITION → 203
    assert [e.source for e in invoice.events] == ["gateway-intake", "gateway", "partner", "partner"]
    assert "Chorus Pro MISE_A_DISPOSITION (reported for" in invoice.events[-1].detail["comment"]
    poll(deliverer)
    _, again = state_of(setup, invoice_id)
    assert codes_of(again) == codes_of(invoice)  # polled again: nothing twice


def test_a_polled_status_without_the_reason_the_reform_requires_is_recorded_flagged_not_applied(setup):
    invoice_id = one(setup)
    deliverer = setup.deliverer()
    setup.drain(deliverer)
    _, invoice = state_of(setup, invoice_id)
    setup.net.chorus.set_status(invoice.number, "SUSPENDUE", "Bon de livraison manquant")  # Chorus Pro gives no MDT-113 reason code
    poll(deliverer)
    with setup.database.session() as session:
        invoice = session.get(db.Invoice, invoice_id)
        [(suspended, life)] = [(e, life) for e, life in lifecycle.timeline(session, invoice) if e.code == "208"]
        assert (suspended.source, life.applied) == ("partner", False)
        assert "not applied" in life.flag and "reason" in life.flag and "not given by chorus_pro" in life.flag
        assert "Bon de livraison manquant" in suspended.detail["comment"]
        assert invoice.status == "202"  # the status the platform's message could not change
    poll(deliverer)
    _, again = state_of(setup, invoice_id)
    assert codes_of(again).count("208") == 1  # polled again: recorded once


# ---------------------------------------------------------------------------------------------- worker threads


def test_worker_threads_deliver_everything_and_stop_cleanly(setup):
    tenant = helpers.new_tenant(setup.database)
    invoice_ids = [
        *helpers.submit(setup.database, setup.archive, tenant, 6),
        *helpers.submit(setup.database, setup.archive, tenant, 6, helpers.PRIVATE_BUYER),
    ]
    worker = Worker(setup.deliverer(), threads=2)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(state_of(setup, i)[0].state != SENT for i in invoice_ids):
            time.sleep(0.1)
    finally:
        worker.stop()
    assert {state_of(setup, i)[0].state for i in invoice_ids} == {SENT}
    assert worker.release_expired() == 0

"""Deliveries through the real connectors and loopback servers: outcomes, retries, dead letters, statuses, Peppol look-ups."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from connectors.peppol import identifiers as ids
from connectors.peppol.identifiers import ParticipantId
from connectors.peppol.sml import dns_name
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
from gateway.jobs.polling import poll
from gateway.jobs.worker import Worker
from gateway.store import models as db
from tests.connectors.peppol_servers import AccessPoint, DnsServer, Naptr, Registration, SmpServer, make_pki
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
        entries = session.scalars(select(ArchiveEntry).where(ArchiveEntry.invoice_id == invoice_id, ArchiveEntry.kind == "receipt")).all()
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
    assert [s["step"] for s in delivery.decision["steps"]] == ["rule", "directory", "heuristic", "rule", "peppol", "email", "default"]
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


# ---------------------------------------------------------------------------------------------- Peppol


@pytest.fixture(scope="module")
def peppol(tmp_path_factory) -> Iterator[dict]:
    pki = make_pki()
    dns, smp, ap = DnsServer(), SmpServer(pki.smp_test), AccessPoint()
    registered = ParticipantId.parse("0225:356000000")
    smp.register(
        Registration(
            participant=registered.prefixed,
            document_types=[ids.FR_UBL_INVOICE_CIUS.value, ids.BIS3_INVOICE.value],
            processes=[ids.FR_PROCESS_REGULATED, ids.BIS3_PROCESS],
            endpoint_url="https://ap.receiver.loopback.test/as4",
            ap_certificate=pki.ap_test,
        )
    )
    dns.records[dns_name(registered, "sml.loopback.test")] = [Naptr(100, 10, "U", "Meta:SMP", f"!^.*$!{smp.url}!")]
    yield {
        "ap": ap,
        "dns": dns,
        "config": {
            "mode": "submission_api",
            "stage": "test",
            "sml_zone": "sml.loopback.test",
            "dns_nameserver": "127.0.0.1",
            "dns_port": dns.port,
            "dns_timeout": 1.0,
            "smp_trust_anchors": pki.smp_ca_test.cert_pem.decode(),
            "submission_url": ap.url,
            "submission_token": ap.token,
            "timeout": 2.0,
        },
    }
    for server in (dns, smp, ap):
        server.close()


def test_peppol_lookup_routes_registered_participants_to_peppol_and_others_on(setup, peppol):
    connectors = {**setup.net.connectors(), "peppol": peppol["config"]}
    deliverer = setup.deliverer(routing={"peppol_participants": "lookup"}, connectors=connectors)
    french_cius = {"specification_id": ids.FR_CIUS_CUSTOMIZATION}  # the document type the participant registered
    registered = one(setup, {"contact": None}, **french_cius)  # BT-49 0225:356000000
    unknown = one(setup, {**helpers.PRIVATE_BUYER, "electronic_address": {"scheme": "0225", "value": "443061841"}}, **french_cius)
    setup.drain(deliverer)
    delivery, invoice = state_of(setup, registered)
    assert (delivery.state, delivery.channel, delivery.document_kind) == (SENT, "peppol", "ubl")
    assert delivery.decision["reason"].endswith("found by SML/SMP look-up") and codes_of(invoice) == ["200", "201"]
    assert delivery.remote_id in peppol["ap"].delivered  # the SBDH InstanceIdentifier, derived from the idempotency key
    delivery, _ = state_of(setup, unknown)
    assert (delivery.state, delivery.channel) == (SENT, "email")
    steps = delivery.decision["steps"]
    assert any(s["step"] == "peppol" and s["outcome"] == "not-found" and "not registered" in s["detail"] for s in steps)


def test_a_dns_outage_during_a_peppol_lookup_is_retried_not_rerouted(setup, peppol):
    connectors = {**setup.net.connectors(), "peppol": peppol["config"]}
    deliverer = setup.deliverer(routing={"peppol_participants": "lookup"}, connectors=connectors, backoff_base_seconds=1.0, backoff_max_seconds=1.0)
    invoice_id = one(setup, specification_id=ids.FR_CIUS_CUSTOMIZATION)
    peppol["dns"].silent = True
    try:
        setup.drain(deliverer)
    finally:
        peppol["dns"].silent = False
    delivery, _ = state_of(setup, invoice_id)
    assert (delivery.state, delivery.channel, delivery.decision) == (RETRYING, None, None)
    time.sleep(1.05)
    setup.drain(deliverer)
    assert state_of(setup, invoice_id)[0].channel == "peppol"

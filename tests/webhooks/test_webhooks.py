"""Webhooks end to end on SQLite and PostgreSQL: events enqueued with the invoice or status, sent signed to a real receiver,
verified with the published snippet, retried, logged, replayed, and kept to their tenant."""

from __future__ import annotations

import copy
import time
from datetime import timedelta

import pytest

from gateway.jobs.deliver import Deliverer
from gateway.jobs.worker import Worker
from gateway.store.models import utcnow
from gateway.webhooks import sender, signing
from tests.conftest import load_example
from tests.lifecycle.helpers import incoming_invoice, submit_outgoing
from tests.webhooks.conftest import deliveries, subscribe, verified, verify


def test_accepted_and_rejected_invoices_are_announced_signed(api, database, receiver):
    secret = subscribe(api, receiver.url, ["invoice.accepted", "invoice.rejected"])
    listed = api.get("/api/v1/webhooks").get_json()["items"]
    assert [s["url"] for s in listed] == [receiver.url] and "secret" not in listed[0]  # the secret is shown once

    accepted = submit_outgoing(api, "WH-OK-1")
    bad = copy.deepcopy(load_example("invoice-fr-b2b")) | {"number": "WH-BAD-1", "totals": {"tax_inclusive_amount": "15000.00"}}
    response = api.post("/api/v1/invoices", json=bad)
    assert response.status_code == 201 and response.get_json()["status"] == "rejected"
    rejected = response.get_json()["id"]
    assert {d["state"] for d in deliveries(api)} == {"pending"}

    sender.send_due(database)
    bodies = verified(receiver, secret)
    assert {(b["event"], b["data"]["invoice"]["id"]) for b in bodies} == {("invoice.accepted", accepted), ("invoice.rejected", rejected)}
    sent = deliveries(api)
    assert {d["state"] for d in sent} == {"delivered"}
    assert {d["payload"].encode() for d in sent} == {got.body for got in receiver.received}  # the bytes exactly as sent
    assert all(d["attempts_count"] == 1 and d["attempts"][0]["http_status"] == 200 for d in sent)


def test_a_status_change_is_announced(api, database, receiver):
    secret = subscribe(api, receiver.url, ["invoice.status_changed"])
    invoice_id = incoming_invoice(database, api, "WH-IN-1")
    response = api.post(f"/api/v1/invoices/{invoice_id}/statuses", json={"code": "205"})
    assert response.status_code == 201, response.get_json()

    sender.send_due(database)
    [body] = verified(receiver, secret)
    assert body["event"] == "invoice.status_changed"
    assert (body["data"]["invoice"]["id"], body["data"]["invoice"]["status"], body["data"]["change"]["code"]) == (invoice_id, "205", "205")


def test_a_failing_receiver_is_retried_until_it_recovers_then_replayed(api, other_api, database, receiver):
    secret = subscribe(api, receiver.url, ["invoice.accepted"])
    receiver.answers = [500]
    submit_outgoing(api, "WH-RETRY-1")

    sender.send_due(database)
    [delivery] = deliveries(api)
    assert (delivery["state"], delivery["attempts"][0]["http_status"], delivery["attempts"][0]["error"]) == ("retrying", 500, "HTTP 500")
    sender.send_due(database)  # not due yet: backoff
    assert len(receiver.received) == 1

    sender.send_due(database, now=utcnow() + timedelta(hours=2))
    [delivery] = deliveries(api)
    assert delivery["state"] == "delivered" and [a["http_status"] for a in delivery["attempts"]] == [500, 200]
    assert len(verified(receiver, secret)) == 2

    # another tenant neither sees nor replays it
    assert deliveries(other_api) == []
    assert other_api.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/replay").status_code == 404

    response = api.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/replay")
    assert response.status_code == 200 and response.get_json()["state"] == "pending"
    sender.send_due(database)
    first, _, replayed = receiver.received
    assert replayed.body == first.body and len(verified(receiver, secret)) == 3
    [delivery] = deliveries(api)
    assert delivery["state"] == "delivered" and len(delivery["attempts"]) == 3 and delivery["attempts_count"] == 1


def test_the_snippet_refuses_a_tampered_body_an_old_timestamp_and_a_wrong_secret(api, database, receiver):
    secret = subscribe(api, receiver.url, ["invoice.accepted"])
    submit_outgoing(api, "WH-SIG-1")
    sender.send_due(database)
    [got] = receiver.received
    header = got.headers[signing.HEADER]
    assert verify(secret, got.body, header)
    assert not verify(secret, got.body.replace(b"WH-SIG-1", b"WH-SIG-2"), header)
    assert not verify("whsec_other", got.body, header)
    assert not verify(secret, got.body, signing.sign(secret, got.body, int(time.time()) - 600))  # replayed capture
    assert not verify(secret, got.body, "garbage")


@pytest.mark.parametrize(
    "body, pointer",
    [
        ({"url": "ftp://erp.example/x", "events": ["invoice.accepted"]}, "/url"),
        ({"url": "https://127.0.0.1/x", "events": ["invoice.paid"]}, "/events"),
    ],
)
def test_bad_subscriptions_are_refused_and_deletion_stops_sending(api, database, receiver, body, pointer):
    response = api.post("/api/v1/webhooks", json=body)
    assert response.status_code == 422 and response.get_json()["errors"][0]["pointer"] == pointer

    subscribe(api, receiver.url)
    [subscription] = api.get("/api/v1/webhooks").get_json()["items"]
    assert api.client.delete(f"/api/v1/webhooks/{subscription['id']}", headers={"Authorization": f"Bearer {api.key}"}).status_code == 204
    submit_outgoing(api, f"WH-DEL-{pointer[1:]}")
    sender.send_due(database)
    assert receiver.received == [] and api.get("/api/v1/webhooks").get_json()["items"] == []


def test_the_worker_scheduler_sends_duedeliveries(app, gateway_config, api, database, receiver):
    secret = subscribe(api, receiver.url, ["invoice.accepted"])
    submit_outgoing(api, "WH-WORKER-1")
    worker = Worker(Deliverer(database, app.extensions["gateway.archive"], gateway_config), threads=0)
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not receiver.received:
            time.sleep(0.1)
    finally:
        worker.stop()
    [body] = verified(receiver, secret)
    assert body["event"] == "invoice.accepted"


def test_a_receiver_failing_every_attempt_ends_failed_and_can_be_replayed(api, database, receiver):
    subscribe(api, receiver.url, ["invoice.accepted"])
    receiver.answers = [503] * sender.MAX_ATTEMPTS
    submit_outgoing(api, "WH-FAIL-1")
    for hours in range(0, 2 * sender.MAX_ATTEMPTS + 2, 2):  # each call is past the previous backoff (capped at 1 h)
        sender.send_due(database, now=utcnow() + timedelta(hours=hours))
    [delivery] = deliveries(api)
    assert delivery["state"] == "failed" and [a["http_status"] for a in delivery["attempts"]] == [503] * sender.MAX_ATTEMPTS
    assert api.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/replay").status_code == 200
    sender.send_due(database)
    assert deliveries(api, state="delivered")[0]["id"] == delivery["id"]

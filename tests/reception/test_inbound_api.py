"""Reception by the API on SQLite and PostgreSQL: 202 or 213 with reasons, archived, deduplicated, announced by a signed webhook to
a real receiver, listed in the inbox until acknowledged; unreadable and hostile bodies kept and refused."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import jsonschema
import pytest
from sqlalchemy import func, select

from gateway.api.inbound import INBOX_ENTRY_SCHEMA
from gateway.api.openapi import openapi_document
from gateway.archive.models import ArchiveEntry
from gateway.jobs.models import Delivery
from gateway.lifecycle import codes
from gateway.lifecycle.cdar import read_cdar, validate_cdar
from gateway.lifecycle.events import StatusChange
from gateway.lifecycle.models import LifecycleEvent
from gateway.model.serialize import invoice_from_json
from gateway.reception.models import Reception
from gateway.reception.service import status_message as cdar_of
from gateway.store import models as db
from gateway.webhooks import sender, signing
from tests.connectors.documents import document, numbered
from tests.lifecycle.helpers import submit_outgoing
from tests.webhooks.conftest import documented_verify

verify = documented_verify()
XML = {"Content-Type": "application/xml"}


def documented(entry: dict) -> None:
    """Check an inbox entry against its schema in the OpenAPI document (with the document's components)."""
    schema = {**INBOX_ENTRY_SCHEMA, "components": openapi_document()["components"]}
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER).validate(entry)


def wrong_total(number: str) -> bytes:
    """The example UBL under `number` with an amount due that contradicts its totals (BR-CO-16)."""
    return re.sub(rb'(<cbc:PayableAmount currencyID="EUR">)[0-9.]+', rb"\g<1>1.00", numbered("ubl", number))


def inbound(api, data: bytes, content_type: str = "application/xml", **headers: str):
    return api.post("/api/v1/inbound", data=data, headers={"Content-Type": content_type, **headers})


def received(api, data: bytes, content_type: str = "application/xml") -> dict:
    response = inbound(api, data, content_type)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"] == body["links"]["self"] == body["invoice"]["links"]["self"]
    return body


def inbox(api, **query: str) -> list[dict]:
    response = api.get("/api/v1/inbox", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def status_message(database, invoice_id: str) -> bytes:
    """The CDAR message archived with the invoice's first status event."""
    with database.session() as session:
        [digest] = session.scalars(
            select(LifecycleEvent.message_sha256)
            .join(db.StatusEvent, db.StatusEvent.id == LifecycleEvent.status_event_id)
            .where(db.StatusEvent.invoice_id == invoice_id)
        ).all()
    return database.blobs.get(digest)


def test_a_valid_ubl_is_received_archived_announced_signed_and_kept_in_the_inbox_until_acknowledged(api, database, receiver):
    response = api.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["invoice.received"]})
    secret = response.get_json()["secret"]

    body = received(api, numbered("ubl", "RX-OK-1"))
    documented(body)
    invoice = api.get(body["links"]["self"]).get_json()
    assert (body["status"], body["reasons"], body["duplicate_of"], body["channel"]) == ("202", [], None, "api")
    assert body["origin"] == api.key[:11] and body["acknowledged_at"] is None
    assert (invoice["direction"], invoice["state"], invoice["status"], invoice["status_label"]) == (
        "incoming",
        "received",
        "202",
        "Reçue par la plateforme",
    )
    assert [(e["code"], e["source"]) for e in invoice["events"]] == [("202", "gateway")]
    assert set(invoice["links"]["documents"]) == {"input", "ubl", "canonical"}
    assert api.get(invoice["links"]["documents"]["input"]).data == numbered("ubl", "RX-OK-1")  # the exact bytes
    assert json.loads(api.get(invoice["links"]["documents"]["canonical"]).data)["number"] == "RX-OK-1"

    with database.session() as session:
        kinds = session.scalars(select(ArchiveEntry.kind).where(ArchiveEntry.invoice_id == body["invoice"]["id"])).all()
        assert sorted(kinds) == ["canonical", "input", "status", "status-message", "ubl"]
        assert session.scalar(select(func.count()).select_from(Delivery).where(Delivery.invoice_id == body["invoice"]["id"])) == 0  # never routed
    tree, cdar = read_cdar(status_message(database, body["invoice"]["id"]))  # what the issuer's platform receives
    assert (cdar.change.code, cdar.invoice.number, cdar.invoice.seller_siren) == ("202", "RX-OK-1", "732829320")
    assert [f for f in validate_cdar(tree) if f.severity == "fatal"] == []

    sender.send_due(database)
    [got] = [g for g in receiver.received if json.loads(g.body)["data"]["invoice"]["id"] == body["invoice"]["id"]]
    assert verify(secret, got.body, got.headers[signing.HEADER])
    event = json.loads(got.body)
    assert (event["event"], event["data"]["reception"]["id"], event["data"]["reception"]["status"]) == ("invoice.received", body["id"], "202")

    [entry] = inbox(api)
    documented(entry)
    assert entry["id"] == body["id"] and entry["invoice"]["links"]["documents"]["ubl"].endswith("/documents/ubl")
    acked = api.post(entry["links"]["ack"])
    assert acked.status_code == 200 and acked.get_json()["acknowledged_by"] == api.key[:11]
    assert inbox(api) == []
    again = api.post(entry["links"]["ack"]).get_json()
    assert again["acknowledged_at"] == acked.get_json()["acknowledged_at"]  # idempotent
    assert [e["id"] for e in inbox(api, all="true")] == [body["id"]]


def test_an_invalid_invoice_is_rejected_213_with_its_rule_ids(api, database):
    body = received(api, wrong_total("RX-BAD-1"))
    assert body["status"] == "213" and body["invoice"]["state"] == "rejected" and body["invoice"]["status"] == "213"
    assert {(r["code"], r["rule_id"]) for r in body["reasons"]} >= {("REJ_SEMAN", "BR-CO-16")}
    invoice = api.get(body["links"]["self"]).get_json()
    [event] = invoice["events"]
    assert (event["code"], event["detail"]["reason_code"]) == ("213", "REJ_SEMAN") and "BR-CO-16" in event["detail"]["comment"]
    tree, cdar = read_cdar(status_message(database, body["invoice"]["id"]))
    assert (cdar.change.code, cdar.change.reason_code) == ("213", "REJ_SEMAN")
    assert [f for f in validate_cdar(tree) if f.severity == "fatal"] == []
    assert [e["status"] for e in inbox(api, status="213")] == ["213"] and inbox(api, status="202") == []
    statuses = api.get(f"/api/v1/invoices/{body['invoice']['id']}/statuses").get_json()
    assert [d["status"] for d in statuses["deadlines"]] == ["213"]  # our 213 is a mandatory status to report to the PPF


def test_a_duplicate_is_rejected_doublon_naming_the_first_which_stays_received(api, other_api):
    first = received(api, numbered("ubl", "RX-DUP-1"))
    second = received(api, numbered("ubl", "RX-DUP-1"))
    assert second["status"] == "213" and second["duplicate_of"] == first["invoice"]["id"]
    assert [r["code"] for r in second["reasons"]] == ["DOUBLON"] and first["invoice"]["id"] in second["reasons"][0]["message"]
    assert api.get(first["links"]["self"]).get_json()["status"] == "202"  # the original is not marked rejected
    event = api.get(second["links"]["self"]).get_json()["events"][0]
    assert (event["code"], event["detail"]["reason_code"]) == ("213", "DOUBLON")
    # the same invoice in another syntax is the same invoice; another tenant has its own invoices
    cii = received(api, numbered("cii", "RX-DUP-1"))
    assert (cii["status"], cii["duplicate_of"]) == ("213", first["invoice"]["id"])
    assert received(other_api, numbered("ubl", "RX-DUP-1"))["status"] == "202"
    # the tenant's own outgoing invoices share the rule: same seller SIREN, number and year
    outgoing = submit_outgoing(api, "RX-DUP-2")
    assert received(api, numbered("ubl", "RX-DUP-2"))["duplicate_of"] == outgoing


@pytest.mark.parametrize(("kind", "content_type", "syntax", "documents"), [
    ("facturx", "application/pdf", "facturx", {"input", "cii", "facturx", "canonical"}),
    ("cii", "text/xml", "cii", {"input", "cii", "canonical"}),
])  # fmt: skip
def test_factur_x_and_cii_are_received_too(api, kind, content_type, syntax, documents):
    body = received(api, document(kind), content_type)
    assert (body["status"], body["invoice"]["syntax"], body["invoice"]["number"]) == ("202", syntax, "F2026-000142")
    assert set(body["invoice"]["links"]["documents"]) == documents


BILLION_LAUGHS = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><Invoice>&b;</Invoice>'


@pytest.mark.parametrize(("data", "status", "code"), [
    (b"hello, this is no invoice", 415, "unsupported_document"),
    (BILLION_LAUGHS, 400, "unsafe_document"),
    (b"<Invoice><unclosed></Invoice>", 400, "malformed_document"),
    (b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>', 415, "unsupported_document"),
])  # fmt: skip
def test_unreadable_and_hostile_bodies_are_kept_and_refused_nothing_half_written(api, database, data, status, code):
    response = inbound(api, data)
    assert response.status_code == status, response.get_json()
    problem = response.get_json()
    assert (response.mimetype, problem["code"]) == ("application/problem+json", code)
    reception_id = problem["reception_id"]
    assert reception_id in problem["detail"]
    with database.session() as session:
        reception = session.get(Reception, reception_id)
        assert (reception.outcome, reception.invoice_id, reception.channel) == ("unreadable", None, "api")
        assert database.blobs.get(reception.document_sha256) == data  # kept, byte for byte
        tenant_id = reception.tenant_id
        assert session.scalar(select(func.count()).select_from(db.Invoice).where(db.Invoice.tenant_id == tenant_id)) == 0
    assert inbox(api, all="true") == []


def test_a_body_that_is_not_a_document_type_is_refused_before_anything(api, database):
    response = inbound(api, b'{"number": "x"}', "application/json")
    assert response.status_code == 415
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Reception).where(Reception.origin == api.key[:11])) == 0


def test_a_retry_with_the_same_idempotency_key_is_answered_as_before_not_as_a_duplicate(api):
    first = inbound(api, numbered("ubl", "RX-IDEM-1"), **{"Idempotency-Key": "rx-idem-1"})
    retry = inbound(api, numbered("ubl", "RX-IDEM-1"), **{"Idempotency-Key": "rx-idem-1"})
    assert first.status_code == retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json() == first.get_json() and retry.get_json()["status"] == "202"
    assert len(inbox(api)) == 1


def test_the_inbox_pages_oldest_first_acknowledges_in_batch_and_keeps_to_its_tenant(api, other_api):
    ids = [received(api, numbered("ubl", f"RX-PAGE-{i}"))["id"] for i in range(5)]
    page = api.get("/api/v1/inbox", query_string={"limit": 2}).get_json()
    assert [e["id"] for e in page["items"]] == ids[:2]
    assert api.post("/api/v1/inbox/ack", json={"ids": ids[:2]}).status_code == 200  # acknowledged while paging: nothing skipped
    following = api.get(page["next"]).get_json()
    assert [e["id"] for e in following["items"]] == ids[2:4]
    assert [e["id"] for e in inbox(api)] == ids[2:]

    assert inbox(other_api) == []
    assert other_api.post(f"/api/v1/inbox/{ids[2]}/ack").status_code == 404
    refused = api.post("/api/v1/inbox/ack", json={"ids": [ids[2], "00000000-0000-0000-0000-000000000000"]})
    assert refused.status_code == 404 and [e["id"] for e in inbox(api)] == ids[2:]  # all or none
    assert api.post("/api/v1/inbox/ack", json={"ids": []}).status_code == 400
    assert api.get("/api/v1/inbox", query_string={"limit": 0}).status_code == 400
    assert api.get("/api/v1/inbox", query_string={"status": "200"}).status_code == 400


def test_received_invoices_are_listed_with_the_outgoing_ones(api):
    outgoing = submit_outgoing(api, "RX-LIST-1")
    incoming = received(api, numbered("ubl", "RX-LIST-2"))["invoice"]["id"]
    items = api.get("/api/v1/invoices").get_json()["items"]
    assert {(i["id"], i["direction"]) for i in items} == {(outgoing, "outgoing"), (incoming, "incoming")}


@pytest.mark.parametrize(
    ("code", "reason_code", "comment"),
    [("204", None, None), ("205", None, None), ("207", "TX_TVA_ERR", None), ("210", "DOUBLON", "Already received as RX-BY-0.")],
)
def test_the_buyers_decision_on_a_received_invoice_makes_a_cdar_the_official_artefacts_accept(api, database, code, reason_code, comment):
    """What the seller's platform is to receive when the tenant, as buyer, decides (issued by the buyer, by its SIREN)."""
    number = f"RX-BY-{code}"
    body = received(api, numbered("ubl", number))
    with database.session() as session:
        row = session.get_one(db.Invoice, body["invoice"]["id"])
        canonical = invoice_from_json(json.loads(database.blobs.get(next(d.sha256 for d in row.documents if d.kind == "canonical"))))
        change = StatusChange(code, datetime.now(UTC), codes.BUYER, reason_code=reason_code, comment=comment)
        message = cdar_of(canonical, row, change)
        assert message is not None and row.buyer_siren
        tree, cdar = read_cdar(message)
        assert [f for f in validate_cdar(tree) if f.severity == "fatal"] == []
        assert (cdar.issuer.role, cdar.issuer.siren, cdar.change.code, cdar.change.reason_code) == (codes.BUYER, row.buyer_siren, code, reason_code)
        assert (cdar.invoice.number, cdar.invoice.seller_siren) == (number, row.seller_siren)
        assert [r.role for r in cdar.recipients] == ([codes.SELLER, codes.PPF] if codes.status(code).mandatory else [codes.SELLER])
        row.buyer_siren = None  # a buyer without SIREN cannot issue it
        assert cdar_of(canonical, row, change) is None
        session.rollback()  # the stored invoice keeps its buyer SIREN

"""GET/POST /api/v1/invoices/{id}/statuses on SQLite and PostgreSQL: the timeline, who may set what, the reform's rules."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from gateway.api import statuses
from gateway.api.openapi import openapi_document
from gateway.lifecycle import codes, service
from gateway.lifecycle.events import StatusChange
from gateway.store import models as db
from tests.lifecycle.helpers import incoming_invoice, submit_outgoing

COLLECTED = [{"amount": "1000.00", "vat_rate": "20.00", "date": "2026-11-22"}, {"amount": "50.00", "vat_rate": "5.50"}]
REFUSAL = {"code": "210", "reason_code": "TX_TVA_ERR", "comment": "Le taux réduit ne s'applique pas.", "action_code": "NIN"}


def _schema(schema: dict) -> jsonschema.Draft202012Validator:
    document = {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": openapi_document()["components"], **schema}
    return jsonschema.Draft202012Validator(document, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _timeline(api, invoice_id: str) -> dict:
    response = api.get(f"/api/v1/invoices/{invoice_id}/statuses")
    assert response.status_code == 200
    body = response.get_json()
    _schema(statuses.TIMELINE_SCHEMA).validate(body)
    return body


def _post(api, invoice_id: str, body: dict, **headers: str):
    return api.post(f"/api/v1/invoices/{invoice_id}/statuses", json=body, headers=headers)


def _recorded(response, code: str) -> dict:
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    _schema(statuses.RECORDED_SCHEMA).validate(body)
    assert body["code"] == code and body["applied"] and response.headers["Location"] == body["links"]["self"]
    return body


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_json()
    problem = response.get_json()
    assert (response.mimetype, problem["code"]) == ("application/problem+json", code)
    return problem


def _delivered(database, archive, invoice_id: str) -> None:
    """The gateway issues the invoice to the buyer's side (201), as a delivery does."""
    with database.session() as session:
        change = StatusChange("201", datetime.now(UTC), codes.PLATFORM)
        service.record(session, archive, session.get(db.Invoice, invoice_id), change, source=service.SOURCE_GATEWAY, actor="gateway:delivery")


def test_the_seller_sets_its_statuses_and_no_other(api, database, archive):
    invoice_id = submit_outgoing(api)
    timeline = _timeline(api, invoice_id)
    [deposited] = timeline["events"]
    assert (deposited["code"], deposited["role"], deposited["actor"], deposited["applied"], deposited["mandatory"]) == (
        "200",
        "WK",
        "gateway",
        True,
        True,
    )
    assert {(d["kind"], d["status"], d["late"]) for d in timeline["deadlines"]} == {("F1", "200", False), ("F6", "200", False)}

    error = _error(_post(api, invoice_id, {"code": "205"}), 403, "forbidden")
    assert "set by the buyer" in error["detail"] and "you are the seller" in error["detail"]
    _error(_post(api, invoice_id, REFUSAL), 403, "forbidden")
    assert "209 Complétée cannot follow 200 Déposée" in _error(_post(api, invoice_id, {"code": "209"}), 409, "illegal_transition")["detail"]
    assert "212 Encaissée needs the amount collected" in _error(_post(api, invoice_id, {"code": "212"}), 422, "status_refused")["detail"]
    for code, body in (("212", {"code": "212", "amounts": COLLECTED}), ("211", {"code": "211", "amounts": [{"amount": "50.00"}]})):
        error = _error(_post(api, invoice_id, body), 409, "illegal_transition")  # not delivered yet: nothing was paid for it
        assert f"{codes.label(code)} needs an invoice that was delivered (201 Émise par la plateforme or later)" in error["detail"]
    assert [e["code"] for e in _timeline(api, invoice_id)["events"]] == ["200"]

    _delivered(database, archive, invoice_id)
    collected = _recorded(_post(api, invoice_id, {"code": "212", "amounts": COLLECTED}), "212")
    assert collected["status"] == "212" and collected["role"] == "SE" and collected["mandatory"]
    assert collected["amounts"] == [
        {"type": "MEN", "amount": "1000.00", "currency": "EUR", "vat_rate": "20.00", "date": "2026-11-22"},
        {"type": "MEN", "amount": "50.00", "currency": "EUR", "vat_rate": "5.50", "date": None},
    ]
    assert collected["message"]["content_type"] == "application/json" and len(collected["message"]["sha256"]) == 64
    _recorded(_post(api, invoice_id, {"code": "212", "amounts": COLLECTED[:1]}), "212")  # a second partial collection
    _recorded(_post(api, invoice_id, {"code": "211", "amounts": [{"amount": "50.00"}]}), "211")  # the seller's refund

    timeline = _timeline(api, invoice_id)
    assert [e["code"] for e in timeline["events"]] == ["200", "201", "212", "212", "211"]
    assert timeline["status"] == "211" and api.get(f"/api/v1/invoices/{invoice_id}").get_json()["status"] == "211"
    assert sorted((d["kind"], d["status"]) for d in timeline["deadlines"]) == [("F1", "200"), ("F6", "200"), ("F6", "212"), ("F6", "212")]


def test_amounts_collected_are_checked_against_the_invoice_and_what_is_still_due_is_shown(api, database, archive):
    invoice_id = submit_outgoing(api)  # the French example: 14,895.00 at 20 %, 52.54 at 5.5 %, 14,947.54 due
    _delivered(database, archive, invoice_id)
    assert _timeline(api, invoice_id)["payment"] == {
        "currency": "EUR",
        "due": "14947.54",
        "collected": "0.00",
        "still_due": "14947.54",
        "by_vat_rate": [
            {"vat_rate": "20", "due": "14895.00", "collected": "0.00", "still_due": "14895.00"},
            {"vat_rate": "5.5", "due": "52.54", "collected": "0.00", "still_due": "52.54"},
        ],
    }
    error = _error(_post(api, invoice_id, {"code": "212", "amounts": [{"amount": "100.00", "vat_rate": "10"}]}), 422, "status_refused")
    assert "the invoice has no VAT rate 10 % (its rates: 20 %, 5.5 %)" in error["detail"]
    error = _error(_post(api, invoice_id, {"code": "212", "amounts": [{"amount": "52.55", "vat_rate": "5.50"}]}), 422, "status_refused")
    assert "above the 52.54 the invoice asks for (still due: 52.54)" in error["detail"]
    _recorded(_post(api, invoice_id, {"code": "212", "amounts": [{"amount": "10000.00", "vat_rate": "20.00"}]}), "212")
    error = _error(_post(api, invoice_id, {"code": "212", "amounts": [{"amount": "4895.01", "vat_rate": "20"}]}), 422, "status_refused")
    assert (
        "would bring the amount collected at that rate to 14895.01, above the 14895.00 the invoice asks for (still due: 4895.00)" in error["detail"]
    )
    _recorded(
        _post(api, invoice_id, {"code": "212", "amounts": [{"amount": "4895.00", "vat_rate": "20"}, {"amount": "2.54", "vat_rate": "5.5"}]}), "212"
    )

    timeline = _timeline(api, invoice_id)
    assert [(e["code"], e["applied"]) for e in timeline["events"]] == [
        ("200", True),
        ("201", True),
        ("212", True),
        ("212", True),
    ]  # refusals: nothing recorded
    payment = timeline["payment"]
    assert (payment["collected"], payment["still_due"]) == ("14897.54", "50.00")
    assert [(r["vat_rate"], r["still_due"]) for r in payment["by_vat_rate"]] == [("20", "0.00"), ("5.5", "50.00")]
    _error(_post(api, invoice_id, {"code": "212", "amounts": [{"amount": "0.01", "vat_rate": "20"}]}), 422, "status_refused")


def test_the_buyer_approves_suspends_and_refuses_then_the_life_ends(api, database):
    invoice_id = incoming_invoice(database, api)
    _recorded(_post(api, invoice_id, {"code": "205"}), "205")
    assert "needs a comment" in _error(_post(api, invoice_id, {"code": "208", "reason_code": "JUSTIF_ABS"}), 422, "status_refused")["detail"]
    _recorded(_post(api, invoice_id, {"code": "208", "reason_code": "JUSTIF_ABS", "comment": "Bon de livraison manquant."}), "208")
    _error(_post(api, invoice_id, {"code": "209"}), 403, "forbidden")  # the seller answers a suspension
    error = _error(_post(api, invoice_id, {**REFUSAL, "reason_code": "JUSTIF_ABS"}), 422, "status_refused")
    assert "reason JUSTIF_ABS is not allowed for 210 Refusée" in error["detail"]
    refused = _recorded(_post(api, invoice_id, REFUSAL), "210")
    assert (refused["reason_code"], refused["comment"], refused["action_code"], refused["status"]) == ("TX_TVA_ERR", REFUSAL["comment"], "NIN", "210")
    error = _error(_post(api, invoice_id, {"code": "205"}), 409, "illegal_transition")
    assert "the invoice's life ended with 210 Refusée" in error["detail"]

    timeline = _timeline(api, invoice_id)
    assert [(e["code"], e["role"], e["applied"]) for e in timeline["events"]] == [
        ("202", "WK", True),
        ("205", "BY", True),
        ("208", "BY", True),
        ("210", "BY", True),
    ]
    assert [(d["kind"], d["status"]) for d in timeline["deadlines"]] == [("F6", "210")]  # the buyer's platform reports the refusal
    assert timeline["invoice"]["direction"] == "incoming" and timeline["status_label"] == "Refusée"


def test_invoices_of_another_tenant_are_not_found(api, other_api):
    invoice_id = submit_outgoing(api)
    _error(other_api.get(f"/api/v1/invoices/{invoice_id}/statuses"), 404, "not_found")
    _error(other_api.post(f"/api/v1/invoices/{invoice_id}/statuses", json={"code": "212", "amounts": COLLECTED}), 404, "not_found")
    _error(api.get("/api/v1/invoices/not-a-uuid/statuses"), 404, "not_found")
    assert api.client.get(f"/api/v1/invoices/{invoice_id}/statuses").status_code == 401


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"code": "213"}, "/code"),
        ({}, "/code"),
        ({"code": "205", "colour": "red"}, "/colour"),
        ({"code": "212", "amounts": [{"amount": 12.5, "vat_rate": "20"}]}, "/amounts/0/amount"),
        ({"code": "212", "amounts": [{"amount": "1e3", "vat_rate": "20"}]}, "/amounts/0/amount"),
        ({"code": "205", "time": "yesterday"}, "/time"),
        ({"code": "205", "time": "2026-11-20T10:00:00"}, "/time"),
        ({"code": "205", "time": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}, "/time"),
        ({"code": "205", "comment": "bell \x07"}, "/comment"),
        ({"code": "210", "reason_code": "NOPE", "comment": "x"}, "/reason_code"),
    ],
)
def test_malformed_statuses_are_422_with_pointers(api, database, body, pointer):
    invoice_id = incoming_invoice(database, api)
    error = _error(_post(api, invoice_id, body), 422, "invalid_status")
    assert pointer in [d["pointer"] for d in error["errors"]]
    assert [e["code"] for e in _timeline(api, invoice_id)["events"]] == ["202"]


def test_bodies_that_are_not_json(api, database):
    invoice_id = incoming_invoice(database, api)
    _error(api.post(f"/api/v1/invoices/{invoice_id}/statuses", data=b"<x/>", content_type="application/xml"), 415, "unsupported_media_type")
    _error(api.post(f"/api/v1/invoices/{invoice_id}/statuses", data=b"{", content_type="application/json"), 400, "malformed_json")


def test_a_status_time_may_be_given(api, database):
    invoice_id = incoming_invoice(database, api)
    body = _recorded(_post(api, invoice_id, {"code": "205", "time": "2026-11-20T16:15:00+01:00"}), "205")
    assert body["time"] == "2026-11-20T15:15:00+00:00"


def test_a_retry_with_the_same_key_records_once(api, database):
    invoice_id = incoming_invoice(database, api)
    first = _post(api, invoice_id, {"code": "205"}, **{"Idempotency-Key": "approve-1"})
    again = _post(api, invoice_id, {"code": "205"}, **{"Idempotency-Key": "approve-1"})
    assert first.status_code == again.status_code == 201 and first.get_data() == again.get_data()
    assert again.headers["Idempotent-Replayed"] == "true" and again.headers["Location"] == first.headers["Location"]
    assert [e["code"] for e in _timeline(api, invoice_id)["events"]] == ["202", "205"]


def test_an_invoice_rejected_at_intake_has_no_lifecycle(api, database):
    invoice_id = incoming_invoice(database, api, state=db.STATE_REJECTED)
    _error(_post(api, invoice_id, {"code": "205"}), 409, "not_in_lifecycle")


def test_openapi_documents_the_routes(app):
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("statuses."):
            routes.setdefault(re.sub(r"<(?:[^>]*:)?([^>:]+)>", r"{\1}", rule.rule), set()).update(rule.methods - {"HEAD", "OPTIONS"})
    assert routes == {path: {m.upper() for m in item} for path, item in statuses.OPENAPI_PATHS.items()}
    document = {**openapi_document(), "paths": {**openapi_document()["paths"], **statuses.OPENAPI_PATHS}}
    pytest.importorskip("openapi_spec_validator").validate(document)

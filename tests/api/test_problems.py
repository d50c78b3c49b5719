"""Every 4xx/5xx of the API is an RFC 9457 problem (application/problem+json), its type served by the gateway.

Before, errors were `{"error": {"code", "message", "details"}}` as `application/json`.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from gateway import intake
from gateway.api import problems
from gateway.api.errors import RETRY_AFTER_SECONDS
from gateway.store.models import IdempotencyRecord
from tests.api.conftest import Api
from tests.conftest import load_example

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = json.dumps(load_example("invoice-fr-b2b")).encode()


def assert_problem(response, status: int, code: str, documented) -> dict:
    """The answer is the problem `code`: standard members as RFC 9457 says, the request's path and id, the type's title."""
    assert (response.status_code, response.mimetype) == (status, "application/problem+json"), response.get_data(as_text=True)[:300]
    body = response.get_json()
    documented("Problem", body)
    assert (body["type"], body["title"], body["status"], body["code"]) == (f"/api/problems/{code}", problems.TYPES[code].title, status, code)
    assert body["instance"] == response.request.path and body["request_id"] == response.headers["X-Request-Id"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("get", "/api/v1/nowhere", {}, 404, "not_found"),
        ("get", "/api/v1/invoices/00000000-0000-0000-0000-000000000000", {}, 404, "not_found"),
        ("get", "/api/v1/invoices?page=x", {}, 400, "bad_request"),
        ("post", "/api/v1/invoices", {"data": b"{", "content_type": "application/json"}, 400, "malformed_json"),
        ("post", "/api/v1/invoices", {"data": b"hello", "content_type": "text/plain"}, 415, "unsupported_media_type"),
        (
            "post",
            "/api/v1/validate",
            {"data": b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", "content_type": "application/xml"},
            400,
            "unsafe_document",
        ),
        ("post", "/api/v1/invoices", {"data": b"{}", "content_type": "application/json"}, 422, "invalid_invoice"),
        ("post", "/api/v1/invoices?profile=gold", {"data": EXAMPLE, "content_type": "application/json"}, 400, "unknown_profile"),
        ("post", "/api/v1/webhooks", {"json": {"url": "ftp://x", "events": []}}, 422, "invalid_subscription"),
    ],
)
def test_error_answers_are_problems(api, documented, method, path, kwargs, status, code):
    assert_problem(getattr(api, method)(path, **kwargs), status, code, documented)


def test_field_errors_point_into_the_body_and_the_query(api, documented):
    body = assert_problem(api.post("/api/v1/invoices", data=b"{}", content_type="application/json"), 422, "invalid_invoice", documented)
    assert "/number" in [error["pointer"] for error in body["errors"]] and all(error["detail"] for error in body["errors"])
    body = assert_problem(api.get("/api/v1/invoices?per_page=500"), 400, "bad_request", documented)
    assert body["errors"] == [{"pointer": "?per_page", "detail": "out of range"}]


def test_http_headers_stay_with_the_problem(app, api, documented):
    anonymous = app.test_client().get("/api/v1/invoices")
    assert_problem(anonymous, 401, "unauthorized", documented)
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = api.client.delete("/api/v1/invoices")
    assert_problem(wrong, 405, "method_not_allowed", documented)
    assert {"GET", "POST"} <= set(wrong.headers["Allow"].split(", "))


def test_a_duplicate_names_the_existing_invoice(api, documented):
    first = api.post("/api/v1/invoices", data=EXAMPLE, content_type="application/json")
    body = assert_problem(api.post("/api/v1/invoices", data=EXAMPLE, content_type="application/json"), 409, "duplicate_invoice", documented)
    assert body["existing_invoice"] == first.get_json()["id"] and body["errors"][0]["pointer"] == "/number"


def test_a_rejected_invoices_document_lists_its_fatal_findings(api, documented):
    data = load_example("invoice-fr-b2b") | {"totals": {"tax_inclusive_amount": "15000.00"}}
    rejected = api.post("/api/v1/invoices", json=data).get_json()
    response = api.get(f"/api/v1/invoices/{rejected['id']}/documents/ubl")
    body = assert_problem(response, 409, "invoice_rejected", documented)
    fatal = [f for f in rejected["report"]["findings"] if f["severity"] == "fatal"]
    assert body["findings"] == fatal and fatal and body["errors"] == []
    # One wrong total is one problem for people, however many artefacts and syntaxes raised it.
    assert [(g["rule_id"], g["location"]) for g in body["groups"]] == [("BR-CO-15", "/totals")]
    assert body["groups"][0]["count"] == len(fatal) and {"cii", "ubl"} <= set(body["groups"][0]["syntaxes"])
    assert "(1 problem(s), " in body["detail"]


def test_an_unreadable_received_document_names_its_reception(api, documented):
    body = assert_problem(api.post("/api/v1/inbound", data=b"<Order/>", content_type="application/xml"), 415, "unsupported_document", documented)
    assert body["reception_id"] in body["detail"]


def test_a_bug_is_a_500_problem_that_reveals_nothing(api, documented, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(intake, "validate_json", broken)
    response = api.post("/api/v1/validate", data=EXAMPLE, content_type="application/json")
    body = assert_problem(response, 500, "internal_error", documented)
    assert "secret" not in response.get_data(as_text=True) and body["errors"] == []


def test_an_unavailable_database_is_a_503_problem_with_retry_after(api, documented, monkeypatch):
    def gone(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, ConnectionError("server closed the connection"))

    monkeypatch.setattr(intake, "validate_json", gone)
    response = api.post("/api/v1/validate", data=EXAMPLE, content_type="application/json")
    assert_problem(response, 503, "database_unavailable", documented)
    assert response.headers["Retry-After"] == RETRY_AFTER_SECONDS


def test_a_replayed_error_is_still_a_problem(api, app):
    headers = {"Idempotency-Key": "problem-replay"}
    first = api.post("/api/v1/invoices", data=b"{}", content_type="application/json", headers=headers)
    again = api.post("/api/v1/invoices", data=b"{}", content_type="application/json", headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (again.status_code, again.mimetype, again.data) == (422, "application/problem+json", first.data)


def test_an_error_stored_before_problem_details_is_replayed_as_it_was(api, app):
    """An Idempotency-Key answered with the earlier error shape keeps its JSON type: the body and its type stay together."""
    headers = {"Idempotency-Key": "before-problems"}
    first = api.post("/api/v1/invoices", data=b"{}", content_type="application/json", headers=headers)
    old = '{"error":{"code":"invalid_invoice","message":"The invoice does not match the intake format.","details":[]}}'
    with app.extensions["gateway.database"].session() as session:
        record = session.query(IdempotencyRecord).filter_by(key="before-problems").one()
        record.response_body = old
    again = api.post("/api/v1/invoices", data=b"{}", content_type="application/json", headers=headers)
    assert first.status_code == 422 and (again.status_code, again.mimetype, again.get_data(as_text=True)) == (422, "application/json", old)


def test_pages_outside_the_api_keep_flasks_error_pages(app):
    response = app.test_client().get("/nowhere")
    assert response.status_code == 404 and response.mimetype == "text/html"


# ---------------------------------------------------------------------------- the catalogue of problem types


def test_every_type_is_served_where_its_uri_points(app, documented):
    client = app.test_client()
    listed = client.get("/api/problems").get_json()["items"]
    assert [item["code"] for item in listed] == list(problems.TYPES)
    for item in listed:
        served = client.get(item["type"])
        assert served.status_code == 200 and served.get_json() == item
        documented("ProblemType", item)
    assert_problem(client.get("/api/problems/no_such_thing"), 404, "not_found", documented)


def _raised_codes() -> set[tuple[int, str]]:
    """(status, code) of every error the code base raises: InputError subclasses' attributes, ApiError(…) and handler calls."""
    found: set[tuple[int, str]] = set()
    for path in (ROOT / "gateway").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                values = {
                    t.id: a.value.value for a in node.body if isinstance(a, ast.Assign) and isinstance(a.value, ast.Constant) for t in a.targets
                }
                if isinstance(values.get("status"), int) and isinstance(values.get("code"), str):
                    found.add((values["status"], values["code"]))
            elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("ApiError", "error_response"):
                status, code = node.args[0], node.args[1]
                if isinstance(status, ast.Constant) and isinstance(code, ast.Constant):
                    found.add((status.value, code.value))
            elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_unavailable":
                status = node.args[2].value if len(node.args) > 2 else 503
                found.add((status, node.args[0].value))
    return found


def test_every_code_the_gateway_answers_is_in_the_catalogue_with_its_status():
    raised = _raised_codes()
    assert len(raised) >= 30  # the scan found the code base's errors, not nothing
    werkzeug = {(404, "not_found"), (405, "method_not_allowed"), (413, "too_large"), (400, "bad_request"), (415, "unsupported_media_type")}
    assert {(problems.TYPES[code].status if code in problems.TYPES else None, code) for _, code in raised | werkzeug} == raised | werkzeug


def test_an_uncatalogued_http_error_is_about_blank_with_the_reason_phrase(app):
    with app.test_request_context("/api/v1/invoices"):
        body = problems.problem(416, "requested_range_not_satisfiable", "No.")
    assert (body["type"], body["title"], body["status"]) == ("about:blank", "Requested Range Not Satisfiable", 416)


def test_every_documented_error_response_is_a_problem():
    """The OpenAPI document declares each 4xx/5xx as application/problem+json with the Problem schema (NotReady for /readyz)."""
    from gateway.api.openapi import openapi_document

    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], (method, path, status)
                    assert response["content"]["application/problem+json"]["schema"]["$ref"].rsplit("/", 1)[1] in ("Problem", "NotReady")


def test_a_client_can_switch_on_code_whatever_the_api(api: Api, documented):
    """The same members on every blueprint: intake, statuses, deliveries, webhooks, inbox, signatures, archive."""
    for path in ("/api/v1/invoices/x/statuses", "/api/v1/deliveries/x/retry", "/api/v1/webhooks/deliveries/x/replay", "/api/v1/inbox/x/ack"):
        assert_problem(api.post(path, json={}), 404, "not_found", documented)
    assert_problem(api.post("/api/v1/signatures/verify", data=b"x", content_type="text/plain"), 415, "unsupported_document", documented)

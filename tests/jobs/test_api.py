"""The delivery API: the route explanation, the dead letters, the admin retry; answers checked against the OpenAPI schemas."""

from __future__ import annotations

import jsonschema
import pytest

from gateway import intake
from gateway.api.delivery import DELIVERY_LIST_SCHEMA, DELIVERY_SCHEMA, ROUTE_SCHEMA
from gateway.app import create_app
from gateway.store import models as db
from gateway.store.tenants import tenant_for_key
from gateway.validation.report import Finding
from tests.api.conftest import Api, new_tenant_key
from tests.jobs import helpers

pytestmark = pytest.mark.timeout(60)


def check(schema: dict, body: dict) -> dict:
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER).validate(body)
    return body


@pytest.fixture(scope="module")
def app(setup):
    app = create_app(setup.config)
    yield app
    app.extensions["gateway.database"].dispose()


@pytest.fixture
def api(app) -> Api:
    return Api(app, new_tenant_key(app))


def tenant_of(setup, api: Api) -> db.Tenant:
    with setup.database.session() as session:
        return tenant_for_key(session, api.key)


def test_route_explains_the_decision_and_the_delivery(setup, api):
    [invoice_id] = helpers.submit(setup.database, setup.archive, tenant_of(setup, api), 1)
    pending = check(ROUTE_SCHEMA, api.get(f"/api/v1/invoices/{invoice_id}/route").get_json())
    assert (pending["state"], pending["channel"], pending["delivery"]["attempts"]) == ("pending", None, [])
    assert pending["reason"].startswith("Not routed yet")
    setup.drain(setup.deliverer())
    route = check(ROUTE_SCHEMA, api.get(f"/api/v1/invoices/{invoice_id}/route").get_json())
    assert (route["state"], route["channel"], route["decided_by"]) == ("sent", "chorus_pro", "rule")
    assert route["reason"] == "routing rule #1: buyer = 35600000000048 → chorus_pro"
    assert (route["sandbox"], route["delivery"]["sandbox"], route["delivery"]["reason"]) == (False, False, None)  # sent: nothing to do
    assert [(s["step"], s["outcome"]) for s in route["steps"]] == [("rule", "decided")]
    [attempt] = route["delivery"]["attempts"]
    assert (attempt["outcome"], attempt["remote_id"]) == ("sent", route["delivery"]["remote_id"])


def test_unroutable_dead_letters_are_listed_and_retried_by_the_tenant_only(setup, api, app):
    tenant = tenant_of(setup, api)
    [lost] = helpers.submit(setup.database, setup.archive, tenant, 1, {**helpers.PRIVATE_BUYER, "contact": None})
    [refused] = helpers.submit(setup.database, setup.archive, tenant, 1, helpers.PRIVATE_BUYER)
    setup.net.smtp.reject.add("compta@menuiserie-leroux.example")
    try:
        setup.drain(setup.deliverer())
    finally:
        setup.net.smtp.reject.clear()

    route = check(ROUTE_SCHEMA, api.get(f"/api/v1/invoices/{lost}/route").get_json())
    assert (route["state"], route["channel"], route["decided_by"]) == ("unroutable", None, None)
    assert {s["outcome"] for s in route["steps"]} <= {"no-match", "skipped", "not-found"} and len(route["steps"]) == 8
    assert "the buyer has no e-mail address" in " ".join(s["detail"] for s in route["steps"])
    assert route["steps"][-1]["detail"] == "the tenant has a delivery channel configured (chorus_pro, email): the sandbox is used only until one is"
    assert route["sandbox"] is False and route["reason"] == route["delivery"]["reason"] == (
        "No channel reaches the buyer Menuiserie Leroux SARL (SIRET 44306184100047): give the buyer an electronic address (BT-49) or a "
        "contact e-mail (BT-58) in the invoice; or add the buyer to the directory (gateway directory import) or give it a routing rule in "
        "config/routing.toml, then retry the delivery."
    )

    dead = check(DELIVERY_LIST_SCHEMA, api.get("/api/v1/deliveries").get_json())  # default: the dead letters
    assert [d["invoice_id"] for d in dead["items"]] == [refused] and "550" in dead["items"][0]["last_error"]
    assert dead["items"][0]["reason"] == (
        f"{dead['items'][0]['last_error']} — what to do: check the buyer's identifiers in the invoice and in its directory entry, or route "
        "the buyer to another channel (gateway directory import), then retry the delivery"
    )
    unroutable = check(DELIVERY_LIST_SCHEMA, api.get("/api/v1/deliveries?state=unroutable").get_json())
    assert [d["invoice_id"] for d in unroutable["items"]] == [lost] and unroutable["items"][0]["reason"].startswith("No channel reaches")

    delivery_id = dead["items"][0]["id"]
    other = Api(app, new_tenant_key(app))
    assert other.post(f"/api/v1/deliveries/{delivery_id}/retry").status_code == 404
    assert other.get(f"/api/v1/invoices/{refused}/route").status_code == 404
    retried = api.post(f"/api/v1/deliveries/{delivery_id}/retry")
    assert retried.status_code == 200 and check(DELIVERY_SCHEMA, retried.get_json())["state"] == "pending"
    again = api.post(f"/api/v1/deliveries/{delivery_id}/retry")
    assert again.status_code == 409 and again.get_json()["code"] == "not_retryable"
    setup.drain(setup.deliverer())
    assert api.get(f"/api/v1/invoices/{refused}/route").get_json()["state"] == "sent"
    assert api.get("/api/v1/deliveries").get_json()["items"] == []


def test_a_rejected_invoice_is_never_routed(setup, api):
    processed = helpers.processed("F-REJ-API-1")
    processed.report.findings.append(Finding("BR-CO-15", "fatal", "totals do not add up", "TEST"))
    with setup.database.session() as session:
        row = intake.store(session, setup.archive, session.get(db.Tenant, tenant_of(setup, api).id), processed)
    route = check(ROUTE_SCHEMA, api.get(f"/api/v1/invoices/{row.id}/route").get_json())
    assert (route["state"], route["delivery"]) == ("not-routed", None) and "rejected at intake" in route["reason"]


def test_bad_parameters(api):
    assert api.get("/api/v1/deliveries?state=lost").status_code == 400
    assert api.get("/api/v1/deliveries?per_page=0").status_code == 400
    assert api.post("/api/v1/deliveries/not-a-uuid/retry").status_code == 404
    assert api.client.get("/api/v1/deliveries").status_code == 401

"""Fuzzing every GET page of the portal (signed in with each role) and every GET/POST route of the API: no 5xx, ever.

The routes are read from the application's URL map, so a new page or route is fuzzed without a change here.
Path parameters get real ids (the signed-in tenant's invoices and deliveries, another tenant's invoice, every
document kind) or random text; query parameters get the names each view reads (the portal's below, the API's
from its OpenAPI document) and random ones, with values from hostile lists, dates at the calendar's ends,
numbers and random text.  A value the page or the route cannot use must be a 400 that says so: a portal
page with its notice or error message, an API body whose message (`detail` of a problem document, or
`error.message`) is not empty.  Deterministic (derandomized) and bounded: a few hundred requests per database.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from gateway.api.openapi import openapi_document
from gateway.jobs.models import Delivery
from gateway.portal.models import ROLES
from gateway.portal.views import DOCUMENT_KINDS
from tests.api.conftest import Api, new_tenant_key
from tests.conftest import load_example
from tests.portal.conftest import World, populate, sign_in

EXAMPLES = 60  # per role on the portal, and for the API, per database
BOUNDED = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
FILTERS = ("q", "status", "direction", "from", "to", "min", "max", "sort", "order", "page")
PORTAL_PARAMETERS = {  # what each portal view reads from the query string
    "portal.dashboard": ("period", "from", "to"),
    "portal.invoices": FILTERS,
    "portal.invoices_csv": FILTERS,
    "portal.webhooks": ("state",),
    "portal.document": ("inline",),
    "portal.sign_in": ("next",),
    "portal.language": ("next",),
}
HOSTILE = [
    "", "0", "-1", "1", "00000000001", "9" * 40, "1e999", "NaN", "-Infinity", "1 234,56", "0.000000001", "asc", "desc", "7d", "12m",
    "incoming", "outgoing", "failed", "dead", "received", "amount", "0001-01-01", "9999-12-31", "2026-02-30", "1970-01-01T00:00:00Z",
    "\x00", "\r\n", "%", "%00", "'; drop table invoices; --", "<script>alert(1)</script>", "../../etc/passwd", "/portal/invoices",
    "//evil.example/", "/portal\r\nSet-Cookie: x=1", "\ud7ff\ufffe", "é" * 300, "x" * 5000,
]  # fmt: skip
TEXT = st.text(st.characters(codec="utf-8"), max_size=30)
VALUES = st.one_of(
    st.sampled_from(HOSTILE),
    TEXT,
    st.dates().map(date.isoformat),
    st.integers().map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)
GET_ONLY = {"GET"}


def _rules(app: Flask, prefix: str, methods: set[str]) -> list[tuple[Any, str]]:
    """(rule, method) for every route under `prefix` answering one of `methods` (static files aside for the API)."""
    found = []
    for rule in app.url_map.iter_rules():
        portal = rule.rule.startswith("/portal") or rule.endpoint == "portal_home"
        if portal != (prefix == "/portal") or (prefix != "/portal" and rule.endpoint == "static"):
            continue
        found += [(rule, method) for method in sorted(rule.methods & methods)]
    return found


ARGUMENT = re.compile(r"<(?:[^<>]*:)?(\w+)>")  # <name>, <int:seq>, <any(fr, en):lang>


def _url(rule: Any, values: dict[str, Any]) -> str:
    """The rule's path with each argument replaced by its value, percent-encoded (not checked by the converter: the router does)."""
    return ARGUMENT.sub(lambda match: quote(str(values[match.group(1)]), safe=""), rule.rule)


def _path_values(rule: Any, real: dict[str, list[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Each path argument: one of its real values, or random text (an integer for int converters)."""
    parts = {}
    for name in sorted(rule.arguments):
        converter = type(rule._converters[name]).__name__
        random = st.integers(min_value=0, max_value=10**30) if converter == "IntegerConverter" else TEXT.filter(bool)
        parts[name] = st.one_of(st.sampled_from(real[name]), random) if real.get(name) else random
    return st.fixed_dictionaries(parts)


def _query(names: tuple[str, ...]) -> st.SearchStrategy[dict[str, str]]:
    keys = st.one_of(st.sampled_from(names), TEXT.filter(bool)) if names else TEXT.filter(bool)
    return st.dictionaries(keys, VALUES, max_size=5)


def _requests(rules: list[tuple[Any, str]], real: dict[str, list[Any]], parameters: Callable[[Any], tuple[str, ...]]) -> Any:
    """A strategy of (method, url, query): a route, its path filled in, its query string."""
    return st.sampled_from(rules).flatmap(
        lambda pair: st.tuples(st.just(pair[1]), _path_values(pair[0], real).map(lambda v: _url(pair[0], v)), _query(parameters(pair[0])))
    )


# ---------------------------------------------------------------------------- the portal


@pytest.fixture(scope="module")
def portal(app) -> tuple[World, dict[str, FlaskClient], dict[str, list[Any]]]:
    """A portal tenant with invoices (and another tenant's), a client signed in with each role, and the real path values."""
    world = populate(app)
    clients = {}
    for role in ROLES:
        clients[role] = app.test_client()
        assert sign_in(clients[role], world.users[role]).status_code == 302
    real = {
        "invoice_id": list(world.invoices.values()),
        "kind": list(DOCUMENT_KINDS),
        "seq": [1, 2, 3],
        "lang": ["fr", "en"],
        "filename": ["portal.css", "portal.js", "favicon.svg"],
        "reminder_id": ["00000000-0000-4000-8000-000000000000"],  # no reminder: the letter page is a 404
    }
    return world, clients, real


def _check_portal(response, url: str) -> None:
    assert response.status_code < 500, (url, response.status_code)
    if response.status_code == 400:
        body = response.get_data(as_text=True)
        assert response.mimetype == "text/html" and ('role="alert"' in body or 'id="error-message"' in body), (url, body[:300])


def test_every_portal_page_answers_every_role_with_real_ids_and_no_query(app, portal):
    _world, clients, real = portal
    rules = _rules(app, "/portal", GET_ONLY)
    assert {rule.endpoint for rule, _ in rules} >= {"portal.dashboard", "portal.invoice", "portal.proof", "portal.users"}
    for role, client in clients.items():
        for rule, _method in rules:
            values = {name: real[name][0] for name in rule.arguments}
            response = client.get(_url(rule, values))
            _check_portal(response, f"{role} {rule.rule}")


@pytest.mark.parametrize("role", ROLES)
def test_portal_pages_never_fail_whatever_the_path_and_query(app, portal, role):
    _world, clients, real = portal
    client = clients[role]
    requests = _requests(_rules(app, "/portal", GET_ONLY), real, lambda rule: PORTAL_PARAMETERS.get(rule.endpoint, ()))

    @BOUNDED
    @given(request=requests)
    @example(request=("GET", "/portal/", {"from": "0001-01-01", "to": "0001-01-05"}))  # the probe's 500s
    @example(request=("GET", "/portal/", {"from": "2026-01-01", "to": "9999-12-31"}))
    @example(request=("GET", "/portal/language/en", {"next": "/portal/\r\nLocation: //evil.example"}))
    def call(request: tuple[str, str, dict[str, str]]) -> None:
        _method, url, query = request
        _check_portal(client.get(url, query_string=query), f"{url} {query!r}")

    call()


def test_a_probe_of_the_dashboard_gets_400s_that_say_why(portal):
    _world, clients, _real = portal
    today = date.today()
    for query in ({"from": "0001-01-01", "to": "0001-01-05"}, {"from": today.isoformat(), "to": "9999-12-31"}):
        response = clients["operator"].get("/portal/", query_string=query)
        assert response.status_code == 400 and 'id="period-error"' in response.get_data(as_text=True)  # in the language the fuzz left
    since = (today - timedelta(days=6)).isoformat()
    assert clients["operator"].get("/portal/", query_string={"from": since, "to": today.isoformat()}).status_code == 200


# ---------------------------------------------------------------------------- the API


@pytest.fixture(scope="module")
def api_world(app) -> tuple[Api, dict[str, list[Any]], dict[str, tuple[str, ...]]]:
    """An API client of a tenant with one invoice; the real path values; the query parameters the OpenAPI document names per path."""
    api = Api(app, new_tenant_key(app))
    data = load_example("invoice-fr-b2b") | {"number": f"FUZZ-{uuid.uuid4().hex[:10]}"}
    response = api.post("/api/v1/invoices", json=data)
    assert response.status_code == 201, response.get_json()
    invoice_id = response.get_json()["id"]
    with app.extensions["gateway.database"].session() as session:
        deliveries = list(session.scalars(select(Delivery.id).where(Delivery.invoice_id == invoice_id)))
    real = {"invoice_id": [invoice_id], "delivery_id": deliveries, "kind": ["facturx", "ubl", "cii", "input", "canonical", "nothing"]}
    documented = {
        re.sub(r"\{(\w+)\}", r"<\1>", path): tuple(p["name"] for op in ops.values() for p in op.get("parameters", []) if p.get("in") == "query")
        for path, ops in openapi_document()["paths"].items()
    }
    return api, real, documented


def _check_api(response, url: str) -> None:
    assert response.status_code < 500, (url, response.status_code, response.get_data(as_text=True)[:300])
    if response.status_code == 400:
        body = response.get_json(silent=True)
        assert isinstance(body, dict), (url, response.get_data(as_text=True)[:300])
        message = body.get("detail")  # problem details (RFC 9457)
        assert isinstance(message, str) and message.strip(), (url, body)


def test_api_routes_never_fail_whatever_the_path_and_query(app, api_world):
    api, real, documented = api_world
    rules = _rules(app, "/api", {"GET", "POST"})
    assert len(rules) >= 20
    requests = _requests(rules, real, lambda rule: documented.get(ARGUMENT.sub(r"<\1>", rule.rule), ()))

    @settings(BOUNDED, max_examples=3 * EXAMPLES)
    @given(request=requests, body=st.one_of(st.none(), st.just({}), st.dictionaries(TEXT, VALUES, max_size=3)))
    def call(request: tuple[str, str, dict[str, str]], body: dict[str, str] | None) -> None:
        method, url, query = request
        if method == "GET":
            response = api.get(url, query_string=query)
        else:
            response = api.post(url, query_string=query, json=body) if body is not None else api.post(url, query_string=query)
        _check_api(response, f"{method} {url} {query!r}")

    call()

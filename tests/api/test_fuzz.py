"""No input is ever a 5xx: random JSON, random bytes under random content types, random query strings."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import Api, new_tenant_key

POSTS = ["/api/v1/invoices", "/api/v1/validate"]
GETS = ["/api/v1/invoices", "/api/v1/invoices/{id}", "/api/v1/invoices/{id}/documents/cii"]
CONTENT_TYPES = ["application/json", "application/xml", "text/xml", "application/pdf", "text/plain", "", "application/json; charset=latin-1"]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
# Objects shaped like an invoice, so the decoder goes deeper than the first type check.
invoice_like = st.fixed_dictionaries(
    {},
    optional={
        "number": json_values,
        "issue_date": st.dates().map(str) | json_values,
        "type_code": st.sampled_from(["380", "381", "", "x"]),
        "currency": st.text(max_size=4),
        "seller": st.dictionaries(st.sampled_from(["name", "address", "vat_id", "legal_registration_id"]), json_values, max_size=4),
        "buyer": json_values,
        "lines": st.lists(st.dictionaries(st.sampled_from(["id", "quantity", "net_price", "item_name", "vat_rate"]), json_values), max_size=3),
        "totals": st.dictionaries(st.sampled_from(["tax_inclusive_amount", "amount_due"]), st.text(max_size=30)),
    },
)
query_values = st.text(max_size=20)
query_strings = st.dictionaries(
    st.sampled_from(["status", "from", "to", "buyer", "page", "per_page", "profile", "french", "x"]), query_values, max_size=4
)


@pytest.fixture(scope="module")
def fuzz_api(app) -> Api:
    """One tenant for the whole run (creating one per example would dominate the run time)."""
    return Api(app, new_tenant_key(app))


@FUZZ
@given(path=st.sampled_from(POSTS), data=json_values | invoice_like, query=query_strings)
def test_random_json_is_never_a_5xx(fuzz_api, path, data, query):
    api = fuzz_api
    response = api.post(path, data=json.dumps(data), content_type="application/json", query_string=query)
    assert response.status_code < 500, response.get_json()
    assert response.status_code in (200, 201, 400, 409, 415, 422)


@FUZZ
@given(path=st.sampled_from(POSTS), body=st.binary(max_size=2000), content_type=st.sampled_from(CONTENT_TYPES), query=query_strings)
def test_random_bytes_are_never_a_5xx(fuzz_api, path, body, content_type, query):
    api = fuzz_api
    for data in (body, b"%PDF-1.7\n" + body, b'<?xml version="1.0"?>' + body):
        response = api.post(path, data=data, content_type=content_type, query_string=query)
        assert response.status_code < 500, response.get_json()


@FUZZ
@given(path=st.sampled_from(GETS), ident=st.text(max_size=40), query=query_strings)
def test_random_queries_are_never_a_5xx(fuzz_api, path, ident, query):
    api = fuzz_api
    response = api.get(path.replace("{id}", ident.replace("/", "_").replace("?", "_").replace("#", "_")), query_string=query)
    assert response.status_code in (200, 400, 404), response.get_json()

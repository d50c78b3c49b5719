"""The ERP's `metadata` on an invoice: given at intake (JSON member or X-Gateway-Metadata header), bounded, given back everywhere."""

from __future__ import annotations

import copy
import json

import pytest

from gateway import intake
from gateway.formats.ubl import write_ubl
from gateway.metadata import MAX_BYTES
from tests.api.answers import problem
from tests.api.conftest import Api
from tests.conftest import load_example

EXAMPLE = load_example("invoice-fr-b2b")
METADATA = {"erp_reference": "SO-2026-0042", "batch": {"id": 7, "tags": ["nightly", "é"]}, "paid": False, "score": 1.5, "note": None}


def invoice_json(number: str, **changes: object) -> dict:
    data = copy.deepcopy(EXAMPLE)
    data.update(number=number, **changes)
    return data


def post(api: Api, data: object, **kwargs):
    return api.post("/api/v1/invoices", data=json.dumps(data, ensure_ascii=False), content_type="application/json", **kwargs)


def ubl(number: str) -> bytes:
    return write_ubl(intake.read_json(invoice_json(number)).invoice)


def test_metadata_in_the_body_is_given_back_by_every_answer_and_webhook(api, documented):
    subscribed = api.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hooks", "events": ["invoice.accepted"]})
    assert subscribed.status_code == 201, subscribed.get_json()
    created = post(api, invoice_json("M-1", metadata=METADATA))
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    documented("InvoiceDetail", body)
    assert body["metadata"] == METADATA
    assert api.get(body["links"]["self"]).get_json()["metadata"] == METADATA
    [item] = api.get("/api/v1/invoices").get_json()["items"]
    assert item["metadata"] == METADATA
    [delivery] = api.get("/api/v1/webhooks/deliveries").get_json()["items"]
    assert json.loads(delivery["payload"])["data"]["invoice"]["metadata"] == METADATA
    assert api.get("/api/v1/invoices", query_string={"erp_reference": "SO-2026-0042"}).get_json()["total"] == 1


def test_an_invoice_without_metadata_has_an_empty_object(api, documented):
    body = post(api, invoice_json("M-2")).get_json()
    assert body["metadata"] == {} and api.get(body["links"]["self"]).get_json()["metadata"] == {}


def test_a_document_carries_its_metadata_in_the_header_in_utf8_or_escaped(api):
    for number, header in (("M-3", json.dumps(METADATA, ensure_ascii=False).encode()), ("M-4", json.dumps(METADATA).encode())):
        response = api.client.post(
            "/api/v1/invoices",
            data=ubl(number),
            content_type="application/xml",
            headers={"Authorization": f"Bearer {api.key}", "X-Gateway-Metadata": header.decode("latin-1")},
        )
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["metadata"] == METADATA and response.get_json()["syntax"] == "ubl-invoice"


def test_metadata_in_both_places_is_a_400(api):
    response = post(api, invoice_json("M-5", metadata={"a": 1}), headers={"X-Gateway-Metadata": '{"a": 2}'})
    assert response.status_code == 400 and problem(response).errors == [("header", "X-Gateway-Metadata")]


@pytest.mark.parametrize(
    ("metadata", "pointer", "said"),
    [
        ({"blob": "x" * MAX_BYTES}, "/metadata", "at most 4096 bytes"),
        ({f"k{i}": i for i in range(51)}, "/metadata", "at most 50"),
        ({"list": list(range(50))}, "/metadata", "at most 50"),
        ({"a": {"b": {"c": {"d": 1}}}}, "/metadata/a/b/c", "3 levels"),
        ({"a": [[["deep"]]]}, "/metadata/a/0/0", "3 levels"),
        ({"": 1}, "/metadata/", "1 to 100 characters"),
        ({"a": "nul\u0000"}, "/metadata/a", "control characters"),
        ({"erp_reference": 42}, "/metadata/erp_reference", "must be a string"),
        ({"erp_reference": "x" * 201}, "/metadata/erp_reference", "at most 200 characters"),
        ([1, 2], "/metadata", "must be a JSON object"),
    ],
)
def test_metadata_beyond_its_bounds_is_a_422_saying_which_and_nothing_is_stored(api, metadata, pointer, said):
    response = post(api, invoice_json("M-6", metadata=metadata))
    assert response.status_code == 422, response.get_json()
    answer = problem(response)
    assert any(said in message for message in answer.at(pointer)), answer
    assert api.get("/api/v1/invoices").get_json()["total"] == 0


@pytest.mark.parametrize(
    ("header", "said"),
    [
        ("{not json", "is not valid JSON"),
        ('{"a": NaN}', "NaN is not JSON"),
        ('"a string"', "must be a JSON object"),
        (json.dumps({"blob": "x" * 5000}), "at most 4096 bytes"),
    ],
)
def test_a_header_that_cannot_be_kept_is_a_422(api, header, said):
    response = api.post("/api/v1/invoices", data=ubl("M-7"), content_type="application/xml", headers={"X-Gateway-Metadata": header})
    assert response.status_code == 422, response.get_json()
    answer = problem(response)
    assert "X-Gateway-Metadata" in answer.message and any(said in message for _, message in answer.errors), answer
    assert api.get("/api/v1/invoices").get_json()["total"] == 0


def test_a_retry_with_other_metadata_is_another_request(api):
    data, key = ubl("M-8"), {"Idempotency-Key": "metadata-retry"}
    first = api.post("/api/v1/invoices", data=data, content_type="application/xml", headers={**key, "X-Gateway-Metadata": '{"a": 1}'})
    assert first.status_code == 201
    again = api.post("/api/v1/invoices", data=data, content_type="application/xml", headers={**key, "X-Gateway-Metadata": '{"a": 1}'})
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    other = api.post("/api/v1/invoices", data=data, content_type="application/xml", headers={**key, "X-Gateway-Metadata": '{"a": 2}'})
    assert other.status_code == 409 and problem(other).code == "idempotency_key_reused"


def test_validate_checks_the_metadata_too(api):
    deep = invoice_json("M-9", metadata={"a": {"b": {"c": {"d": 1}}}})
    response = api.post("/api/v1/validate", data=json.dumps(deep), content_type="application/json")
    assert response.status_code == 422 and problem(response).at("/metadata/a/b/c")
    fine = api.post("/api/v1/validate", data=json.dumps(invoice_json("M-9", metadata=METADATA)), content_type="application/json")
    assert fine.status_code == 200 and fine.get_json()["valid"]

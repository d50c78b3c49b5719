"""A rejected invoice's generated documents are not served: 409 with the fatal findings; what the ERP sent stays downloadable.

A CII, UBL or Factur-X of a rejected invoice is indistinguishable from a conforming one (the PDF claims its
Factur-X conformance level in the XMP): handed on, it would pass for a valid invoice.
"""

from __future__ import annotations

import copy
import json

import pytest

from gateway.store import models as db
from tests.api.conftest import Api
from tests.conftest import load_example

WITHHELD = ("cii", "ubl", "facturx", "ubl-signed", "facturx-signed", "ubl-peppol")


def submit(api: Api, number: str, **changes: object):
    data = copy.deepcopy(load_example("invoice-fr-b2b"))
    data.update(number=number, **changes)
    raw = json.dumps(data, ensure_ascii=False).encode()
    response = api.post("/api/v1/invoices", data=raw, content_type="application/json")
    assert response.status_code == 201, response.get_json()
    return response.get_json(), raw


@pytest.fixture
def rejected(api):
    body, raw = submit(api, "F2026-REJ-1", totals={"tax_inclusive_amount": "15000.00"})
    assert body["state"] == "rejected"
    return body, raw


@pytest.mark.parametrize("kind", WITHHELD)
def test_a_generated_document_of_a_rejected_invoice_is_a_409_naming_the_fatal_findings(api, rejected, kind):
    body, _ = rejected
    response = api.get(f"{body['links']['self']}/documents/{kind}")
    assert response.status_code == 409
    answer = json.dumps(response.get_json())
    assert "invoice_rejected" in answer
    assert "BR-CO-15" in answer  # the total that rejected it
    assert response.mimetype != "application/pdf" and b"%PDF" not in response.data


def test_what_the_erp_sent_stays_downloadable_and_only_that_is_linked(api, rejected):
    body, raw = rejected
    assert set(body["links"]["documents"]) == {"input", "canonical"}
    response = api.get(body["links"]["documents"]["input"])
    assert response.status_code == 200 and response.data == raw
    assert api.get(body["links"]["documents"]["canonical"]).status_code == 200
    listed = api.get("/api/v1/invoices?status=rejected").get_json()["items"]
    assert [set(item["links"]["documents"]) for item in listed] == [{"input", "canonical"}]


def test_no_factur_x_is_built_for_a_rejected_invoice(app, rejected):
    """Not only withheld: a PDF claiming conformance is never made, so no export or later change can hand it out."""
    body, _ = rejected
    with app.extensions["gateway.database"].session() as session:
        kinds = {d.kind for d in session.get(db.Invoice, body["id"]).documents}
    assert "facturx" not in kinds and {"input", "canonical", "cii", "ubl"} <= kinds


def test_an_accepted_invoice_serves_every_document(api):
    body, _ = submit(api, "F2026-OK-1")
    assert body["state"] == "validated"
    for kind in ("input", "canonical", "cii", "ubl", "facturx"):
        assert api.get(body["links"]["documents"][kind]).status_code == 200

"""The REST API end to end, on SQLite and on PostgreSQL (see the `gateway_config` fixture)."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from lxml import etree

from gateway.app import create_app
from gateway.store.tenants import revoke_api_key
from gateway.validation import schematron
from tests.api.conftest import Api, new_tenant_key
from tests.conftest import load_example

EXAMPLE = load_example("invoice-fr-b2b")
CREDIT_NOTE = load_example("credit-note-fr-b2b")


def post_json(api: Api, data: object, path: str = "/api/v1/invoices", **kwargs):
    return api.post(path, data=json.dumps(data), content_type="application/json", **kwargs)


def numbered(number: str, **changes: object) -> dict:
    data = copy.deepcopy(EXAMPLE)
    data.update(number=number, **changes)
    return data


@pytest.fixture(scope="module")
def accepted(app):
    """The French example, submitted once per database: (api, response, raw body)."""
    api = Api(app, new_tenant_key(app))
    raw = json.dumps(EXAMPLE, ensure_ascii=False, indent=1).encode()
    response = api.post("/api/v1/invoices", data=raw, content_type="application/json")
    assert response.status_code == 201, response.get_json()
    return api, response, raw


def download(api: Api, body: dict, kind: str):
    response = api.get(body["links"]["documents"][kind])
    assert response.status_code == 200
    return response


# ---------------------------------------------------------------------------- the happy paths


def test_french_example_is_accepted_as_deposee(accepted, documented, gateway_config):
    api, response, _ = accepted
    body = response.get_json()
    documented("InvoiceDetail", body)
    assert response.headers["Location"] == body["links"]["self"]
    assert (body["status"], body["status_label"], body["state"]) == ("200", "Déposée", "validated")
    assert body["report"]["valid"] and body["report"]["fatal"] == 0, [f for f in body["report"]["findings"] if f["severity"] == "fatal"]
    assert {"FACTURX-en16931", "BR-FR-CII", "EN16931-UBL", "BR-FR-UBL", "GATEWAY"} <= set(body["report"]["artefacts"])
    assert body["seller"] == {"name": "Atelier Dupont & Fils SAS", "siren": "732829320"}
    assert body["buyer"] == {"name": "Boulangeries Martin SARL", "siren": "356000000", "vat_id": "FR39356000000"}
    assert body["totals"] == {
        "tax_exclusive_amount": "12462.30",
        "tax_amount": "2485.24",
        "tax_inclusive_amount": "14947.54",
        "amount_due": "14947.54",
    }
    assert [(e["code"], e["label"]) for e in body["events"]] == [("200", "Déposée")]
    assert set(body["links"]["documents"]) == {"input", "canonical", "cii", "ubl", "facturx"}
    again = api.get(body["links"]["self"])
    assert again.status_code == 200 and again.get_json() == body
    stored = list((gateway_config.data_dir / "documents").glob("*/*.bin"))
    assert stored and all(len(p.parent.name) == 2 and len(p.stem) == 62 for p in stored)


def test_documents_are_the_exact_stored_bytes(accepted):
    api, response, raw = accepted
    body = response.get_json()
    assert download(api, body, "input").data == raw
    cii = download(api, body, "cii")
    assert cii.mimetype == "application/xml"
    assert cii.headers["Content-Disposition"] == 'attachment; filename="F2026-000142-cii.xml"'
    assert cii.headers["ETag"] == f'"{hashlib.sha256(cii.data).hexdigest()}"'
    assert etree.fromstring(cii.data).tag.endswith("CrossIndustryInvoice")
    ubl = download(api, body, "ubl")
    assert etree.fromstring(ubl.data).tag == "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
    pdf = download(api, body, "facturx")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"].endswith('-facturx.pdf"')
    canonical = download(api, body, "canonical").get_json()
    assert canonical["totals"]["amount_due"] == "14947.54"


@pytest.mark.parametrize("name", ["credit-note-fr-b2b", "invoice-fr-reverse-charge", "invoice-fr-intra-eu", "invoice-fr-usd"])
def test_other_french_examples_pass_every_official_artefact(api, documented, name):
    """Credit note, reverse charge (AE), intra-EU (K), USD with EUR VAT accounting: zero fatal findings from XSD, EN 16931, Factur-X, BR-FR."""
    response = post_json(api, load_example(name))
    body = response.get_json()
    assert response.status_code == 201, body
    documented("InvoiceDetail", body)
    assert (body["status"], body["report"]["fatal"]) == ("200", 0), [f for f in body["report"]["findings"] if f["severity"] == "fatal"]
    artefacts = set(body["report"]["artefacts"])
    assert {"FACTURX-en16931", "BR-FR-CII", "EN16931-UBL", "BR-FR-UBL"} <= artefacts
    assert {"XSD-cii-en16931"} <= artefacts and artefacts & {"XSD-ubl-invoice", "XSD-ubl-creditnote"}
    if name.startswith("credit-note"):
        assert body["type_code"] == "381"
        ubl = download(api, body, "ubl")
        assert etree.fromstring(ubl.data).tag == "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote"


def test_documents_as_input_ubl_cii_and_facturx(app, accepted, documented):
    """The generated UBL, CII and Factur-X of the example, submitted as received documents by other tenants."""
    api, response, _ = accepted
    body = response.get_json()
    for kind, content_type, syntax in (
        ("ubl", "application/xml", "ubl-invoice"),
        ("cii", "text/xml", "cii"),
        ("facturx", "application/pdf", "facturx"),
    ):
        data = download(api, body, kind).data
        submitter = Api(app, new_tenant_key(app))
        created = submitter.post("/api/v1/invoices", data=data, content_type=content_type)
        detail = created.get_json()
        assert created.status_code == 201, detail
        documented("InvoiceDetail", detail)
        assert (detail["syntax"], detail["status"], detail["number"]) == (syntax, "200", "F2026-000142"), detail["report"]["findings"]
        assert detail["totals"] == body["totals"]
        assert download(submitter, detail, "input").data == data
        assert download(submitter, detail, kind).data == data
        assert {"input", "canonical", "cii", "ubl", "facturx"} == set(detail["links"]["documents"])


def test_profile_choice(api):
    basic = post_json(api, numbered("F2026-BASIC"), "/api/v1/invoices?profile=basic").get_json()
    assert (basic["profile"], basic["status"]) == ("basic", "200"), basic["report"]["findings"]
    assert b"urn:factur-x.eu:1p0:basic" in download(api, basic, "cii").data
    # MINIMUM carries no French mandatory notes: the official BR-FR rules reject it; the UBL is still made from the full JSON.
    minimum = post_json(api, numbered("F2026-MIN"), "/api/v1/invoices?profile=minimum").get_json()
    assert (minimum["profile"], minimum["status"]) == ("minimum", "rejected")
    assert {f["artefact"] for f in minimum["report"]["findings"] if f["severity"] == "fatal"} == {"BR-FR-CII"}
    assert set(minimum["links"]["documents"]) == {"input", "canonical"}  # a rejected invoice's generated documents are not served


# ---------------------------------------------------------------------------- rejections and input errors


def test_wrong_total_is_stored_as_rejected_with_the_rule_named(api, documented):
    data = numbered("F2026-BAD-1", totals={"tax_inclusive_amount": "15000.00"})
    response = post_json(api, data)
    body = response.get_json()
    assert response.status_code == 201, body
    documented("InvoiceDetail", body)
    assert (body["status"], body["state"]) == ("rejected", "rejected")
    assert not body["validation"]["valid"] and body["report"]["fatal"] >= 1
    fatal = {(f["rule_id"], f["artefact"]) for f in body["report"]["findings"] if f["severity"] == "fatal"}
    assert ("BR-CO-15", "GATEWAY") in fatal
    assert api.get(f"{body['links']['self']}/documents/ubl").status_code == 409  # not served: it would pass for a conforming one
    # Rejected invoices do not count for uniqueness: the corrected invoice goes through under the same number.
    fixed = post_json(api, numbered("F2026-BAD-1"))
    assert fixed.status_code == 201 and fixed.get_json()["status"] == "200"
    assert api.get("/api/v1/invoices?status=rejected").get_json()["total"] == 1


def test_missing_mandatory_fields_are_422_with_every_pointer(api, documented):
    data = copy.deepcopy(EXAMPLE)
    del data["number"], data["seller"]["name"], data["lines"][0]["item_name"]
    data["lines"][1]["quantity"] = 3
    data["issue_date"] = "2026-02-30"
    data["colour"] = "blue"
    response = post_json(api, data)
    assert response.status_code == 422
    body = response.get_json()
    documented("Problem", body)
    assert body["code"] == "invalid_invoice"
    pointers = {d["pointer"] for d in body["errors"]}
    assert pointers == {"/number", "/seller/name", "/lines/0/item_name", "/lines/1/quantity", "/issue_date", "/colour"}
    assert api.get("/api/v1/invoices").get_json()["total"] == 0


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (lambda d: d["seller"].update(name="Dupont\x00SAS"), "/seller/name"),
        (lambda d: d["lines"][0].update(quantity="1" + "0" * 20), "/lines/0/quantity"),
        (lambda d: d["lines"][0].update(net_price="0.00000000001"), "/lines/0/net_price"),
    ],
)
def test_values_beyond_xml_or_exact_arithmetic_are_422(api, change, pointer):
    data = copy.deepcopy(EXAMPLE)
    change(data)
    response = post_json(api, data)
    assert response.status_code == 422
    assert [d["pointer"] for d in response.get_json()["errors"]] == [pointer]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"number": ', "application/json", 400, "malformed_json"),
        (b"\xff\xfe\x00garbage", "application/json", 400, "malformed_json"),
        (b"[" * 100_000, "application/json", 400, "malformed_json"),
        (b"[]", "application/json", 422, "invalid_invoice"),
        (b"number=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b"{}", "", 415, "unsupported_media_type"),
        (b"<Invoice", "application/xml", 400, "malformed_document"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]><x>&e;</x>', "application/xml", 400, "unsafe_document"),
        (b"<html/>", "text/xml", 415, "unsupported_document"),
        (b"%PDF-1.7 not really", "application/pdf", 400, "malformed_document"),
    ],
)
def test_unusable_bodies_are_4xx_with_the_error_shape(api, documented, body, content_type, status, code):
    for path in ("/api/v1/invoices", "/api/v1/validate"):
        response = api.post(path, data=body, content_type=content_type)
        assert (response.status_code, response.get_json()["code"]) == (status, code), response.get_json()
        documented("Problem", response.get_json())


def test_unknown_profile_is_400(api):
    response = post_json(api, EXAMPLE, "/api/v1/invoices?profile=platinum")
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["pointer"] == "?profile"


def test_body_over_the_limit_is_413(gateway_config):
    small = create_app(dataclasses.replace(gateway_config, max_body_bytes=1000))
    api = Api(small, new_tenant_key(small))
    response = post_json(api, EXAMPLE)
    assert response.status_code == 413
    assert response.get_json()["code"] == "too_large"
    small.extensions["gateway.database"].dispose()


# ---------------------------------------------------------------------------- authentication, tenancy


def test_health_readiness_and_openapi_need_no_key(app, documented):
    client = app.test_client()
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json() == {"status": "ok"}
    documented("Health", health.get_json())
    ready = client.get("/readyz")
    assert ready.status_code == 200
    documented("Readiness", ready.get_json())
    assert ready.get_json()["signing"]["status"] == "disabled"  # no [signing] table: the gateway does not sign
    assert ready.get_json()["database"] == ready.get_json()["storage"] == "ok"
    assert client.get("/api/openapi.json").get_json()["openapi"] == "3.1.0"


def test_missing_unknown_or_revoked_keys_are_401(app, documented):
    key = new_tenant_key(app)
    client = app.test_client()
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}, {"Authorization": f"Bearer {key}x"}):
        for method, path in (("get", "/api/v1/invoices"), ("post", "/api/v1/invoices"), ("post", "/api/v1/validate")):
            response = getattr(client, method)(path, headers=headers, json=EXAMPLE)
            assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
            documented("Problem", response.get_json())
    assert client.get("/api/v1/invoices", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    with app.extensions["gateway.database"].session() as session:
        revoke_api_key(session, key)
    assert client.get("/api/v1/invoices", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_another_tenants_invoice_is_404(accepted, other_api, documented):
    body = accepted[1].get_json()
    for path in (body["links"]["self"], body["links"]["documents"]["cii"]):
        response = other_api.get(path)
        assert response.status_code == 404
        documented("Problem", response.get_json())
    assert other_api.get("/api/v1/invoices").get_json()["total"] == 0


@pytest.mark.parametrize("path", ["/api/v1/invoices/not-a-uuid", "/api/v1/invoices/%00", "/api/v1/invoices/00000000-0000-0000-0000-000000000000"])
def test_unknown_invoices_are_404(api, path):
    assert api.get(path).status_code == 404
    assert api.get(f"{path}/documents/cii").status_code == 404


def test_unknown_document_kind_and_method_are_json_errors(accepted):
    api, response, _ = accepted
    missing = api.get(response.get_json()["links"]["self"] + "/documents/signature")
    assert missing.status_code == 404 and missing.get_json()["code"] == "not_found"
    wrong = api.client.delete("/api/v1/invoices")
    assert wrong.status_code == 405 and wrong.get_json()["code"] == "method_not_allowed"


# ---------------------------------------------------------------------------- idempotency, duplicates


def test_idempotency_key_replays_the_first_answer(api):
    headers = {"Idempotency-Key": "order-77813-attempt"}
    first = post_json(api, numbered("F2026-IDEM-1"), headers=headers)
    assert first.status_code == 201
    again = post_json(api, numbered("F2026-IDEM-1"), headers=headers)
    assert (again.status_code, again.data) == (201, first.data)
    assert again.headers["Idempotent-Replayed"] == "true" and again.headers["Location"] == first.headers["Location"]
    assert api.get("/api/v1/invoices").get_json()["total"] == 1
    other = post_json(api, numbered("F2026-IDEM-2"), headers=headers)
    assert other.status_code == 409 and other.get_json()["code"] == "idempotency_key_reused"
    assert api.get("/api/v1/invoices").get_json()["total"] == 1


def test_idempotency_replays_errors_and_is_per_tenant(api, other_api):
    headers = {"Idempotency-Key": "shared-key"}
    bad = numbered("F2026-IDEM-3")
    del bad["seller"]
    first = post_json(api, bad, headers=headers)
    again = post_json(api, bad, headers=headers)
    assert (first.status_code, again.status_code, again.data) == (422, 422, first.data)
    assert post_json(other_api, numbered("F2026-IDEM-3"), headers=headers).status_code == 201
    assert post_json(api, bad, headers={"Idempotency-Key": "x" * 256}).status_code == 400


def test_duplicate_is_409_naming_the_existing_invoice(accepted, app, documented):
    api, response, raw = accepted
    existing = response.get_json()["id"]
    duplicate = api.post("/api/v1/invoices", data=raw, content_type="application/json")
    assert duplicate.status_code == 409
    body = duplicate.get_json()
    documented("Problem", body)
    assert body["code"] == "duplicate_invoice" and existing in body["detail"]
    assert body["errors"][0]["pointer"] == "/number"
    next_year = numbered("F2026-000142", issue_date="2027-01-04")
    assert post_json(api, next_year).status_code == 201


def test_concurrent_duplicates_give_one_invoice_and_one_409(app):
    """Both requests pass the duplicate check before either commits: the unique index decides, never a 500."""
    key = new_tenant_key(app)
    body = json.dumps(numbered("F2026-RACE")).encode()

    def submit(_: int) -> int:
        return Api(app, key).post("/api/v1/invoices", data=body, content_type="application/json").status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(submit, range(2)))
    assert statuses == [201, 409]
    assert Api(app, key).get("/api/v1/invoices").get_json()["total"] == 1


# ---------------------------------------------------------------------------- listing


def test_list_filters_and_pagination(api, documented):
    other_buyer = copy.deepcopy(EXAMPLE["buyer"])
    other_buyer.update(
        name="Pâtisserie Lenoir",
        identifiers=[{"value": "55210055400013", "scheme": "0009"}],
        legal_registration_id={"value": "552100554", "scheme": "0002"},
        vat_id="FR96552100554",
        electronic_address={"value": "552100554", "scheme": "0225"},
    )
    for data in (
        numbered("L-1", issue_date="2026-10-01"),
        numbered("L-2", issue_date="2026-11-01", buyer=other_buyer),
        numbered("L-3", issue_date="2026-12-01", totals={"amount_due": "1.00"}),
    ):
        assert post_json(api, data).status_code == 201

    def numbers(query: str) -> list[str]:
        response = api.get(f"/api/v1/invoices{query}")
        assert response.status_code == 200, response.get_json()
        documented("InvoiceList", response.get_json())
        return sorted(item["number"] for item in response.get_json()["items"])

    first = api.get("/api/v1/invoices?per_page=2").get_json()
    assert (first["total"], len(first["items"]), first["page"]) == (3, 2, 1)
    second = api.get(first["next"]).get_json()
    assert len(second["items"]) == 1 and second["next"] is None
    assert sorted(i["number"] for i in first["items"] + second["items"]) == ["L-1", "L-2", "L-3"]
    assert numbers("?status=rejected") == ["L-3"]
    assert numbers("?status=200") == ["L-1", "L-2"]
    assert numbers("?from=2026-11-01") == ["L-2", "L-3"]
    assert numbers("?from=2026-10-15&to=2026-11-15") == ["L-2"]
    assert numbers("?buyer=lenoir") == numbers("?buyer=552100554") == numbers("?buyer=fr96552100554") == ["L-2"]
    assert numbers("?buyer=Boulangeries") == ["L-1", "L-3"]
    assert numbers("?buyer=100%25_") == []
    assert numbers("?page=9") == []
    filtered = api.get("/api/v1/invoices?status=200&per_page=1").get_json()
    assert "status=200" in filtered["next"] and api.get(filtered["next"]).get_json()["total"] == 2


@pytest.mark.parametrize("query", ["?page=0", "?page=-1", "?page=x", "?per_page=101", "?from=2026-13-01", "?to=yesterday", "?buyer=%00", "?page=１"])
def test_bad_list_parameters_are_400(api, query):
    response = api.get(f"/api/v1/invoices{query}")
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["pointer"].startswith("?")


# ---------------------------------------------------------------------------- validation only


def test_validate_json_and_documents_without_storing(api, accepted, documented):
    response = post_json(api, EXAMPLE, "/api/v1/validate")
    assert response.status_code == 200
    documented("ValidationReport", response.get_json())
    assert response.get_json()["valid"] and {"EN16931-UBL", "FACTURX-en16931"} <= set(response.get_json()["artefacts"])
    wrong = post_json(api, numbered("V-1", totals={"tax_inclusive_amount": "1.00"}), "/api/v1/validate").get_json()
    documented("ValidationReport", wrong)
    assert not wrong["valid"] and "BR-CO-15" in {f["rule_id"] for f in wrong["findings"]}
    # The report groups the findings of every artefact by rule and place: BR-CO-15 raised on the JSON, CII and UBL is one group.
    (totals,) = [g for g in wrong["groups"] if g["rule_id"] == "BR-CO-15"]
    assert totals["location"] == "/totals" and totals["place"] == [["totals", None]] and totals["business_term"]
    assert {r["syntax"] for r in totals["raised_by"]} == {"json", "cii", "ubl"} and totals["count"] == len(totals["raised_by"])
    assert sum(g["count"] for g in wrong["groups"]) == len(wrong["findings"])

    ubl = download(accepted[0], accepted[1].get_json(), "ubl").data
    report = api.post("/api/v1/validate", data=ubl, content_type="application/xml").get_json()
    documented("ValidationReport", report)
    assert report["valid"] and report["artefacts"] == ["XSD-ubl-invoice", "EN16931-UBL", "BR-FR-UBL"]
    assert api.post("/api/v1/validate?french=false", data=ubl, content_type="application/xml").get_json()["artefacts"] == [
        "XSD-ubl-invoice",
        "EN16931-UBL",
    ]
    broken = ubl.replace(b"<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>", b"<cbc:InvoiceTypeCode>999</cbc:InvoiceTypeCode>")
    assert broken != ubl and not api.post("/api/v1/validate", data=broken, content_type="application/xml").get_json()["valid"]
    assert api.post("/api/v1/validate?french=maybe", data=ubl, content_type="application/xml").status_code == 400
    assert api.get("/api/v1/invoices").get_json()["total"] == 0


def test_an_artefact_that_cannot_run_is_503_and_nothing_is_stored(api, tmp_path, monkeypatch):
    """A validator that cannot run must never pass: the stylesheet is replaced by a broken one."""
    broken = tmp_path / "broken.xslt"
    broken.write_text("<xsl:stylesheet version='2.0' xmlns:xsl='http://www.w3.org/1999/XSL/Transform'><xsl:template match='/'>")
    schematron._executable("BR-FR-CII")  # compiled now, so that the compiled stylesheet is restored after the test
    monkeypatch.setitem(schematron.XSLT, "BR-FR-CII", Path(broken))
    monkeypatch.delitem(schematron._state["compiled"], "BR-FR-CII")
    response = post_json(api, numbered("F2026-503"))
    assert response.status_code == 503 and response.get_json()["code"] == "validation_unavailable"
    assert post_json(api, EXAMPLE, "/api/v1/validate").status_code == 503
    assert api.get("/api/v1/invoices").get_json()["total"] == 0


def test_every_byte_of_an_accepted_invoice_is_archived_and_the_archive_verifies(accepted, app):
    """Input, canonical JSON, CII, UBL, Factur-X and the first status event: archived in the intake transaction."""
    from gateway.archive.models import ArchiveEntry
    from gateway.store.session import Database

    api, response, raw = accepted
    body = response.get_json()
    database: Database = app.extensions["gateway.database"]
    with database.session() as session:
        entries = session.query(ArchiveEntry).filter_by(invoice_id=body["id"]).order_by(ArchiveEntry.seq).all()
        kinds = [e.kind for e in entries]
        by_kind = {e.kind: e.content_sha256 for e in entries}
    assert sorted(kinds) == sorted(["input", "canonical", "cii", "ubl", "facturx", "status"])
    assert by_kind["input"] == hashlib.sha256(raw).hexdigest()
    assert by_kind["cii"] == hashlib.sha256(download(api, body, "cii").data).hexdigest()
    result = api.get("/api/v1/archive/verify").get_json()
    assert result["ok"] is True and result["first_problem"] is None and result["entries"] >= 6

"""With a signing key configured, the gateway signs what it produces: the UBL (XAdES) and the Factur-X (PAdES)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from types import MappingProxyType

import pytest

from gateway.app import create_app
from gateway.archive.models import ArchiveEntry
from gateway.formats.documents import read_document
from gateway.signing import verify_document
from gateway.validation.pipeline import validate
from tests.api.conftest import Api, new_tenant_key
from tests.conftest import load_example
from tests.signing.conftest import flip


@pytest.fixture
def signing_app(gateway_config, pki):
    signing = {"store": "pem", "key_file": str(pki / "signing.key"), "cert_file": str(pki / "chain.pem"), "trust_roots": [str(pki / "ca.pem")]}
    config = dataclasses.replace(gateway_config, sections=MappingProxyType({**gateway_config.sections, "signing": signing}))
    app = create_app(config)
    yield app
    app.extensions["gateway.database"].dispose()


def test_accepted_invoice_gets_signed_ubl_and_facturx_that_verify_validate_and_are_archived(signing_app, pki):
    api = Api(signing_app, new_tenant_key(signing_app))
    data = load_example("invoice-fr-b2b") | {"number": "F2026-SIGNED-1"}
    response = api.post("/api/v1/invoices", data=json.dumps(data), content_type="application/json")
    body = response.get_json()
    assert response.status_code == 201 and body["report"]["fatal"] == 0, body
    links = body["links"]["documents"]
    assert {"ubl-signed", "facturx-signed"} <= set(links)
    for kind in ("ubl-signed", "facturx-signed"):
        signed = api.get(links[kind]).data
        verification = verify_document(signed, pki.roots).to_dict()
        assert verification["intact"] is True, verification
        report = validate(read_document(signed))
        assert report.fatal_count == 0, [f for f in report.findings if f.severity == "fatal"]
        # One flipped byte inside the invoice number: the signed content is no longer intact.
        assert verify_document(flip(signed, signed.index(b"F2026-SIGNED-1") + 4), pki.roots).intact is False
    unsigned_pdf = api.get(links["facturx"]).data
    assert api.get(links["facturx-signed"]).data.startswith(unsigned_pdf)  # PAdES as an incremental update
    with signing_app.extensions["gateway.database"].session() as session:
        archived = {e.kind: e.content_sha256 for e in session.query(ArchiveEntry).filter_by(invoice_id=body["id"])}
    assert archived["facturx-signed"] == hashlib.sha256(api.get(links["facturx-signed"]).data).hexdigest()
    assert "ubl-signed" in archived


def test_rejected_invoice_is_not_signed(signing_app):
    api = Api(signing_app, new_tenant_key(signing_app))
    data = load_example("credit-note-fr-b2b") | {"number": "AV-SIGNED-2", "totals": {"amount_due": "1.00"}}
    body = api.post("/api/v1/invoices", data=json.dumps(data), content_type="application/json").get_json()
    assert body["status"] == "rejected"
    assert not {"ubl-signed", "facturx-signed"} & set(body["links"]["documents"])

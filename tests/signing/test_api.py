"""POST /api/v1/signatures/verify: the document in, the verification out (JSON), behind the API key."""

from __future__ import annotations

import dataclasses
import uuid
from types import MappingProxyType

import jsonschema
import pytest

from gateway.api import signatures
from gateway.app import create_app
from gateway.signing.xades import sign_xml
from gateway.store.tenants import create_api_key, create_tenant
from tests.signing.conftest import Pki, flip

URL = "/api/v1/signatures/verify"


@pytest.fixture(scope="module")
def client(gateway_config, pki: Pki):
    config = dataclasses.replace(gateway_config, sections=MappingProxyType({"signing": {"trust_roots": [str(pki / "ca.pem")]}}))
    app = create_app(config)
    if "signatures" not in app.blueprints:  # until the coordinator registers it in create_app
        app.register_blueprint(signatures.bp)
    with app.extensions["gateway.database"].session() as session:
        key = create_api_key(session, create_tenant(session, f"signing-{uuid.uuid4().hex[:10]}"))
    yield app.test_client(), {"Authorization": f"Bearer {key}"}
    app.extensions["gateway.database"].dispose()


def test_verify_a_signed_invoice(client, ubl: bytes, pem_key, pki: Pki) -> None:
    http, auth = client
    signed = sign_xml(ubl, pem_key)
    answer = http.post(URL, data=signed, headers={**auth, "Content-Type": "application/xml"})
    assert answer.status_code == 200
    body = answer.get_json()
    jsonschema.validate(body, signatures.VERIFICATION_SCHEMA)
    assert body["intact"] and body["signatures"][0]["chain"] == "trusted"
    assert body["signatures"][0]["signer"] == pki.certificate.subject.rfc4514_string()
    tampered = http.post(URL, data=flip(signed, signed.index(b"F2026-000142") + 4), headers={**auth, "Content-Type": "application/xml"})
    assert tampered.status_code == 200 and tampered.get_json()["intact"] is False


def test_refusals(client, facturx: bytes) -> None:
    http, auth = client
    assert http.post(URL, data=facturx).status_code == 401
    unsigned = http.post(URL, data=facturx, headers={**auth, "Content-Type": "application/pdf"})
    assert unsigned.status_code == 200 and unsigned.get_json()["signed"] is False
    refused = http.post(URL, data=b'{"invoice": 1}', headers={**auth, "Content-Type": "application/json"})
    assert refused.status_code == 415 and refused.get_json()["code"] == "unsupported_document"

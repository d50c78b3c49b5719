"""The API with the payments blueprint, on SQLite and PostgreSQL, a fresh tenant per test; invoices submitted and delivered."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.api import bank_statements
from gateway.app import create_app
from gateway.lifecycle import codes, service
from gateway.lifecycle.events import StatusChange
from gateway.store import models as db
from tests.api.conftest import Api, new_tenant_key
from tests.conftest import load_example

DATA = Path(__file__).parent / "data"
AMOUNT = Decimal("14947.54")  # the total of the French B2B example


@pytest.fixture(scope="session")
def app(gateway_config):
    app = create_app(gateway_config)
    if bank_statements.bp.name not in app.blueprints:
        app.register_blueprint(bank_statements.bp)
    yield app
    app.extensions["gateway.database"].dispose()


@pytest.fixture
def api(app) -> Api:
    return Api(app, new_tenant_key(app))


@pytest.fixture
def database(app):
    return app.extensions["gateway.database"]


@pytest.fixture
def archive(app):
    return app.extensions["gateway.archive"]


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


def issue(api, database, archive, number: str, deliver: bool = True, **changes) -> dict:
    """An outgoing invoice of the French B2B example under `number`, delivered to the buyer (201) unless `deliver` is false."""
    response = api.post("/api/v1/invoices", json={**load_example("invoice-fr-b2b"), "number": number, **changes})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    if deliver:
        with database.session() as session:
            change = StatusChange("201", datetime.now(UTC), codes.PLATFORM)
            service.record(session, archive, session.get(db.Invoice, body["id"]), change, source=service.SOURCE_GATEWAY, actor="gateway:delivery")
    return body


def camt_entry(ref: str, amount: Decimal, remittance: str, payer: str) -> str:
    """One booked credit of a camt.053 statement, with the payer and what they wrote."""
    return f"""<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
      <BookgDt><Dt>2026-12-02</Dt></BookgDt><ValDt><Dt>2026-12-02</Dt></ValDt><AcctSvcrRef>{ref}</AcctSvcrRef>
      <NtryDtls><TxDtls><Amt Ccy="EUR">{amount}</Amt><RltdPties><Dbtr><Pty><Nm>{payer}</Nm></Pty></Dbtr></RltdPties>
      <RmtInf><Ustrd>{remittance}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"""


def camt_statement(tag: str, entries: list[str]) -> bytes:
    """A camt.053.001.08 statement of the tenant's account with these entries."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
  <GrpHdr><MsgId>MSG-{tag}</MsgId><CreDtTm>2026-12-02T22:15:00+01:00</CreDtTm></GrpHdr>
  <Stmt><Id>STMT-{tag}</Id><CreDtTm>2026-12-02T22:15:00+01:00</CreDtTm>
    <Acct><Id><IBAN>FR7630006000011234567890189</IBAN></Id></Acct>
    {"".join(entries)}
  </Stmt></BkToCstmrStmt></Document>""".encode()

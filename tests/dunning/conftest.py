"""Dunning on SQLite and PostgreSQL: a fresh tenant per test, its invoices issued through the API and delivered, a loopback
SMTP server (aiosmtpd, STARTTLS + AUTH) as the tenants' e-mail connector."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from gateway.app import create_app
from gateway.dunning.channels import Mailer
from gateway.dunning.settings import DunningSettings
from gateway.lifecycle import codes, service
from gateway.lifecycle.events import StatusChange
from gateway.store import models as db
from tests.api.conftest import Api, new_tenant_key
from tests.conftest import load_example
from tests.connectors.smtp_server import SmtpServer, make_certificate

POLICY = {
    "language": "fr",
    "tiers": [
        {"name": "rappel", "days": 7, "channels": ["email"], "tone": "friendly"},
        {"name": "relance", "days": 21, "channels": ["email", "webhook"], "tone": "firm"},
        {"name": "mise-en-demeure", "days": 45, "channels": ["email", "letter"], "tone": "formal_notice"},
    ],
}


@pytest.fixture(scope="session")
def app(gateway_config):
    app = create_app(gateway_config)
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


@pytest.fixture(scope="session")
def smtp(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dunning-smtp")
    cert, key = make_certificate(folder)
    with SmtpServer(cert, key) as server:
        server.ca_file = cert
        yield server


@pytest.fixture
def mailer(smtp, gateway_config) -> Mailer:
    config = replace(gateway_config, sections={"delivery": {"connectors": {"email": smtp.client_config(smtp.ca_file)}}})
    return Mailer(config)


@pytest.fixture
def settings() -> DunningSettings:
    return DunningSettings()


def issue(api: Api, database, archive, number: str, due: date, **changes) -> dict:
    """An outgoing invoice of the French B2B example under `number`, due on `due`, delivered to its buyer (201)."""
    invoice = {**load_example("invoice-fr-b2b"), "number": number, "issue_date": (due.replace(day=1)).isoformat(), "due_date": due.isoformat()}
    response = api.post("/api/v1/invoices", json={**invoice, **changes})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    with database.session() as session:
        change = StatusChange("201", datetime.now(UTC), codes.PLATFORM)
        service.record(session, archive, session.get(db.Invoice, body["id"]), change, source=service.SOURCE_GATEWAY, actor="gateway:delivery")
    return body


def messages_to(smtp: SmtpServer, address: str, since: int = 0) -> list[EmailMessage]:
    """The messages to `address` the server received, from its `since`-th on (the server serves every test of the session)."""
    found = [message_from_bytes(m.content, policy=policy.default) for m in smtp.messages[since:] if address in m.rcpt_tos]
    return [m for m in found if isinstance(m, EmailMessage)]


@pytest.fixture
def other_api(app) -> Api:
    return Api(app, new_tenant_key(app))

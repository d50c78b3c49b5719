"""The portal under test: one app per database, two tenants with users of every role and a few real invoices.

Invoices go through the real intake (generation, official validation, archive), so the pages
show what the gateway really stores: a valid invoice, a credit note and two rejected ones
for tenant A, one invoice for tenant B.
"""

from __future__ import annotations

import copy
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway import intake
from gateway.api.webhooks import KEY as WEBHOOK_KEY
from gateway.app import create_app
from gateway.formats.ubl import write_ubl
from gateway.jobs.models import DEAD, OUTCOME_REJECTED, Delivery, DeliveryAttempt
from gateway.portal.auth import create_user
from gateway.portal.models import ADMINISTRATOR, COMPLIANCE_OFFICER, OPERATOR
from gateway.reception.service import receive
from gateway.store.models import Tenant, utcnow
from gateway.store.tenants import create_tenant
from gateway.webhooks import sender
from gateway.webhooks.models import Subscription, WebhookDelivery
from tests.conftest import load_example

PASSWORD = "correct horse battery staple"
DELIVERY_ERROR = "Chorus Pro refused the deposit: SIRET inconnu"


@dataclass
class World:
    """What the tests find in the database: tenant names, user e-mails by role, invoice ids by name."""

    tenant: str
    other_tenant: str
    users: dict[str, str] = field(default_factory=dict)
    other_user: str = ""
    invoices: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)


def example(name: str, number: str, **changes) -> dict:
    data = copy.deepcopy(load_example(name))
    data["number"] = number
    data.update(changes)
    return data


def populate(app) -> World:
    """Two tenants, their users and their invoices, with unique names (the database is shared by the session's tests)."""
    tag = uuid.uuid4().hex[:8]
    world = World(tenant=f"portal-a-{tag}", other_tenant=f"portal-b-{tag}")
    database, archive = app.extensions["gateway.database"], app.extensions["gateway.archive"]
    invoices = {
        "valid": ("invoice-fr-b2b", f"F-{tag}-1", {}),
        "credit": ("credit-note-fr-b2b", f"A-{tag}-2", {}),
        "wrong_total": ("invoice-fr-b2b", f"F-{tag}-3", {"totals": {"tax_inclusive_amount": "15000.00"}}),
        "usd": ("invoice-fr-usd", f"F-{tag}-4", {}),
    }
    with database.session() as session:
        tenant, other = create_tenant(session, world.tenant), create_tenant(session, world.other_tenant)
        for role in (ADMINISTRATOR, COMPLIANCE_OFFICER, OPERATOR):
            world.users[role] = create_user(session, tenant, f"{role}-{tag}@example.test", role, PASSWORD).email
        world.other_user = create_user(session, other, f"officer-b-{tag}@example.test", COMPLIANCE_OFFICER, PASSWORD).email
        for name, (source, number, changes) in invoices.items():
            world.invoices[name] = intake.submit_json(session, archive, tenant, example(source, number, **changes)).id
            world.numbers[name] = number
        world.invoices["other"] = intake.submit_json(session, archive, other, example("invoice-fr-b2b", f"B-{tag}-1")).id
        world.numbers["other"] = f"B-{tag}-1"
    return world


def receive_invoice(app, tenant_name: str, number: str, source: str = "invoice-fr-b2b") -> str:
    """An invoice a partner sent `tenant_name`, stored by the real reception (UBL in, validated, archived, 202 Reçue par la plateforme)."""
    database, archive = app.extensions["gateway.database"], app.extensions["gateway.archive"]
    ubl = write_ubl(intake.read_json(example(source, number)).invoice)
    with database.session() as session:
        tenant = session.scalar(select(Tenant).where(Tenant.name == tenant_name))
        received = receive(session, archive, tenant, ubl, "application/xml", channel="api", origin="partner-test")
        assert received.status == "202", received.reasons
        return received.invoice.id


def kill_delivery(session: Session, invoice_id: str) -> Delivery:
    """Put the invoice's delivery in the dead-letter queue the way a worker leaves it: one closed attempt refused by the network."""
    delivery = session.scalar(select(Delivery).where(Delivery.invoice_id == invoice_id))
    now = utcnow()
    attempt = DeliveryAttempt(delivery_id=delivery.id, number=1, worker="test-worker", started_at=now, finished_at=now, channel="chorus-pro")
    attempt.outcome, attempt.transient, attempt.error_code, attempt.error = OUTCOME_REJECTED, False, "SIRET", DELIVERY_ERROR
    session.add(attempt)
    delivery.state, delivery.channel, delivery.attempts, delivery.last_error = DEAD, "chorus-pro", 1, DELIVERY_ERROR
    delivery.decision = {"channel": "chorus-pro", "decided_by": "directory", "reason": "public-sector buyer in the directory", "steps": []}
    session.flush()
    return delivery


class Unavailable(BaseHTTPRequestHandler):
    """Answers every notification with 503, after reading it."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def receiver():
    """An ERP endpoint on loopback that is down for maintenance (503)."""
    server = HTTPServer(("127.0.0.1", 0), Unavailable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks"
    server.shutdown()


def failed_notification(app, tenant_name: str, url: str) -> tuple[str, str]:
    """A new invoice of the tenant announced to a subscription at `url`, sent once and failed: (delivery id, invoice number)."""
    database, archive = app.extensions["gateway.database"], app.extensions["gateway.archive"]
    number = f"W-{uuid.uuid4().hex[:8]}"
    with database.session() as session:
        tenant = session.scalar(select(Tenant).where(Tenant.name == tenant_name))
        if not any(subscription.url == url for subscription in sender.subscriptions(session, tenant.id)):
            sender.subscribe(session, app.extensions[WEBHOOK_KEY], tenant.id, url, ["invoice.accepted"])
            session.flush()
        invoice = intake.submit_json(session, archive, tenant, example("invoice-fr-b2b", number))
        to_url = WebhookDelivery.subscription.has(Subscription.url == url)  # the tenant may have other subscriptions
        delivery_id = session.scalar(select(WebhookDelivery.id).where(WebhookDelivery.invoice_id == invoice.id, to_url))
    sender.send_due(database)
    return delivery_id, number


@pytest.fixture(scope="session")
def portal_app(gateway_config):
    app = create_app(gateway_config)
    yield app
    app.extensions["gateway.database"].dispose()


@pytest.fixture(scope="session")
def world(portal_app) -> World:
    return populate(portal_app)


def csrf(client) -> str:
    """The CSRF token of the client's session (created by visiting the sign-in page when there is none)."""
    with client.session_transaction("/portal/") as state:
        token = state.get("csrf")
    if token is None:
        client.get("/portal/sign-in")
        with client.session_transaction("/portal/") as state:
            token = state["csrf"]
    return token


def sign_in(client, email: str, password: str = PASSWORD, **extra):
    return client.post("/portal/sign-in", data={"email": email, "password": password, "csrf_token": csrf(client), **extra})


@pytest.fixture
def signed_in(portal_app, world):
    """`signed_in(role)`: a test client signed in as tenant A's user of that role."""

    def make(role: str = COMPLIANCE_OFFICER):
        client = portal_app.test_client()
        assert sign_in(client, world.users[role]).status_code == 302
        return client

    return make

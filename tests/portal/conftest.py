"""The portal under test: one app per database, two tenants with users of every role and a few real invoices.

Invoices go through the real intake (generation, official validation, archive), so the pages
show what the gateway really stores: a valid invoice, a credit note and two rejected ones
for tenant A, one invoice for tenant B.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway import intake
from gateway.app import create_app
from gateway.jobs.models import DEAD, OUTCOME_REJECTED, Delivery, DeliveryAttempt
from gateway.portal.auth import create_user
from gateway.portal.models import ADMINISTRATOR, COMPLIANCE_OFFICER, OPERATOR
from gateway.store.models import utcnow
from gateway.store.tenants import create_tenant
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

"""Every route of the app against the authorisation matrix of auth_matrix.py (also the table in docs/reliability.md):
no credentials, another tenant's credentials on this tenant's objects, a revoked key, every portal role.

Objects of tenant A are made for real (an accepted invoice with its outbox delivery, a webhook subscription and
delivery, a received invoice, portal users); tenant B's key and administrator then try each of them.
"""

from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.archive.models import ArchiveEntry
from gateway.dunning import service as dunning
from gateway.dunning.channels import Mailer
from gateway.dunning.settings import DunningSettings
from gateway.jobs.models import Delivery
from gateway.portal.auth import create_user
from gateway.portal.models import ADMINISTRATOR, COMPLIANCE_OFFICER, OPERATOR, ROLES, PortalUser
from gateway.store.tenants import create_api_key, create_tenant, revoke_api_key
from tests.conftest import load_example
from tests.portal.conftest import PASSWORD, csrf, sign_in
from tests.recurring.helpers import schedule as recurring_schedule
from tests.security.auth_matrix import PORTAL_PERMISSIONS, Row, lacking, markdown, rows
from tests.validation.conftest import fixture

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}


@dataclass
class Tenant:
    name: str
    key: str
    users: dict[str, str] = field(default_factory=dict)  # role → e-mail
    objects: dict[str, str] = field(default_factory=dict)  # path parameter → one of its objects
    markers: list[str] = field(default_factory=list)  # strings only this tenant's data contains


def _tenant(app: Flask) -> Tenant:
    tag = uuid.uuid4().hex[:8]
    with app.extensions["gateway.database"].session() as session:
        tenant = create_tenant(session, f"matrix-{tag}")
        key = create_api_key(session, tenant)
        users = {role: create_user(session, tenant, f"{role}-{tag}@matrix.example", role, PASSWORD).email for role in ROLES}
    return Tenant(f"matrix-{tag}", key, users)


def _populate(app: Flask, tenant: Tenant) -> None:
    """An accepted invoice (with its outbox delivery and webhook delivery) and a received invoice, all of `tenant`."""
    client, headers = app.test_client(), {"Authorization": f"Bearer {tenant.key}"}
    subscription = client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["invoice.accepted"]}, headers=headers)
    data = copy.deepcopy(load_example("invoice-fr-b2b"))
    data["number"] = f"MATRIX-{uuid.uuid4().hex[:10]}"
    invoice = client.post("/api/v1/invoices", json=data, headers=headers).get_json()
    received = client.post("/api/v1/inbound", data=fixture("fr-invoice-cii.xml"), content_type="application/xml", headers=headers)
    statement = (Path(__file__).parents[1] / "payments" / "data" / "camt054_v02.xml").read_bytes()
    line = client.post("/api/v1/bank-statements", data=statement, headers=headers).get_json()["lines"][0]["id"]
    webhook = client.get("/api/v1/webhooks/deliveries", headers=headers).get_json()["items"][0]
    policy = {"tiers": [{"name": "notice", "days": 1, "channels": ["letter"], "tone": "formal_notice"}]}
    assert client.put("/api/v1/dunning/policies/default", json=policy, headers=headers).status_code == 200
    schedule = client.post("/api/v1/recurring/schedules", json=recurring_schedule("MATRIX", "yearly", "2027-01-01"), headers=headers).get_json()
    with app.extensions["gateway.database"].session() as session:
        delivery = session.scalar(select(Delivery.id).where(Delivery.invoice_id == invoice["id"]))
        seq = session.scalar(select(ArchiveEntry.seq).where(ArchiveEntry.invoice_id == invoice["id"]).limit(1))
        user = session.scalar(select(PortalUser.id).where(PortalUser.email == tenant.users[COMPLIANCE_OFFICER]))
        tenant_id = session.scalar(select(PortalUser.tenant_id).where(PortalUser.id == user))
    database, archive = app.extensions["gateway.database"], app.extensions["gateway.archive"]
    dunning.run(database, archive, Mailer(database.config), DunningSettings(), date(2027, 3, 1), tenant_id=tenant_id)
    with database.session() as session:
        [reminder] = [r.id for r in dunning.reminders_of(session, invoice["id"])]
    tenant.objects = {
        "invoice_id": invoice["id"],
        "delivery_id": delivery,
        "webhook_delivery_id": webhook["id"],
        "subscription_id": subscription.get_json()["id"],
        "reception_id": received.get_json()["id"],
        "user_id": str(user),
        "line_id": str(line),
        "reminder_id": reminder,
        "schedule_id": schedule["id"],
        "name": "default",
        "seq": str(seq),
        "kind": "cii",
        "lang": "en",
        "filename": "portal.css",
        "code": "invalid_invoice",
    }
    tenant.markers = [
        invoice["id"],
        data["number"],
        delivery,
        webhook["id"],
        subscription.get_json()["id"],
        received.get_json()["id"],
        schedule["id"],
    ]


@pytest.fixture(scope="module")
def tenants(app) -> tuple[Tenant, Tenant, str]:
    """Tenants A (with objects) and B, and a revoked key of A."""
    a, b = _tenant(app), _tenant(app)
    _populate(app, a)
    with app.extensions["gateway.database"].session() as session:
        revoked = create_api_key(session, create_tenant(session, f"revoked-{uuid.uuid4().hex[:8]}"))
        revoke_api_key(session, revoked)
    return a, b, revoked


def _path(row: Row, owner: Tenant) -> str:
    """The route's path filled with `owner`'s objects (the webhook delivery for the webhook routes)."""
    values = {}
    for name in row.rule.arguments:
        key = "webhook_delivery_id" if name == "delivery_id" and "webhook" in row.rule.rule else name
        if key not in owner.objects:
            raise KeyError(f"no test object for <{name}> of {row.rule.rule}: add one to _populate")
        values[name] = owner.objects[key]
    path = row.rule.rule
    for name, value in values.items():
        path = re.sub(rf"<(?:[^>]*:)?{name}>", value, path)
    return path


def _body(row: Row, owner: Tenant) -> dict:
    return {"ids": [owner.objects["reception_id"]]} if row.endpoint == "inbound.ack_many" else {}


def _api_call(client: FlaskClient, row: Row, owner: Tenant, key: str | None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.open(_path(row, owner), method=row.method, headers=headers, json=_body(row, owner), environ_base=LOOPBACK)


def _portal_client(app: Flask, email: str | None) -> FlaskClient:
    client = app.test_client()
    if email is not None:
        assert sign_in(client, email).status_code == 302
    return client


def _portal_call(client: FlaskClient, row: Row, owner: Tenant, *, with_csrf: bool = True):
    data = {"csrf_token": csrf(client)} if row.method == "POST" and with_csrf else None
    return client.open(_path(row, owner), method=row.method, data=data)


def test_every_api_route_refuses_missing_and_revoked_keys_and_hides_other_tenants(app, tenants):
    a, b, revoked = tenants
    client, wrong = app.test_client(), []
    for row in (r for r in rows(app) if r.kind == "api"):
        for key in (None, revoked, "gw_" + "0" * 40):
            response = _api_call(client, row, a, key)
            if response.status_code != 401 or not response.headers.get("WWW-Authenticate", "").startswith("Bearer"):
                wrong.append((row.method, row.rule.rule, "key" if key else "no key", response.status_code))
        response = _api_call(client, row, a, b.key)
        if row.has_object and response.status_code != 404:
            wrong.append((row.method, row.rule.rule, "tenant B", response.status_code))
        elif not row.has_object and row.method == "GET":
            leaked = [marker for marker in a.markers if marker in response.get_data(as_text=True)]
            if response.status_code != 200 or leaked:
                wrong.append((row.method, row.rule.rule, "tenant B", response.status_code, leaked))
    assert wrong == []
    # tenant A's objects are untouched: its reception still unacknowledged, its subscription still there
    assert client.get("/api/v1/inbox", headers={"Authorization": f"Bearer {a.key}"}).get_json()["items"][0]["id"] == a.objects["reception_id"]
    assert len(client.get("/api/v1/webhooks", headers={"Authorization": f"Bearer {a.key}"}).get_json()["items"]) == 1


def test_every_portal_route_needs_a_session_the_right_role_and_the_same_tenant(app, tenants):
    a, b, _revoked = tenants
    anonymous, wrong = _portal_client(app, None), []
    as_role = {role: _portal_client(app, email) for role, email in a.users.items()}
    other_admin = _portal_client(app, b.users[ADMINISTRATOR])
    for row in (r for r in rows(app) if r.kind == "portal"):
        response = _portal_call(anonymous, row, a)
        if response.status_code != 302 or "/portal/sign-in" not in response.headers.get("Location", ""):
            wrong.append((row.method, row.rule.rule, "anonymous", response.status_code))
        refused = set(lacking(PORTAL_PERMISSIONS[row.endpoint]))
        for role in ROLES:
            if role in refused and (status := _portal_call(as_role[role], row, a).status_code) != 403:
                wrong.append((row.method, row.rule.rule, role, status))
        if row.endpoint == "portal.sign_out":
            continue  # would end B's administrator's session for the rest of the test
        if row.has_object:
            if (status := _portal_call(other_admin, row, a).status_code) != 404:
                wrong.append((row.method, row.rule.rule, "tenant B administrator", status))
        elif row.method == "GET":
            response = _portal_call(other_admin, row, a)
            leaked = [marker for marker in a.markers if marker in response.get_data(as_text=True)]
            if response.status_code != 200 or leaked:
                wrong.append((row.method, row.rule.rule, "tenant B administrator", response.status_code, leaked))
    assert wrong == []
    assert as_role[OPERATOR].get(f"/portal/invoices/{a.objects['invoice_id']}").status_code == 200  # still signed in: nothing above broke it


def test_portal_posts_without_the_csrf_token_are_400(app, tenants):
    a, _b, _revoked = tenants
    administrator = _portal_client(app, a.users[ADMINISTRATOR])
    for row in (r for r in rows(app) if r.kind == "portal" and r.method == "POST"):
        assert _portal_call(administrator, row, a, with_csrf=False).status_code == 400, row.rule.rule


def test_public_routes_answer_without_credentials(app, tenants):
    a, _b, _revoked = tenants
    client = app.test_client()
    for row in (r for r in rows(app) if r.kind == "public"):
        data = {"csrf_token": csrf(client), "email": "nobody@matrix.example", "password": "x"} if row.method == "POST" else None
        response = client.open(_path(row, a), method=row.method, data=data, environ_base=LOOPBACK)
        assert response.status_code in ((404,) if row.endpoint == "static" else (200, 302)), (row.rule.rule, response.status_code)
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 403


def test_metrics_token_when_set(app, gateway_config):
    import dataclasses

    from gateway.app import create_app

    guarded = create_app(dataclasses.replace(gateway_config, metrics_token="s3cret-token"))
    client = guarded.test_client()
    assert client.get("/metrics", environ_base=LOOPBACK).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"}, environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
    guarded.extensions["gateway.database"].dispose()


def test_the_documented_table_is_this_matrix(app):
    """docs/reliability.md shows exactly the matrix these tests check (regenerate: python -m tests.security.auth_matrix)."""
    assert markdown(rows(app)) in DOCS.read_text(encoding="utf-8")

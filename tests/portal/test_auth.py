"""Accounts, sign-in, sessions that expire, CSRF, roles and tenancy, on SQLite and PostgreSQL (Flask test client)."""

from __future__ import annotations

import io
import sys
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from gateway.cli import main
from gateway.portal.auth import MAX_FAILED_ATTEMPTS, AccountError, create_user
from gateway.portal.models import ADMINISTRATOR, COMPLIANCE_OFFICER, OPERATOR, PortalUser
from gateway.store.models import utcnow
from gateway.store.tenants import get_tenant
from tests.portal.conftest import PASSWORD, csrf, sign_in


def _user(portal_app, email: str) -> PortalUser:
    with portal_app.extensions["gateway.database"].session() as session:
        return session.scalar(select(PortalUser).where(PortalUser.email == email))


def _new_user(portal_app, world, role: str = COMPLIANCE_OFFICER) -> str:
    with portal_app.extensions["gateway.database"].session() as session:
        return create_user(session, get_tenant(session, world.tenant), f"{uuid.uuid4().hex[:8]}@example.test", role, PASSWORD).email


def test_passwords_are_stored_as_salted_scrypt_hashes(portal_app, world):
    user = _user(portal_app, world.users[COMPLIANCE_OFFICER])
    assert user.password_hash.startswith("scrypt:") and PASSWORD not in user.password_hash
    with portal_app.extensions["gateway.database"].session() as session:
        tenant = get_tenant(session, world.tenant)
        with pytest.raises(AccountError, match="12"):
            create_user(session, tenant, "short@example.test", OPERATOR, "too short")
        with pytest.raises(AccountError, match="role"):
            create_user(session, tenant, "role@example.test", "superuser", PASSWORD)
        with pytest.raises(AccountError, match="already exists"):
            create_user(session, tenant, world.users[OPERATOR].upper(), OPERATOR, PASSWORD)


def test_pages_need_a_session_and_sign_in_leads_back(portal_app, world):
    client = portal_app.test_client()
    response = client.get("/portal/invoices?status=200")
    assert response.status_code == 302 and "/portal/sign-in?next=" in response.headers["Location"]
    assert client.get("/").headers["Location"].endswith("/portal/")
    response = sign_in(client, world.users[COMPLIANCE_OFFICER], next="/portal/invoices?status=200")
    assert response.headers["Location"] == "/portal/invoices?status=200"
    assert client.get("/portal/invoices?status=200").status_code == 200


def test_sign_in_never_redirects_off_site(portal_app, world):
    client = portal_app.test_client()
    for target in ("https://evil.example/", "//evil.example/portal", "/api/v1/invoices"):
        assert sign_in(client, world.users[COMPLIANCE_OFFICER], next=target).headers["Location"] == "/portal/"


def test_wrong_credentials_are_refused_alike_and_repeated_failures_lock(portal_app, world):
    client = portal_app.test_client()
    unknown = sign_in(client, "nobody@example.test")
    email = _new_user(portal_app, world)
    wrong = sign_in(client, email, "wrong password!")
    assert unknown.status_code == wrong.status_code == 200
    assert "incorrect" in unknown.get_data(as_text=True) and "incorrect" in wrong.get_data(as_text=True)
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        sign_in(client, email, "wrong password!")
    assert sign_in(client, email).status_code == 200  # the right password, but locked
    with portal_app.extensions["gateway.database"].session() as session:
        user = session.scalar(select(PortalUser).where(PortalUser.email == email))
        user.locked_until = utcnow() - timedelta(seconds=1)
    assert sign_in(client, email).status_code == 302


def test_sign_out_ends_every_session_of_the_user(portal_app, world):
    email = _new_user(portal_app, world)
    laptop, tablet = portal_app.test_client(), portal_app.test_client()
    sign_in(laptop, email), sign_in(tablet, email)
    assert laptop.post("/portal/sign-out", data={"csrf_token": csrf(laptop)}).status_code == 302
    assert laptop.get("/portal/").status_code == 302
    assert tablet.get("/portal/").headers["Location"].startswith("/portal/sign-in")


def test_disabled_user_is_signed_out_and_cannot_sign_in(portal_app, world):
    email = _new_user(portal_app, world)
    client = portal_app.test_client()
    sign_in(client, email)
    with portal_app.extensions["gateway.database"].session() as session:
        session.scalar(select(PortalUser).where(PortalUser.email == email)).disabled_at = utcnow()
    assert client.get("/portal/").status_code == 302
    assert sign_in(client, email).status_code == 200


@pytest.mark.parametrize("key, age", [("seen", 31 * 60), ("since", 13 * 3600)])
def test_sessions_expire_when_idle_and_after_hours(signed_in, key, age):
    client = signed_in()
    assert client.get("/portal/").status_code == 200
    with client.session_transaction("/portal/") as state:
        state[key] = time.time() - age
    response = client.get("/portal/invoices")
    assert response.status_code == 302 and "/portal/sign-in" in response.headers["Location"]
    assert "session" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_every_post_needs_the_session_csrf_token(portal_app, world, signed_in):
    anonymous = portal_app.test_client()
    refused = anonymous.post("/portal/sign-in", data={"email": world.users[OPERATOR], "password": PASSWORD})
    assert refused.status_code == 400 and "formulaire a expiré" in refused.get_data(as_text=True)
    operator = signed_in(OPERATOR)
    for token in (None, "forged", csrf(anonymous)):
        data = {} if token is None else {"csrf_token": token}
        assert operator.post("/portal/operations/checkpoint", data=data).status_code == 400
        assert operator.post("/portal/sign-out", data=data).status_code == 400
    assert operator.get("/portal/").status_code == 200  # still signed in


def test_compliance_officer_reads_everything_and_changes_nothing(signed_in, world):
    officer = signed_in(COMPLIANCE_OFFICER)
    page = officer.get(f"/portal/invoices/{world.invoices['valid']}").get_data(as_text=True)
    assert "Opérations" not in page and "Signer un point de contrôle" not in page
    assert officer.get("/portal/operations").status_code == 403
    assert officer.post("/portal/operations/checkpoint", data={"csrf_token": csrf(officer)}).status_code == 403


@pytest.mark.parametrize("role", [OPERATOR, ADMINISTRATOR])
def test_operators_and_administrators_can_sign_a_checkpoint(portal_app, signed_in, world, role):
    client = signed_in(role)
    page = client.get("/portal/operations").get_data(as_text=True)
    assert world.numbers["wrong_total"] in page and "BR-CO-15" in page
    response = client.post("/portal/operations/checkpoint", data={"csrf_token": csrf(client)})
    assert response.status_code == 302
    assert "Point de contrôle" in client.get(response.headers["Location"]).get_data(as_text=True)
    with portal_app.extensions["gateway.database"].session() as session:
        checkpoint = portal_app.extensions["gateway.archive"].latest_checkpoint(session)
        assert checkpoint.tree_size == portal_app.extensions["gateway.archive"].head(session)[0]


def test_another_tenants_invoice_does_not_exist(signed_in, world):
    client = signed_in(ADMINISTRATOR)
    other = world.invoices["other"]
    for path in (
        f"/portal/invoices/{other}",
        f"/portal/invoices/{other}/verify",
        f"/portal/invoices/{other}/documents/facturx",
        f"/portal/invoices/{other}/proofs/1.json",
    ):
        response = client.get(path)
        assert response.status_code == 404 and "autre organisation" in response.get_data(as_text=True)
    assert client.get("/portal/invoices/not-a-uuid").status_code == 404
    for path in ("/portal/invoices", "/portal/invoices.csv", "/portal/", "/portal/operations"):
        assert world.numbers["other"] not in client.get(path).get_data(as_text=True)


def test_session_cookie_and_pages_are_locked_down(portal_app, world):
    client = portal_app.test_client()
    cookie = sign_in(client, world.users[COMPLIANCE_OFFICER]).headers["Set-Cookie"]
    assert cookie.startswith("gateway_portal=") and all(flag in cookie for flag in ("HttpOnly", "SameSite=Lax", "Path=/portal"))
    response = client.get("/portal/")
    assert (
        "default-src 'self'" in response.headers["Content-Security-Policy"]
        and "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    )
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Content-Type-Options"] == "nosniff"


def test_cli_creates_users_reading_the_password_from_stdin(gateway_config, world, monkeypatch, capsys):
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(gateway_config.data_dir))
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gateway_config.database_url)
    monkeypatch.setenv("GATEWAY_CONFIG_DIR", str(gateway_config.config_dir))
    email = f"cli-{uuid.uuid4().hex[:8]}@example.test"
    args = ["users", "create", "--tenant", world.tenant, "--email", email, "--role", "operator"]
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(args) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(args) == 2 and "already exists" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main([*args[:4], "--email", "x" + email, "--role", "operator"]) == 2
    assert main(["users", "list", "--tenant", world.tenant]) == 0
    assert f"{email}\toperator\tactive" in capsys.readouterr().out

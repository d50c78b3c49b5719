"""The Users page: administrators list, create, re-role, disable and enable their tenant's accounts; nobody else may."""

from __future__ import annotations

import html
import uuid

import pytest
from sqlalchemy import select

from gateway.portal.models import ADMINISTRATOR, COMPLIANCE_OFFICER, OPERATOR, PortalUser
from tests.portal.conftest import PASSWORD, World, csrf, populate, sign_in


@pytest.fixture(scope="module")
def world(portal_app) -> World:
    """Tenants of this module's own: accounts are disabled here."""
    return populate(portal_app)


def account(portal_app, email: str) -> PortalUser:
    with portal_app.extensions["gateway.database"].session() as session:
        user = session.scalar(select(PortalUser).where(PortalUser.email == email))
        session.expunge(user)
        return user


def create(client, **fields):
    return client.post("/portal/users", data={"csrf_token": csrf(client), **fields})


def change(client, user_id: int, **fields):
    return client.post(f"/portal/users/{user_id}", data={"csrf_token": csrf(client), **fields})


def test_an_administrator_creates_an_account_that_can_sign_in(portal_app, world, signed_in):
    admin = signed_in(ADMINISTRATOR)
    page = html.unescape(admin.get("/portal/users").text)
    assert all(email in page for email in world.users.values()) and world.other_user not in page
    email = f"New.Operator-{uuid.uuid4().hex[:6]}@Example.test"
    response = create(admin, email=email, role=OPERATOR, password=PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal/users")
    assert f"Compte {email.lower()} créé avec le rôle Opérateur." in html.unescape(admin.get("/portal/users").text)
    created = account(portal_app, email.lower())
    assert created.role == OPERATOR and created.password_hash.startswith("scrypt:") and PASSWORD not in created.password_hash

    newcomer = portal_app.test_client()
    assert sign_in(newcomer, email, PASSWORD).status_code == 302
    assert newcomer.get("/portal/operations").status_code == 200 and newcomer.get("/portal/users").status_code == 403


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"email": "not an address", "role": OPERATOR, "password": PASSWORD}, "Saisissez une adresse e-mail valide."),
        ({"email": "short@example.test", "role": OPERATOR, "password": "too short"}, "Le mot de passe initial doit compter au moins 12 caractères."),
        ({"email": "role@example.test", "role": "superuser", "password": PASSWORD}, "Choisissez un rôle."),
    ],
)
def test_a_bad_account_is_refused_with_its_reason_in_the_form(signed_in, fields, message):
    response = create(signed_in(ADMINISTRATOR), **fields)
    text = html.unescape(response.text)
    assert response.status_code == 422 and message in text
    assert fields["password"] not in text  # the password is never sent back


def test_an_e_mail_already_taken_is_refused_in_english_too(signed_in, world):
    admin = signed_in(ADMINISTRATOR)
    admin.get("/portal/language/en")
    response = create(admin, email=world.users[OPERATOR], role=OPERATOR, password=PASSWORD)
    assert response.status_code == 422 and "An account with this e-mail address already exists." in response.text


def test_roles_change_and_a_disabled_account_is_signed_out_until_enabled(portal_app, world, signed_in):
    admin, officer = signed_in(ADMINISTRATOR), signed_in(COMPLIANCE_OFFICER)
    target = account(portal_app, world.users[COMPLIANCE_OFFICER])
    assert officer.get("/portal/operations").status_code == 403
    assert change(admin, target.id, action="role", role=OPERATOR).status_code == 302
    assert officer.get("/portal/operations").status_code == 200  # the role is read on every request

    assert change(admin, target.id, action="disable").status_code == 302
    assert "est désactivé" in html.unescape(admin.get("/portal/users").text)
    assert officer.get("/portal/").status_code == 302  # the session ended at once
    assert sign_in(portal_app.test_client(), target.email).status_code == 200  # and signing in is refused
    assert change(admin, target.id, action="enable").status_code == 302
    assert sign_in(portal_app.test_client(), target.email).status_code == 302
    change(admin, target.id, action="role", role=COMPLIANCE_OFFICER)
    assert account(portal_app, target.email).role == COMPLIANCE_OFFICER


def test_nobody_but_an_administrator_manages_accounts_and_never_their_own_or_another_tenants(portal_app, world, signed_in):
    admin = signed_in(ADMINISTRATOR)
    yourself = account(portal_app, world.users[ADMINISTRATOR])
    refused = change(admin, yourself.id, action="role", role=COMPLIANCE_OFFICER)
    assert refused.status_code == 422 and "Vous ne pouvez ni modifier votre propre rôle" in html.unescape(refused.text)
    assert change(admin, yourself.id, action="disable").status_code == 422
    assert account(portal_app, yourself.email).role == ADMINISTRATOR and account(portal_app, yourself.email).disabled_at is None

    theirs = account(portal_app, world.other_user)
    assert change(admin, theirs.id, action="disable").status_code == 404 and account(portal_app, world.other_user).disabled_at is None
    assert change(admin, account(portal_app, world.users[OPERATOR]).id, action="delete").status_code == 400
    assert admin.post("/portal/users", data={"email": "x@example.test", "role": OPERATOR, "password": PASSWORD}).status_code == 400  # no CSRF

    for role in (OPERATOR, COMPLIANCE_OFFICER):
        client = signed_in(role)
        assert client.get("/portal/users").status_code == 403
        assert create(client, email=f"{role}-made@example.test", role=ADMINISTRATOR, password=PASSWORD).status_code == 403
        assert change(client, yourself.id, action="disable").status_code == 403
        assert "/portal/users" not in client.get("/portal/").text  # not in the menu either
    assert 'href="/portal/users"' in admin.get("/portal/").text

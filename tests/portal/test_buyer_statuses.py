"""The buyer's statuses on an incoming invoice: operators set them under the reform's rules, compliance officers cannot.

Incoming invoices come from the real reception (a partner's UBL, validated and archived, 202 Reçue par la
plateforme); statuses go through `lifecycle.service.record` (strict), as the API's do.
"""

from __future__ import annotations

import html
import uuid

import pytest
from sqlalchemy import func, select

from gateway.archive.models import ArchiveEntry
from gateway.lifecycle import codes, parties
from gateway.lifecycle.models import LifecycleEvent
from gateway.portal.models import ADMINISTRATOR, COMPLIANCE_OFFICER, OPERATOR
from gateway.store import models as db
from tests.portal.conftest import World, csrf, populate, receive_invoice


@pytest.fixture(scope="module")
def world(portal_app) -> World:
    """Tenants of this module's own, so that the invoices received here do not change other modules' figures."""
    return populate(portal_app)


@pytest.fixture
def incoming(portal_app, world) -> str:
    return receive_invoice(portal_app, world.tenant, f"IN-{uuid.uuid4().hex[:8]}")


def post_status(client, invoice_id: str, **fields):
    return client.post(f"/portal/invoices/{invoice_id}/statuses", data={"csrf_token": csrf(client), **fields})


def page_of(client, path: str) -> str:
    """The page's text with HTML entities decoded (apostrophes are escaped in the HTML)."""
    return html.unescape(client.get(path).text)


def invoice_row(portal_app, invoice_id: str) -> tuple[str, list[str]]:
    """The invoice's status and the codes of its events, oldest first."""
    with portal_app.extensions["gateway.database"].session() as session:
        row = session.get(db.Invoice, invoice_id)
        return row.status, [event.code for event in sorted(row.events, key=lambda e: (e.time, e.id))]


def test_the_buyers_statuses_are_offered_by_what_may_follow():
    assert [s.code for s in parties.settable("incoming")] == ["204", "205", "206", "207", "208", "210", "211"]
    assert [s.code for s in parties.settable("outgoing")] == ["209", "211", "212"]
    assert [s.code for s in parties.settable("incoming", "202")] == ["204", "205", "206", "207", "208", "210", "211"]
    assert [s.code for s in parties.settable("incoming", "205")] == ["206", "207", "208", "210", "211"]
    assert parties.settable("incoming", "210") == []


def test_an_operator_takes_in_hand_suspends_and_refuses_with_the_reforms_rules(portal_app, world, signed_in, incoming):
    operator = signed_in(OPERATOR)
    page = page_of(operator, f"/portal/invoices/{incoming}")
    assert 'id="buyer-status"' in page and 'value="204"' in page and 'value="210"' in page and 'value="212"' not in page
    assert "Reçue par la plateforme" in page.split('id="timeline"')[1]

    response = post_status(operator, incoming, code="204")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/portal/invoices/{incoming}#timeline")
    assert invoice_row(portal_app, incoming) == ("204", ["202", "204"])
    page = page_of(operator, f"/portal/invoices/{incoming}")
    assert "Statut 204 Prise en charge enregistré." in page
    assert f"Portail — {world.users[OPERATOR]}" in page.split('id="timeline"')[1] and "en tant que acheteur" in page

    # 208 Suspendue needs a reason and a comment: both fields say so, in French, and nothing is recorded.
    refused = post_status(operator, incoming, code="208")
    text = html.unescape(refused.text)
    assert refused.status_code == 422 and "208 Suspendue exige un motif." in text and "208 Suspendue exige un commentaire" in text
    assert 'id="reason_code" name="reason_code" aria-invalid="true"' in text
    assert invoice_row(portal_app, incoming)[0] == "204"
    # A reason the reform does not allow for 208.
    text = html.unescape(post_status(operator, incoming, code="208", reason_code="DOUBLON", comment="Bon de commande ?").text)
    assert "La réforme n'autorise pas ce motif pour 208 Suspendue." in text and "Bon de commande ?" in text  # the comment is kept

    assert post_status(operator, incoming, code="208", reason_code="CMD_ERR", comment="Numéro de commande manquant").status_code == 302
    assert post_status(operator, incoming, code="210", reason_code="TX_TVA_ERR", comment="Taux de TVA de 20 % au lieu de 5,5 %").status_code == 302
    assert invoice_row(portal_app, incoming) == ("210", ["202", "204", "208", "210"])
    page = page_of(operator, f"/portal/invoices/{incoming}")
    timeline = page.split('id="timeline"')[1].split('id="buyer-status"')[0]
    assert "TX_TVA_ERR" in timeline and "Taux de TVA erroné" in timeline and "Taux de TVA de 20 % au lieu de 5,5 %" in timeline
    assert "son cycle de vie est terminé" in page and 'name="code"' not in page  # 210 ends the invoice's life: no form any more

    with portal_app.extensions["gateway.database"].session() as session:
        lives = session.scalars(
            select(LifecycleEvent)
            .join(db.StatusEvent, db.StatusEvent.id == LifecycleEvent.status_event_id)
            .where(db.StatusEvent.invoice_id == incoming)
        ).all()
        ours = [life for life in lives if life.actor == f"portal:{world.users[OPERATOR]}"]
        assert [(life.role, life.applied) for life in ours] == [(codes.BUYER, True)] * 3
        sources = session.scalars(select(db.StatusEvent.source).where(db.StatusEvent.invoice_id == incoming, db.StatusEvent.code == "210")).all()
        assert sources == ["portal"]
        archived = session.scalar(
            select(func.count()).select_from(ArchiveEntry).where(ArchiveEntry.invoice_id == incoming, ArchiveEntry.kind == "status")
        )
        assert archived == 4  # the reception's 202 and the three statuses set here


def test_errors_are_shown_in_english_too_and_a_payment_carries_its_amount(portal_app, signed_in, incoming):
    admin = signed_in(ADMINISTRATOR)
    admin.get("/portal/language/en")
    text = html.unescape(post_status(admin, incoming, code="210").text)
    assert "210 Refused needs a reason." in text and "210 Refused needs a comment saying why." in text
    text = html.unescape(post_status(admin, incoming, code="211", amount="twelve").text)
    assert "Enter the amount paid, for example 1,234.56." in text
    assert post_status(admin, incoming, code="211", amount="14 973,81", paid_on="2026-01-15").status_code == 302
    page = page_of(admin, f"/portal/invoices/{incoming}")
    assert "Payment sent" in page and "€14,973.81" in page and "15 Jan 2026" in page
    assert invoice_row(portal_app, incoming)[0] == "211"


def test_a_compliance_officer_sees_no_form_and_cannot_post(portal_app, signed_in, incoming):
    officer = signed_in(COMPLIANCE_OFFICER)
    page = page_of(officer, f"/portal/invoices/{incoming}")
    assert 'id="buyer-status"' not in page and "/statuses" not in page
    assert post_status(officer, incoming, code="205").status_code == 403
    assert invoice_row(portal_app, incoming) == ("202", ["202"])


def test_no_buyer_status_on_an_outgoing_or_another_tenants_invoice(portal_app, world, signed_in, incoming):
    operator = signed_in(OPERATOR)
    outgoing = world.invoices["valid"]
    assert 'id="buyer-status"' not in page_of(operator, f"/portal/invoices/{outgoing}")
    assert post_status(operator, outgoing, code="205").status_code == 403  # the tenant is the seller of its outgoing invoices
    refused = post_status(operator, incoming, code="212")  # the seller's status, on an incoming invoice
    assert refused.status_code == 422 and "Choisissez l'un des statuts proposés." in html.unescape(refused.text)
    assert invoice_row(portal_app, outgoing)[0] == "200"
    theirs = receive_invoice(portal_app, world.other_tenant, f"IN-B-{uuid.uuid4().hex[:8]}")
    assert post_status(operator, theirs, code="205").status_code == 404
    assert operator.post(f"/portal/invoices/{incoming}/statuses", data={"code": "205"}).status_code == 400  # no CSRF token
    assert invoice_row(portal_app, theirs)[0] == invoice_row(portal_app, incoming)[0] == "202"

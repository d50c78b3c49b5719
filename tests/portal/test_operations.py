"""Deliveries in the portal: the invoice's attempts, the dashboard's figures, the dead-letter queue and its Retry action.

A dead delivery is made the way a worker leaves one: the intake's outbox row gets a closed,
permanent-failure attempt and the state "dead" (the deliverer's own tests cover how it gets there).
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from gateway import intake
from gateway.jobs.models import DEAD, PENDING, UNROUTABLE, Delivery
from gateway.portal.models import COMPLIANCE_OFFICER, OPERATOR
from gateway.routing.models import DirectoryEntry
from gateway.store import models as db
from tests.portal.conftest import DELIVERY_ERROR as ERROR
from tests.portal.conftest import World, csrf, example, kill_delivery, populate


@pytest.fixture(scope="module")
def world(portal_app) -> World:
    """Tenants of this module's own: the dead deliveries made here must not change the figures the other modules check."""
    return populate(portal_app)


def dead_delivery(portal_app, tenant_name: str) -> tuple[str, str]:
    """A new invoice of `tenant_name` whose delivery is in the dead-letter queue: (delivery id, invoice id)."""
    database, archive = portal_app.extensions["gateway.database"], portal_app.extensions["gateway.archive"]
    number = f"D-{uuid.uuid4().hex[:8]}"
    with database.session() as session:
        tenant = session.scalar(select(db.Tenant).where(db.Tenant.name == tenant_name))
        invoice = intake.submit_json(session, archive, tenant, example("invoice-fr-b2b", number))
        return kill_delivery(session, invoice.id).id, invoice.id


def state_of(portal_app, delivery_id: str) -> str:
    with portal_app.extensions["gateway.database"].session() as session:
        return session.get(Delivery, delivery_id).state


def retry(client, delivery_id: str):
    return client.post(f"/portal/operations/deliveries/{delivery_id}/retry", data={"csrf_token": csrf(client)})


def test_an_operator_retries_a_dead_delivery_and_it_is_pending_again(portal_app, world, signed_in):
    delivery_id, invoice_id = dead_delivery(portal_app, world.tenant)
    operator = signed_in(OPERATOR)
    page = operator.get("/portal/operations").get_data(as_text=True)
    assert f"/portal/invoices/{invoice_id}#deliveries" in page and ERROR in page and f"/portal/operations/deliveries/{delivery_id}/retry" in page

    response = retry(operator, delivery_id)
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal/operations#dead-letter")
    assert state_of(portal_app, delivery_id) == PENDING
    assert "sera relancé sous peu" in operator.get("/portal/operations").get_data(as_text=True)
    assert retry(operator, delivery_id).status_code == 302  # no longer dead: refused with a message, nothing changes
    assert state_of(portal_app, delivery_id) == PENDING


def test_an_unroutable_delivery_is_in_the_queue_and_is_routed_again_on_retry(portal_app, world, signed_in):
    delivery_id, _invoice_id = dead_delivery(portal_app, world.tenant)
    with portal_app.extensions["gateway.database"].session() as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.state, delivery.channel = UNROUTABLE, None
    operator = signed_in(OPERATOR)
    assert f"/portal/operations/deliveries/{delivery_id}/retry" in operator.get("/portal/operations").get_data(as_text=True)
    assert retry(operator, delivery_id).status_code == 302
    with portal_app.extensions["gateway.database"].session() as session:
        delivery = session.get(Delivery, delivery_id)
        assert (delivery.state, delivery.decision) == (PENDING, None)


def test_a_compliance_officer_cannot_retry(portal_app, world, signed_in):
    delivery_id, _invoice_id = dead_delivery(portal_app, world.tenant)
    officer = signed_in(COMPLIANCE_OFFICER)
    assert retry(officer, delivery_id).status_code == 403
    assert state_of(portal_app, delivery_id) == DEAD


def test_another_tenants_delivery_is_a_404_and_a_missing_token_a_400(portal_app, world, signed_in):
    delivery_id, _invoice_id = dead_delivery(portal_app, world.other_tenant)
    operator = signed_in(OPERATOR)
    assert retry(operator, delivery_id).status_code == 404
    assert retry(operator, "not-a-delivery").status_code == 404
    assert operator.post(f"/portal/operations/deliveries/{delivery_id}/retry").status_code == 400
    assert state_of(portal_app, delivery_id) == DEAD


def test_the_invoice_page_shows_each_attempt_and_the_dashboard_counts_dead_letters(portal_app, world, signed_in):
    _delivery_id, invoice_id = dead_delivery(portal_app, world.tenant)
    client = signed_in(COMPLIANCE_OFFICER)
    page = client.get(f"/portal/invoices/{invoice_id}").get_data(as_text=True)
    assert "chorus-pro" in page and ERROR in page and "public-sector buyer in the directory" in page
    assert "refusée par le réseau" in page and "lettre morte" in page and "retry-delivery" not in page
    assert 'class="button button-primary retry-delivery"' in signed_in(OPERATOR).get(f"/portal/invoices/{invoice_id}").get_data(as_text=True)

    dashboard = client.get("/portal/").get_data(as_text=True)
    kpi = dashboard.split('id="kpi-deliveries">')[1].split("<")[0]
    assert int(kpi) >= 1
    assert '?channel=chorus-pro">chorus-pro</a>' in dashboard.split('id="by-channel"')[1]  # not a channel the list filters by

    pending = client.get(f"/portal/invoices/{world.invoices['valid']}").get_data(as_text=True)
    assert "attend un processus" in pending
    rejected = client.get(f"/portal/invoices/{world.invoices['wrong_total']}").get_data(as_text=True)
    assert "ne sont pas envoyées" in rejected


def test_the_operations_page_lists_the_tenants_routing_directory(portal_app, world, signed_in):
    name = f"Mairie {uuid.uuid4().hex[:6]}"
    with portal_app.extensions["gateway.database"].session() as session:
        tenant = session.scalar(select(db.Tenant).where(db.Tenant.name == world.tenant))
        other = session.scalar(select(db.Tenant).where(db.Tenant.name == world.other_tenant))
        siret = uuid.uuid4().int % 10**14
        session.add(
            DirectoryEntry(tenant_id=tenant.id, scheme="0009", identifier=f"{siret:014d}", name=name, channel="chorus-pro", public_sector=True)
        )
        session.add(DirectoryEntry(tenant_id=other.id, scheme="0009", identifier=f"{siret:014d}", name=f"{name} (B)", email="b@example.test"))
    page = signed_in(OPERATOR).get("/portal/operations").get_data(as_text=True)
    assert name in page and f"0009:{siret:014d}" in page and "secteur public" in page
    assert f"{name} (B)" not in page

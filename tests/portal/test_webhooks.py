"""Webhook deliveries in the portal: the list an operator reads (the API's query) and the replay (the API's function).

Notifications are really sent by `webhooks.sender` to a loopback receiver that answers 503, so the page
shows a real attempt: its HTTP status, its time, the next try.
"""

from __future__ import annotations

import html

import pytest

from gateway.portal.models import COMPLIANCE_OFFICER, OPERATOR
from gateway.webhooks.models import FAILED, PENDING, RETRYING, WebhookDelivery
from tests.portal.conftest import World, csrf, failed_notification, populate


@pytest.fixture
def world(portal_app) -> World:
    """New tenants for each test: the pages list a tenant's deliveries by state, which the other tests' deliveries would change."""
    return populate(portal_app)


def delivery(portal_app, delivery_id: str) -> WebhookDelivery:
    with portal_app.extensions["gateway.database"].session() as session:
        row = session.get(WebhookDelivery, delivery_id)
        session.expunge(row)
        return row


def replay(client, delivery_id: str):
    return client.post(f"/portal/operations/webhooks/{delivery_id}/replay", data={"csrf_token": csrf(client)})


def test_an_operator_sees_the_failed_attempt_and_replays_it(portal_app, world, signed_in, receiver):
    delivery_id, number = failed_notification(portal_app, world.tenant, receiver)
    assert delivery(portal_app, delivery_id).state == RETRYING
    operator = signed_in(OPERATOR)
    page = html.unescape(operator.get("/portal/operations/webhooks").text)
    row = next(row for row in page.split("<tr>") if number in row).split("</tr>")[0]
    assert "invoice.accepted" in row and "HTTP 503" in row and "en échec, nouvelle tentative prévue" in row and receiver in row
    assert f"/portal/operations/webhooks/{delivery_id}/replay" in page

    response = replay(operator, delivery_id)
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal/operations/webhooks")
    replayed = delivery(portal_app, delivery_id)
    assert (replayed.state, replayed.attempts) == (PENDING, 0)
    assert "La notification invoice.accepted sera renvoyée sous peu." in html.unescape(operator.get("/portal/operations/webhooks").text)

    only_failed = operator.get("/portal/operations/webhooks?state=failed").text
    assert delivery_id not in only_failed and "Aucune notification dans cet état." in only_failed


def test_a_compliance_officer_cannot_see_or_replay_webhooks(portal_app, world, signed_in, receiver):
    delivery_id, _number = failed_notification(portal_app, world.tenant, receiver)
    officer = signed_in(COMPLIANCE_OFFICER)
    assert officer.get("/portal/operations/webhooks").status_code == 403
    assert replay(officer, delivery_id).status_code == 403
    assert delivery(portal_app, delivery_id).state == RETRYING


def test_another_tenants_delivery_is_a_404_and_the_english_page_reads_in_english(portal_app, world, signed_in, receiver):
    theirs, _number = failed_notification(portal_app, world.other_tenant, receiver)
    operator = signed_in(OPERATOR)
    assert replay(operator, theirs).status_code == 404 and replay(operator, "not-a-delivery").status_code == 404
    assert delivery(portal_app, theirs).state == RETRYING
    operator.get("/portal/language/en")
    page = operator.get("/portal/operations/webhooks").text
    assert theirs not in page and "Webhook deliveries" in page and "Replay" in page


def test_a_delivery_the_ssrf_guard_refuses_is_shown_failed_with_the_reason(portal_app, world, signed_in):
    metadata = "http://169.254.169.254/latest/meta-data/"
    delivery_id, number = failed_notification(portal_app, world.tenant, metadata)
    assert delivery(portal_app, delivery_id).state == FAILED  # at once: a retry would not change the address
    page = html.unescape(signed_in(OPERATOR).get("/portal/operations/webhooks").text)
    row = next(row for row in page.split("<tr>") if f"/portal/operations/webhooks/{delivery_id}/replay" in row).split("</tr>")[0]
    assert number in row and metadata in row and "échec" in row
    assert "not sent: host 169.254.169.254 is not reachable from the gateway: 169.254.169.254 is a link-local address" in row


def test_an_unknown_state_filter_is_named_with_a_400(world, signed_in):
    response = signed_in(OPERATOR).get("/portal/operations/webhooks?state=exploded")
    assert response.status_code == 400 and "ignorés" in response.text and ": state." in response.text
    assert signed_in(OPERATOR).get("/portal/operations/webhooks?state=failed").status_code == 200

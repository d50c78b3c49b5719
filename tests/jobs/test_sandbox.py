"""A tenant with no channel configured (a fresh install): its invoices go to the sandbox, whose simulated recipient's
statuses are played back through the status polling, labelled as sandbox in the route, the delivery, the timeline and
the webhooks; once a real channel is configured, nothing goes to the sandbox any more."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from gateway.app import create_app
from gateway.jobs.models import DEAD, SENT, UNROUTABLE, Delivery, DeliveryAttempt
from gateway.jobs.polling import poll
from gateway.jobs.worker import Worker
from gateway.lifecycle import service as lifecycle
from gateway.portal.auth import create_user
from gateway.portal.models import OPERATOR
from gateway.store import models as db
from gateway.store.tenants import create_api_key
from gateway.webhooks import sender
from gateway.webhooks.models import EVENTS, WebhookDelivery
from tests.api.conftest import Api
from tests.jobs import helpers
from tests.jobs.test_delivery import codes_of, state_of
from tests.portal.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.timeout(120)

FRESH: dict = {}  # no rules, no connector: what a fresh install has
PAY_NOTE = {"notes": [{"text": "SANDBOX:PAY"}]}
REFUSE_NOTE = {"notes": [{"text": "Merci. SANDBOX:REFUSE"}]}


@pytest.fixture(scope="module")
def app(setup):
    app = create_app(setup.config)
    yield app
    app.extensions["gateway.database"].dispose()


def fresh(setup, **sandbox):
    """A deliverer as on a fresh install (the sandbox's steps shortened to nothing unless `sandbox` says otherwise)."""
    return setup.deliverer(routing=FRESH, connectors={"sandbox": {"step_seconds": 0, **sandbox}})


def submitted(setup, tenant=None, **fields) -> str:
    tenant = tenant or helpers.new_tenant(setup.database)
    return helpers.submit(setup.database, setup.archive, tenant, 1, **fields)[0]


def sources_of(invoice: db.Invoice) -> list[tuple[str, str]]:
    return [(event.code, event.source) for event in invoice.events]


def subscribed(setup, tenant_id: int) -> None:
    with setup.database.session() as session:
        sender.subscribe(session, b"k" * 32, tenant_id, "https://erp.example/hooks", list(EVENTS))


def webhook_bodies(setup, invoice_id: str) -> list[dict]:
    with setup.database.session() as session:
        rows = session.scalars(select(WebhookDelivery).where(WebhookDelivery.invoice_id == invoice_id).order_by(WebhookDelivery.created_at))
        return [json.loads(row.payload) for row in rows]


def test_a_fresh_install_delivers_to_the_sandbox_and_plays_back_the_lifecycle(setup, app):
    tenant = helpers.new_tenant(setup.database)
    subscribed(setup, tenant.id)
    invoice_id = submitted(setup, tenant, facturx=True)
    deliverer = fresh(setup)
    setup.drain(deliverer)
    delivery, invoice = state_of(setup, invoice_id)
    assert (delivery.state, delivery.channel, delivery.document_kind, delivery.sandbox, delivery.reason) == (SENT, "sandbox", "facturx", True, None)
    assert delivery.decision["decided_by"] == "sandbox" and "no delivery channel is configured for the tenant yet" in delivery.decision["reason"]
    assert codes_of(invoice) == ["200", "201"] and delivery.remote_id.startswith("sandbox-")
    inbox = next((setup.config.data_dir / "sandbox").glob("*/" + delivery.remote_id + ".pdf"))  # what the buyer would have got
    assert inbox.read_bytes()[:5] == b"%PDF-"

    # The sandbox data folder is the session's: another test's delivery may be played back by this poll too (random
    # order found it), so this invoice's own statuses are what is checked, exactly.
    assert poll(deliverer, channels=("sandbox",)) >= 3
    _, invoice = state_of(setup, invoice_id)
    assert sources_of(invoice) == [("200", "gateway-intake"), ("201", "gateway"), ("202", "sandbox"), ("204", "sandbox"), ("205", "sandbox")]
    assert invoice.status == "205" and all(e.detail["comment"].startswith("sandbox: ") for e in invoice.events[2:])
    assert poll(deliverer) == 0  # played back once, whoever polls again

    with setup.database.session() as session:
        assert {d.code for d in lifecycle.deadlines_of(session, tenant.id, invoice_id)} == {"200"}  # simulated statuses: no one's to report
    changes = [(b["event"], b["data"]["invoice"]["status"], b["data"].get("sandbox")) for b in webhook_bodies(setup, invoice_id)]
    assert changes == [
        ("invoice.accepted", "200", None),
        *[("invoice.status_changed", code, True) for code in ("201", "202", "204", "205")],
    ]


def test_the_api_labels_the_sandbox(setup, app):
    tenant = helpers.new_tenant(setup.database)
    with setup.database.session() as session:
        api = Api(app, create_api_key(session, session.get(db.Tenant, tenant.id)))
    invoice_id = submitted(setup, tenant)
    setup.drain(fresh(setup))
    route = api.get(f"/api/v1/invoices/{invoice_id}/route").get_json()
    assert (route["channel"], route["decided_by"], route["sandbox"], route["delivery"]["sandbox"]) == ("sandbox", "sandbox", True, True)
    assert route["steps"][-1]["step"] == "sandbox" and route["steps"][-1]["outcome"] == "decided"
    poll(fresh(setup), channels=("sandbox",))
    timeline = api.get(f"/api/v1/invoices/{invoice_id}/statuses").get_json()
    assert [(e["code"], e["source"]) for e in timeline["events"]][-1] == ("205", "sandbox")


def test_an_invoice_asking_for_payment_is_paid_and_collected_in_full(setup):
    invoice_id = submitted(setup, **PAY_NOTE)
    deliverer = fresh(setup)
    setup.drain(deliverer)
    poll(deliverer, channels=("sandbox",))
    _, invoice = state_of(setup, invoice_id)
    assert codes_of(invoice) == ["200", "201", "202", "204", "205", "211", "212"] and invoice.status == "212"
    collected = invoice.events[-1].detail["amounts"]
    assert [(a["type_code"], a["amount"], a["vat_rate"]) for a in collected] == [("MEN", "14895.00", "20"), ("MEN", "52.54", "5.5")]
    with setup.database.session() as session:
        position = lifecycle.balance(session, setup.archive, session.get(db.Invoice, invoice_id))
        assert position is not None and position.still_due_total == 0


def test_an_invoice_asking_for_refusal_is_refused_with_its_reason(setup):
    invoice_id = submitted(setup, **REFUSE_NOTE)
    deliverer = fresh(setup)
    setup.drain(deliverer)
    poll(deliverer, channels=("sandbox",))
    _, invoice = state_of(setup, invoice_id)
    assert codes_of(invoice) == ["200", "201", "202", "204", "210"] and invoice.status == "210"
    assert invoice.events[-1].detail["reason_code"] == "TRANSAC_INC"


def test_once_a_real_channel_is_configured_nothing_goes_to_the_sandbox(setup):
    reachable = submitted(setup, buyer=helpers.PRIVATE_BUYER)  # has an e-mail address
    lost = submitted(setup, buyer={**helpers.PRIVATE_BUYER, "contact": None})  # has none: nothing reaches it
    setup.drain(setup.deliverer(routing=FRESH, connectors={"email": setup.net.connectors()["email"]}))
    assert state_of(setup, reachable)[0].channel == "email"
    delivery, _ = state_of(setup, lost)
    assert (delivery.state, delivery.channel) == (UNROUTABLE, None)
    assert delivery.decision["steps"][-1]["detail"] == "the tenant has a delivery channel configured (email): the sandbox is used only until one is"


def test_a_sandbox_with_unusable_settings_is_a_dead_letter_saying_what_to_fix(setup):
    invoice_id = submitted(setup)
    setup.drain(fresh(setup, verdict="sometimes"))
    delivery, _ = state_of(setup, invoice_id)
    assert (delivery.state, delivery.channel) == (DEAD, "sandbox") and "sandbox verdict must be one of approve, refuse" in delivery.last_error
    assert "what to do: correct the sandbox connector's settings in config/routing.toml and restart the gateway" in delivery.reason


def test_the_worker_plays_the_sandbox_back_on_its_own(setup):
    invoice_id = submitted(setup)
    worker = Worker(fresh(setup, step_seconds=0.2), threads=1)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and state_of(setup, invoice_id)[1].status != "205":
            time.sleep(0.1)
    finally:
        worker.stop()
    assert codes_of(state_of(setup, invoice_id)[1]) == ["200", "201", "202", "204", "205"]


def test_the_portal_shows_the_sandbox_badge_and_what_to_do_about_a_dead_letter(setup, app):
    tenant = helpers.new_tenant(setup.database)
    with setup.database.session() as session:
        email = create_user(session, session.get(db.Tenant, tenant.id), f"ops-{tenant.name}@example.test", OPERATOR, PASSWORD).email
    sandboxed, broken = submitted(setup, tenant), submitted(setup, tenant, buyer=helpers.PRIVATE_BUYER)
    setup.drain(fresh(setup))
    poll(fresh(setup), channels=("sandbox",))
    with setup.database.session() as session:  # the second one's delivery dies as a misconfigured connector leaves it
        delivery = session.scalars(select(Delivery).where(Delivery.invoice_id == broken)).one()
        delivery.state, delivery.last_error = DEAD, "the sandbox connector settings are unusable: sandbox pay must be true or false"
        session.add(DeliveryAttempt(delivery_id=delivery.id, number=2, worker="w", channel="sandbox", outcome="failed", error_code="config"))
    client = app.test_client()
    assert sign_in(client, email).status_code == 302

    page = client.get(f"/portal/invoices/{sandboxed}").get_data(as_text=True)
    assert 'id="sandbox-badge"' in page and ">Bac à sable</span>" in page
    assert "Bac à sable (destinataire simulé)" in page  # the source of the played-back statuses

    operations = client.get("/portal/operations").get_data(as_text=True)
    assert (
        "les réglages du connecteur sandbox sont inutilisables : sandbox pay must be true or false — que faire : corrigez les réglages du "
        "connecteur sandbox dans config/routing.toml et redémarrez la passerelle, puis relancez la remise"
    ) in operations
    assert "Pourquoi, et que faire" in client.get(f"/portal/invoices/{broken}").get_data(as_text=True)
    assert 'id="sandbox-badge"' in client.get(f"/portal/invoices/{broken}").get_data(as_text=True)  # it went to the sandbox too
    client.get("/portal/language/en")
    english = client.get(f"/portal/invoices/{broken}").get_data(as_text=True)
    assert ">Sandbox</span>" in english and "— what to do: correct the sandbox connector" in english

"""Bounces on SQLite and PostgreSQL: an invoice is delivered for real by e-mail (to the loopback SMTP sink of tests/jobs), then the
recipient's server returns a delivery status notification (multipart/report, message/delivery-status, the original message
with its invoice PDF attached) to the gateway's SMTP listener.  A permanent bounce makes the delivery a dead letter, visible in
the delivery API; a transient one is retried with backoff; a delay notice or a report about an unknown message changes nothing.
Every report is archived, and the invoice it returns is never read as a partner's."""

from __future__ import annotations

import time
from email.utils import make_msgid

import pytest
from sqlalchemy import func, select

from gateway.app import create_app
from gateway.archive.models import ArchiveEntry
from gateway.jobs.models import DEAD, RETRYING, SENT, Delivery
from gateway.reception.models import Reception
from gateway.store import models as db
from gateway.store.tenants import create_api_key
from tests.api.conftest import Api
from tests.jobs import conftest as jobs
from tests.jobs import helpers
from tests.reception.mail_helpers import listening, send

net, setup = jobs.net, jobs.setup  # the delivery tests' fixtures: a fresh database per module (workers take every due row)

SENDER = "factures@atelier-dupont.example"  # the e-mail connector's From and bounce address (tests/connectors/smtp_server.py)
BUYER_EMAIL = helpers.PRIVATE_BUYER["contact"]["email"]
FAST = {"idle_seconds": 0.02, "backoff_base_seconds": 0.01, "backoff_max_seconds": 0.05, "max_attempts": 3}


def dsn(original: bytes, *, action: str = "failed", status: str = "5.1.1") -> bytes:
    """The report a mail server returns to the sender (RFC 3464), with the original message (its invoice PDF included)."""
    head = (
        "From: MAILER-DAEMON@mx.menuiserie-leroux.example (Mail Delivery System)\r\n"
        f"To: {SENDER}\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: {make_msgid(domain='mx.menuiserie-leroux.example')}\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="B0UND"\r\n\r\n'
        "--B0UND\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nYour message could not be delivered.\r\n\r\n"
        "--B0UND\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.menuiserie-leroux.example\r\n\r\n"
        f"Final-Recipient: rfc822; {BUYER_EMAIL}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {status.replace('.', '')[:3]} {status} <{BUYER_EMAIL}>: Recipient address rejected\r\n\r\n"
        "--B0UND\r\nContent-Type: message/rfc822\r\n\r\n"
    )
    return head.encode() + original + b"\r\n--B0UND--\r\n"


@pytest.fixture
def sent(setup):
    """A tenant, and one of its invoices delivered by e-mail: (tenant, delivery id, the message as the buyer's server got it)."""
    tenant = helpers.new_tenant(setup.database)
    [invoice_id] = helpers.submit(setup.database, setup.archive, tenant, 1, helpers.PRIVATE_BUYER, facturx=True)
    setup.drain(setup.deliverer(**FAST))
    with setup.database.session() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.invoice_id == invoice_id)).one()
        assert (delivery.state, delivery.channel) == (SENT, "email")
        delivery_id, message_id = delivery.id, delivery.remote_id
    [original] = [m.content for m in setup.net.smtp.messages if f"Message-ID: {message_id}".encode() in m.content]
    return tenant, delivery_id, original


def report(setup, tenant, message: bytes, tmp_path) -> tuple[int, str]:
    """Send `message` to the tenant's bounce address through the gateway's listener."""
    config = helpers.with_sections(setup.config, delivery=FAST)
    with listening(config, setup.database, setup.archive, tenant.name, tmp_path, address=SENDER) as box:
        return send(box, message)


def delivery_of(setup, delivery_id: str) -> Delivery:
    with setup.database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        delivery.attempt_rows  # noqa: B018  (loaded before the session ends)
        session.expunge_all()
        return delivery


def test_a_permanent_bounce_makes_the_delivery_a_dead_letter_visible_in_the_api(setup, sent, tmp_path):
    tenant, delivery_id, original = sent
    code, text = report(setup, tenant, dsn(original), tmp_path)
    assert code == 250 and text.startswith("2.0.0 Delivery report recorded: bounced by mx.menuiserie-leroux.example"), text

    delivery = delivery_of(setup, delivery_id)
    assert delivery.state == DEAD and "5.1.1" in delivery.last_error
    assert [(a.outcome, a.error_code, a.transient) for a in delivery.attempt_rows] == [("sent", None, None), ("failed", "bounced", False)]
    with setup.database.session() as session:
        assert session.get(db.Invoice, delivery.invoice_id).state == "undeliverable"
        [bounce] = session.scalars(select(ArchiveEntry).where(ArchiveEntry.kind == "bounce", ArchiveEntry.tenant_id == tenant.id)).all()
        assert bounce.invoice_id == delivery.invoice_id
        assert session.scalar(select(func.count()).select_from(Reception).where(Reception.tenant_id == tenant.id)) == 0  # its PDF not read

    app = create_app(setup.config)
    try:
        with setup.database.session() as session:
            api = Api(app, create_api_key(session, session.get(db.Tenant, tenant.id)))
        [listed] = api.get("/api/v1/deliveries", query_string={"state": "dead"}).get_json()["items"]
        assert listed["id"] == delivery_id and listed["attempts"][-1]["error_code"] == "bounced"
        assert "Recipient address rejected" in listed["attempts"][-1]["error"]
    finally:
        app.extensions["gateway.database"].dispose()

    again = dsn(original)  # another report for the same message changes nothing more
    assert report(setup, tenant, again, tmp_path)[1] == "2.0.0 Delivery report recorded: the delivery is dead already"
    assert len(delivery_of(setup, delivery_id).attempt_rows) == 2


def test_a_transient_bounce_is_retried_with_backoff_and_sent_again(setup, sent, tmp_path):
    tenant, delivery_id, original = sent
    code, _ = report(setup, tenant, dsn(original, status="4.2.2"), tmp_path)
    assert code == 250
    delivery = delivery_of(setup, delivery_id)
    assert delivery.state == RETRYING and delivery.next_attempt_at is not None
    assert [(a.outcome, a.transient) for a in delivery.attempt_rows] == [("sent", None), ("failed", True)]

    deliverer, deadline = setup.deliverer(**FAST), time.monotonic() + 60
    while delivery_of(setup, delivery_id).state != SENT and time.monotonic() < deadline:  # due after its backoff (≤ 50 ms here)
        setup.drain(deliverer)
        time.sleep(0.02)
    delivery = delivery_of(setup, delivery_id)
    assert delivery.state == SENT and [a.outcome for a in delivery.attempt_rows] == ["sent", "failed", "sent"]
    assert sum(f"Message-ID: {delivery.remote_id}".encode() in m.content for m in setup.net.smtp.messages) == 2  # the same Message-ID


def test_a_delay_notice_and_a_report_on_an_unknown_message_change_nothing(setup, sent, tmp_path):
    tenant, delivery_id, original = sent
    assert report(setup, tenant, dsn(original, action="delayed", status="4.4.1"), tmp_path)[0] == 250
    assert delivery_of(setup, delivery_id).state == SENT
    unknown = dsn(original.replace(b"Message-ID: <", b"Message-ID: <other-"))
    code, text = report(setup, tenant, unknown, tmp_path)
    assert code == 250 and "no e-mail delivery of this tenant has Message-ID <other-" in text, text
    with setup.database.session() as session:
        entries = session.scalars(select(ArchiveEntry.invoice_id).where(ArchiveEntry.kind == "bounce", ArchiveEntry.tenant_id == tenant.id)).all()
    assert sorted(entries, key=str) == sorted([delivery_of(setup, delivery_id).invoice_id, None], key=str)

"""Invoices by e-mail on SQLite and PostgreSQL: real messages sent with smtplib over STARTTLS to the gateway's SMTP listener on a
loopback port, received (202), announced by a signed webhook to a real receiver, their duplicates recognised (213 DOUBLON); the
listener refuses unknown mailboxes (550), oversized messages (552) and plain-text mail when TLS is required, and records a message
without an invoice as unreadable while refusing it (554)."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from email.policy import SMTP

import facturx
import pytest
from sqlalchemy import select

from gateway.reception.models import Reception
from gateway.store import models as db
from gateway.store.tenants import tenant_for_key
from gateway.webhooks import sender, signing
from tests.connectors.documents import document, numbered
from tests.connectors.smtp_server import free_port
from tests.reception.mail_helpers import PARTNER, Mailbox, config_folder, listening, mail, send
from tests.webhooks.conftest import documented_verify

verify = documented_verify()
FACTURX = document("facturx")
FACTURX_XML = facturx.get_xml_from_pdf(FACTURX, check_xsd=False)[1]


@pytest.fixture
def box(api, database, archive, gateway_config, tmp_path):
    with database.session() as session:
        name = tenant_for_key(session, api.key).name
    with listening(gateway_config, database, archive, name, tmp_path, max_message_bytes=400_000) as mailbox:
        yield mailbox


def receptions(database, ids: list[str] | tuple[str, ...] | None = None, tenant: str | None = None) -> list[Reception]:
    with database.session() as session:
        query = select(Reception).order_by(Reception.received_at)
        if tenant:
            query = query.join(db.Tenant, db.Tenant.id == Reception.tenant_id).where(db.Tenant.name == tenant)
        rows = [r for r in session.scalars(query) if ids is None or r.id in ids]
        for row in rows:
            session.expunge(row)
        return rows


def test_a_facturx_by_email_is_received_announced_to_the_erp_and_its_duplicate_recognised(box, api, database, receiver):
    secret = api.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["invoice.received"]}).get_json()["secret"]

    code, text = send(box, mail(box.address, (FACTURX, "application/pdf", "F2026-000142.pdf")))
    assert (code, text) == (250, "2.0.0 Received: F2026-000142 202"), text
    [first] = receptions(database, tenant=box.tenant)
    assert (first.channel, first.origin, first.outcome, first.duplicate_of) == ("email", PARTNER, "202", None)
    invoice = api.get(f"/api/v1/invoices/{first.invoice_id}").get_json()
    assert (invoice["direction"], invoice["status"], invoice["number"]) == ("incoming", "202", "F2026-000142")
    assert api.get(invoice["links"]["documents"]["input"]).data == FACTURX  # the attachment's exact bytes
    assert database.blobs.get(first.message_sha256).startswith(b"From: Fournisseur SA")  # the whole message is archived

    sender.send_due(database)
    [got] = [g for g in receiver.received if json.loads(g.body)["data"]["invoice"]["id"] == first.invoice_id]
    assert verify(secret, got.body, got.headers[signing.HEADER])
    event = json.loads(got.body)
    assert (event["event"], event["data"]["reception"]["channel"], event["data"]["reception"]["origin"]) == ("invoice.received", "email", PARTNER)

    # the same invoice in another message: a duplicate, rejected 213 DOUBLON naming the first, which stays 202
    code, text = send(box, mail(box.address, (FACTURX, "application/pdf", "facture.pdf")))
    assert (code, text) == (250, "2.0.0 Received: F2026-000142 213 DOUBLON"), text
    [_, second] = receptions(database, tenant=box.tenant)
    assert (second.outcome, second.duplicate_of, [r["code"] for r in second.reasons]) == ("213", first.invoice_id, ["DOUBLON"])
    assert api.get(f"/api/v1/invoices/{first.invoice_id}").get_json()["status"] == "202"


def test_attachments_are_found_in_nested_parts_octet_streams_and_forwarded_messages(box, database):
    forwarded = EmailMessage()
    forwarded["From"], forwarded["To"], forwarded["Subject"] = PARTNER, "achats@client.example", "Facture RX-MAIL-2"
    forwarded.set_content("Original message")
    forwarded.add_attachment(numbered("cii", "RX-MAIL-2"), maintype="application", subtype="octet-stream", filename="RX-MAIL-2.XML")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = f"Achats <{PARTNER}>", box.address, "Fwd: factures"
    message.set_content("Texte")
    message.add_alternative("<p>Texte</p>", subtype="html")  # multipart/alternative, then mixed around it
    message.add_attachment(numbered("ubl", "RX-MAIL-1"), maintype="application", subtype="octet-stream", filename="RX-MAIL-1.xml")
    message.add_attachment(b"\x89PNG\r\n\x1a\n", maintype="image", subtype="png", filename="logo.png")  # not an invoice
    message.add_attachment(forwarded)  # message/rfc822

    code, text = send(box, message.as_bytes(policy=SMTP))
    assert (code, text) == (250, "2.0.0 Received: RX-MAIL-1 202; RX-MAIL-2 202"), text
    assert sorted(r.outcome for r in receptions(database, tenant=box.tenant)) == ["202", "202"]


def test_the_xml_beside_its_facturx_pdf_is_not_read_twice(box, database):
    code, text = send(box, mail(box.address, (FACTURX_XML, "application/xml", "factur-x.xml"), (FACTURX, "application/pdf", "F2026-000142.pdf")))
    assert (code, text) == (250, "2.0.0 Received: F2026-000142 202"), text  # the PDF first, its XML recognised and skipped
    [row] = receptions(database, tenant=box.tenant)
    assert database.blobs.get(row.document_sha256) == FACTURX


def test_a_message_without_an_invoice_is_recorded_unreadable_and_refused(box, database):
    code, text = send(box, mail(box.address, (b"\x89PNG\r\n\x1a\n", "image/png", "scan.png")))
    assert code == 554 and text.startswith("5.6.0 No invoice attached") and "image/png" in text, text
    [row] = receptions(database, tenant=box.tenant)
    assert (row.outcome, row.invoice_id, row.origin) == ("unreadable", None, PARTNER)
    assert [r["rule_id"] for r in row.reasons] == ["no_invoice_attachment"]
    assert database.blobs.get(row.document_sha256).startswith(b"From: Fournisseur SA")  # the message itself is kept

    code, text = send(box, mail(box.address, (b"%PDF-1.4 not really", "application/pdf", "scan.pdf")))
    assert code == 554 and text.startswith("5.6.0 No readable invoice: scan.pdf unreadable (Unreadable PDF"), text
    assert [r.outcome for r in receptions(database, tenant=box.tenant)] == ["unreadable", "unreadable"]


def test_the_same_message_twice_is_received_once(box, database):
    message = mail(box.address, (numbered("ubl", "RX-MAIL-3"), "application/xml", "RX-MAIL-3.xml"))
    assert send(box, message) == (250, "2.0.0 Received: RX-MAIL-3 202")
    assert send(box, message) == (250, "2.0.0 Already received: this message was handled before")  # e.g. our 250 was lost
    assert [r.outcome for r in receptions(database, tenant=box.tenant)] == ["202"]


def test_unknown_mailboxes_oversized_messages_and_plain_text_are_refused(box, api, database, archive, gateway_config, tmp_path):
    assert send(box, mail("someone@else.example"), "someone@else.example")[0] == 550  # not a relay
    with smtplib.SMTP("127.0.0.1", box.port, timeout=60) as client:
        client.ehlo()
        assert client.has_extn("starttls") and int(client.esmtp_features["size"]) == 400_000
    big = mail(box.address, (b"%PDF-1.7\n" + bytes(500_000), "application/pdf", "big.pdf"))
    code, _ = send(box, big)
    assert code == 552
    assert receptions(database, tenant=box.tenant) == []

    strict = tmp_path / "strict"
    strict.mkdir()
    with listening(gateway_config, database, archive, box.tenant, strict, smtp={"require_tls": True}) as required:
        code, _ = send(required, mail(required.address), starttls=False)
        assert code == 530  # must issue STARTTLS first


def test_the_command_runs_the_listener_until_sigterm(api, database, gateway_config, tmp_path):
    with database.session() as session:
        tenant = tenant_for_key(session, api.key).name
    address, port = f"factures@{tenant}.example", free_port()
    folder = config_folder(tmp_path / "config", gateway_config, mailboxes={address: tenant})
    env = {**os.environ, "GATEWAY_CONFIG_DIR": str(folder)}
    command = [sys.executable, "-m", "gateway", "inbound", "smtp", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once listening
        assert line.startswith(f"gateway inbound smtp: listening on 127.0.0.1:{port} for 1 mailbox(es), no STARTTLS"), process.stderr
        message = mail(address, (numbered("ubl", "RX-CLI-1"), "application/xml", "RX-CLI-1.xml"))
        assert send(Mailbox(address, tenant, port), message) == (
            250,
            "2.0.0 Received: RX-CLI-1 202",
        )
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0 and "gateway inbound smtp: stopped" in out, err
    assert [r.outcome for r in receptions(database, tenant=tenant)] == ["202"]

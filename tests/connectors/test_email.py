"""The e-mail connector against a loopback aiosmtpd server (STARTTLS with a throwaway certificate, AUTH)."""

from __future__ import annotations

import email
import email.policy
import time
from pathlib import Path

import facturx
import pytest
from aiosmtpd.controller import Controller

from connectors import base
from connectors.base import ConnectorError
from connectors.email import EmailConnector, parse_bounce
from gateway.formats.xmlparse import parse_untrusted
from tests.connectors.documents import envelope
from tests.connectors.smtp_server import SmtpServer, free_port, make_certificate

pytestmark = pytest.mark.timeout(10)

BUYER = "claire.martin@boulangeries-martin.example"


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def smtp(tls_files):
    with SmtpServer(*tls_files) as server:
        yield server


@pytest.fixture
def connector(smtp, tls_files) -> EmailConnector:
    return EmailConnector(smtp.client_config(tls_files[0]))


def _error(call, *args) -> ConnectorError:
    with pytest.raises(ConnectorError) as caught:
        call(*args)
    return caught.value


def _parsed(content: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(content, policy=email.policy.default)


# ---------------------------------------------------------------------------- success and message shape


def test_invoice_is_delivered_over_starttls_with_auth(smtp, connector):
    sent = envelope("facturx")
    receipt = connector.send(sent)
    assert receipt.accepted and receipt.connector == "email"
    assert receipt.raw == b"250 2.0.0 Ok: queued as Q000001" and receipt.message == "2.0.0 Ok: queued as Q000001"
    [received] = smtp.messages
    assert received.mail_from == "factures@atelier-dupont.example" and received.rcpt_tos == [BUYER]
    assert received.authenticated and smtp.auth_attempts == [("PLAIN", True)]
    assert _parsed(received.content)["Message-ID"] == receipt.remote_id


def test_message_is_well_formed_and_attachment_exact(smtp, connector):
    sent = envelope("facturx")
    receipt = connector.send(sent)
    raw = smtp.messages[0].content
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    message = _parsed(raw)
    assert message.defects == []
    assert str(message["From"]) == "Atelier Dupont — Facturation <factures@atelier-dupont.example>"
    assert str(message["To"]) == f"Boulangeries Martin SARL <{BUYER}>"
    assert str(message["Reply-To"]) == "compta@atelier-dupont.example"
    assert str(message["Subject"]) == "Facture F2026-000142 de Atelier Dupont & Fils SAS"
    assert message["Date"].datetime is not None and message["Message-ID"] == receipt.remote_id
    assert message.get_content_type() == "multipart/mixed"
    body = message.get_body(preferencelist=("plain",))
    assert "la facture F2026-000142 émise par Atelier Dupont & Fils SAS" in body.get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf" and attachment.get_filename() == "F2026-000142.pdf"
    assert attachment.get_content() == sent.document


def test_english_message_and_xml_attachment(smtp, tls_files):
    connector = EmailConnector(smtp.client_config(tls_files[0], attach_xml=True))
    sent = envelope("facturx", language="en")
    connector.send(sent)
    message = _parsed(smtp.messages[0].content)
    assert str(message["Subject"]) == "Invoice F2026-000142 from Atelier Dupont & Fils SAS"
    assert "Please find attached invoice F2026-000142" in message.get_body(preferencelist=("plain",)).get_content()
    pdf, xml = list(message.iter_attachments())
    assert pdf.get_content() == sent.document
    assert xml.get_content_type() == "application/xml" and xml.get_filename() == "factur-x.xml"
    assert xml.get_content() == facturx.get_xml_from_pdf(sent.document, check_xsd=False)[1]
    assert parse_untrusted(xml.get_content()).getroot().tag.endswith("CrossIndustryInvoice")


def test_xml_invoice_is_attached_as_xml(smtp, connector):
    sent = envelope("ubl")
    connector.send(sent)
    [attachment] = list(_parsed(smtp.messages[0].content).iter_attachments())
    assert attachment.get_content_type() == "application/xml" and attachment.get_content() == sent.document


def test_message_id_is_stable_per_delivery(connector):
    first = connector.send(envelope("ubl", number="M-1"))
    retry = connector.send(envelope("ubl", number="M-1"))
    other = connector.send(envelope("ubl", number="M-2"))
    assert first.remote_id == retry.remote_id != other.remote_id
    assert first.remote_id.startswith("<") and first.remote_id.endswith("@atelier-dupont.example>")


def test_header_injection_is_impossible(smtp, connector):
    hostile = envelope(
        "ubl",
        name="Evil\r\nBcc: victim@attacker.example",
        seller_name="Seller\nSubject: spoofed",
        invoice_number="42\r\nX-Injected: yes",
        filename='inv"\r\nContent-Type: text/html.xml',
    )
    connector.send(hostile)
    message = _parsed(smtp.messages[0].content)
    assert message["Bcc"] is None and message["X-Injected"] is None and message.get_all("Subject") == [message["Subject"]]
    assert str(message["Subject"]) == "Facture 42 X-Injected: yes de Seller Subject: spoofed"
    assert str(message["To"]).endswith(f"<{BUYER}>") and smtp.messages[0].rcpt_tos == [BUYER]
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/xml"
    for address in (f"{BUYER}\r\nRCPT TO:<victim@attacker.example>", "no-at-sign", f"Name <{BUYER}>", "dé@accent.example"):
        assert _error(connector.send, envelope("ubl", email=address)).code == "invalid-recipient"
    assert len(smtp.messages) == 1


# ---------------------------------------------------------------------------- authentication and TLS


def test_wrong_password_is_a_permanent_auth_failure(smtp, tls_files):
    connector = EmailConnector(smtp.client_config(tls_files[0], password="wrong"))
    error = _error(connector.send, envelope("ubl"))
    assert not error.transient and error.code == "auth"
    assert smtp.messages == [] and smtp.auth_attempts == [("PLAIN", False), ("LOGIN", False)]  # smtplib tries each offered mechanism


def test_auth_login_mechanism(tls_files):
    with SmtpServer(*tls_files, exclude_auth=("PLAIN",)) as server:
        assert EmailConnector(server.client_config(tls_files[0])).send(envelope("ubl")).accepted
        assert server.auth_attempts == [("LOGIN", True)]


def test_untrusted_certificate_is_refused(smtp, tmp_path):
    other_ca, _ = make_certificate(tmp_path)
    error = _error(EmailConnector(smtp.client_config(other_ca)).send, envelope("ubl"))
    assert not error.transient and error.code == "tls"
    assert smtp.messages == []


def test_server_without_starttls_is_refused():
    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    port = free_port()
    plain = Controller(Sink(), hostname="127.0.0.1", port=port)
    plain.start()
    try:
        connector = EmailConnector({"host": "127.0.0.1", "port": port, "sender": "a@b.example"})
        error = _error(connector.send, envelope("ubl"))
    finally:
        plain.stop()
    assert not error.transient and error.code == "tls" and "does not offer STARTTLS" in error.message


# ---------------------------------------------------------------------------- rejections, timeouts, outages


def test_refused_recipient_is_a_permanent_rejection(smtp, connector):
    smtp.reject.add(BUYER)
    error = _error(connector.send, envelope("ubl"))
    assert not error.transient and error.code == "rejected" and "550 5.1.1" in error.message


def test_temporary_failure_is_transient(smtp, connector):
    smtp.tempfail = True
    error = _error(connector.send, envelope("ubl"))
    assert error.transient and "451" in error.message


def test_slow_server_is_a_transient_timeout(smtp, tls_files):
    smtp.delay = 1.0
    connector = EmailConnector(smtp.client_config(tls_files[0], timeout=0.3))
    started = time.monotonic()
    error = _error(connector.send, envelope("ubl"))
    assert error.transient and error.code == "timeout" and time.monotonic() - started < 1.0


def test_server_down_then_back(smtp, connector):
    smtp.stop()
    error = _error(connector.send, envelope("ubl"))
    assert error.transient and error.code == "unavailable"
    assert connector.health()["ok"] is False
    smtp.start()  # same port
    assert connector.send(envelope("ubl")).accepted and connector.health()["ok"] is True


def test_registry_builds_the_connector(smtp, tls_files):
    built = base.get("email", smtp.client_config(tls_files[0]))
    assert isinstance(built, EmailConnector) and isinstance(built, base.Connector)
    assert built.fetch_statuses(since=None) == []  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- bounces

DSN = """\
From: MAILER-DAEMON@mx.boulangeries-martin.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: factures@atelier-dupont.example
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B0UND"

--B0UND
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not be delivered.

--B0UND
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.boulangeries-martin.example
Arrival-Date: Tue, 14 Jul 2026 10:00:00 +0200

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>:
    Recipient address rejected: User unknown

--B0UND
Content-Type: {original_type}

From: factures@atelier-dupont.example
To: {recipient}
Subject: Facture F2026-000142
Message-ID: {message_id}
{original_body}
--B0UND--
"""


def _dsn(message_id: str, *, action: str = "failed", status: str = "5.1.1", original_type: str = "message/rfc822") -> bytes:
    body = "\nBonjour,\n" if original_type == "message/rfc822" else ""
    text = DSN.format(recipient=BUYER, message_id=message_id, action=action, status=status, original_type=original_type, original_body=body)
    return text.replace("\n", "\r\n").encode()


@pytest.mark.parametrize("original_type", ["message/rfc822", "text/rfc822-headers"])
def test_bounce_is_parsed_into_a_failed_delivery(connector, original_type):
    receipt = connector.send(envelope("ubl"))
    bounce = parse_bounce(_dsn(receipt.remote_id, original_type=original_type))
    assert bounce is not None and bounce.failed and bounce.permanent
    assert bounce.original_message_id == receipt.remote_id
    assert bounce.reporting_mta == "mx.boulangeries-martin.example"
    [recipient] = bounce.recipients
    assert (recipient.address, recipient.action, recipient.status) == (BUYER, "failed", "5.1.1")
    assert recipient.diagnostic == f"550 5.1.1 <{BUYER}>: Recipient address rejected: User unknown"


def test_delay_notice_is_not_a_failure():
    bounce = parse_bounce(_dsn("<x@y.example>", action="delayed", status="4.4.1"))
    assert bounce is not None and not bounce.failed and not bounce.permanent


def test_ordinary_messages_are_not_bounces(smtp, connector):
    connector.send(envelope("ubl"))
    assert parse_bounce(smtp.messages[0].content) is None
    assert parse_bounce(b"not a message at all") is None

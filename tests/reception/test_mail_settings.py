"""The [reception] settings for e-mail: the documented defaults load, every mistake is an error at start-up; the worker's scheduler
polls IMAP only when it is configured; the MIME reader's bounds."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config
from gateway.jobs.deliver import Deliverer
from gateway.jobs.worker import Worker
from gateway.reception.mail import Limits, UnusableMail, read_mail
from gateway.reception.mail_settings import MailSettings
from gateway.store.session import Database
from tests.reception.mail_helpers import mail, with_reception

ROOT = Path(__file__).resolve().parents[2]
IMAP = {"host": "imap.example", "username": "u", "address": "factures@acme.example"}


def test_the_documented_defaults_load():
    settings = MailSettings.from_config(load_config({}, config_dir=ROOT / "config"))
    assert settings.imap is None and settings.mailboxes == {} and settings.max_message_bytes == 25 * 1024 * 1024
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.require_tls) == ("127.0.0.1", 2525, False)


def test_mailboxes_passwords_from_the_environment_and_tenants(monkeypatch):
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "from-env")
    settings = MailSettings.from_section(
        {"mailboxes": {"Factures@ACME.example": "acme"}, "imap": {**IMAP, "password_env": "TEST_IMAP_PASSWORD", "interval_seconds": 5}}
    )
    assert settings.imap is not None and (settings.imap.password, settings.imap.interval_seconds) == ("from-env", 5.0)
    assert "from-env" not in repr(settings)
    assert settings.tenant_for("<factures@acme.EXAMPLE>") == "acme" and settings.tenant_for("other@acme.example") is None


@pytest.mark.parametrize(
    ("section", "error"),
    [
        ({"max_attachment": 3}, "unknown setting [reception] max_attachment"),
        ({"max_message_bytes": "big"}, "max_message_bytes must be a positive integer"),
        ({"max_message_bytes": 0}, "max_message_bytes must be positive"),
        ({"smtp": {"port": True}}, "[reception.smtp] port must be a positive integer"),
        ({"smtp": {"tls_cert": "cert.pem"}}, "STARTTLS needs both tls_cert and tls_key"),
        ({"smtp": {"require_tls": True}}, "require_tls needs them too"),
        ({"mailboxes": {"factures": "acme"}}, "maps an e-mail address to a tenant's name"),
        ({"mailboxes": "acme"}, "mailboxes must be a table"),
        ({"imap": IMAP}, "address 'factures@acme.example' must be one of [reception.mailboxes]"),
        ({"mailboxes": {"factures@acme.example": "acme"}, "imap": {**IMAP, "security": "none"}}, "security must be one of tls, starttls"),
        ({"imap": {"password_env": "NO_SUCH_VARIABLE_HERE"}}, "environment variable 'NO_SUCH_VARIABLE_HERE' is not set"),
        ({"imap": {"port_env": "PATH"}}, "unknown setting [reception.imap] port_env"),
    ],
)
def test_mistakes_are_errors_at_start_up(section, error):
    with pytest.raises(ConfigError) as raised:
        MailSettings.from_section(section)
    assert error in str(raised.value)


def test_the_scheduler_polls_imap_only_when_configured(gateway_config, app):
    database, archive = app.extensions["gateway.database"], app.extensions["gateway.archive"]
    plain = Worker(Deliverer(database, archive, gateway_config), 1)
    assert plain._scheduler is not None and plain._scheduler.get_job("imap-poll") is None
    configured = with_reception(gateway_config, mailboxes={"factures@acme.example": "acme"}, imap={**IMAP, "interval_seconds": 42})
    polling = Database(configured)
    try:
        job = Worker(Deliverer(polling, archive, configured), 1)._scheduler.get_job("imap-poll")  # type: ignore[union-attr]
    finally:
        polling.dispose()
    assert job is not None and job.trigger.interval.total_seconds() == 42


def test_the_mime_reader_is_bounded_and_never_reads_a_report_as_invoices():
    attachments = [(b"<Invoice/>", "application/xml", f"{i}.xml") for i in range(3)]
    assert len(read_mail(mail("a@b.example", *attachments)).attachments) == 3
    with pytest.raises(UnusableMail, match="3 invoice attachments, more than the 2 allowed"):
        read_mail(mail("a@b.example", *attachments), Limits(max_attachments=2))
    with pytest.raises(UnusableMail, match="more than 4 MIME parts"):
        read_mail(mail("a@b.example", *attachments), Limits(max_parts=4))
    nested = EmailMessage()
    nested.set_content("innermost")
    for _ in range(5):
        outer = EmailMessage()
        outer.set_content("level")
        outer.add_attachment(nested)
        nested = outer
    with pytest.raises(UnusableMail, match="nested deeper than 6 levels"):
        read_mail(nested.as_bytes(policy=SMTP), Limits(max_depth=6))
    assert read_mail(nested.as_bytes(policy=SMTP)).other_parts == ["text/plain"] * 6

"""Invoices by e-mail fetched from a real IMAP server (Debian's dovecot, run unprivileged-style on loopback ports with a
configuration generated for the test) on SQLite and PostgreSQL: over TLS and STARTTLS, unseen messages are received, then
flagged and moved to the processed folder; a message that cannot be stored stays unseen until a later poll stores it; a message
already stored before a crash is not received twice."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.cli import main
from gateway.reception.imap import ImapPoller, PollResult
from gateway.reception.mailroom import Mailroom
from gateway.reception.models import Reception
from gateway.store import models as db
from gateway.store.tenants import create_tenant, tenant_for_key
from tests.connectors.documents import document, numbered
from tests.connectors.smtp_server import free_port, make_certificate
from tests.reception.mail_helpers import PARTNER, config_folder, mail, with_reception

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "s3cret-imap"
PROCESSED = "Trait&AOk-s"  # "Traités" in IMAP's modified UTF-7 (RFC 3501 5.1.3)
CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = gateway-test-{port}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/smtp-cert.pem
ssl_key = <{root}/smtp-key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


@dataclass
class Dovecot:
    port: int  # IMAP with STARTTLS
    tls_port: int  # IMAPS
    ca_file: Path

    def client(self, user: str) -> imaplib.IMAP4_SSL:
        client = imaplib.IMAP4_SSL("127.0.0.1", self.tls_port, ssl_context=ssl.create_default_context(cafile=self.ca_file), timeout=30)
        client.login(user, PASSWORD)
        return client

    def deliver(self, user: str, message: bytes) -> None:
        """Put a message in the user's INBOX, as the mail server in front would."""
        with self.client(user) as client:
            assert client.append("INBOX", None, None, message)[0] == "OK"

    def folder(self, user: str, folder: str) -> dict[str, list[bytes]]:
        """The messages of a folder by flags: {"seen": [...], "unseen": [...]}."""
        with self.client(user) as client:
            client.create(folder)
            client.select(folder, readonly=True)
            found = {}
            for key in ("SEEN", "UNSEEN"):
                uids = client.uid("SEARCH", None, key)[1][0].split()
                found[key.lower()] = [client.uid("FETCH", uid, "(BODY.PEEK[])")[1][0][1] for uid in uids]
            return found


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    if not os.path.exists(DOVECOT):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{DOVECOT} is missing: .ci/run installs Debian's dovecot-imapd")
        pytest.skip("dovecot is not installed (Debian package dovecot-imapd): the IMAP tests need a real IMAP server")
    root = Path(tempfile.mkdtemp(prefix="gateway-dovecot-"))  # not under pytest's 0700 folders: dovecot's own users read it
    root.chmod(0o755)
    if os.getuid() == 0:  # dovecot runs its login processes as an unprivileged user, never as root
        internal, login = pwd.getpwnam("dovecot"), "dovenull"
    else:
        internal = pwd.getpwuid(os.getuid())
        login = internal.pw_name
    for folder in ("mail", "home"):
        (root / folder).mkdir()
        os.chown(root / folder, internal.pw_uid, internal.pw_gid)
    cert, _ = make_certificate(root)
    port, tls_port = free_port(), free_port()
    values = {"root": root, "port": port, "tls_port": tls_port, "password": PASSWORD, "login": login}
    values |= {"internal": internal.pw_name, "uid": internal.pw_uid, "gid": internal.pw_gid}
    (root / "dovecot.conf").write_text(CONFIG.format(**values), encoding="utf-8")
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", tls_port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                    pytest.fail(f"dovecot did not start: {process.stderr.read().decode() if process.stderr else ''} {log}")
                time.sleep(0.1)
        yield Dovecot(port, tls_port, cert)
    finally:
        process.terminate()
        process.wait(30)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def account(api, database):
    """The tenant of `api`, whose mailbox is an IMAP account of the same name."""
    with database.session() as session:
        return tenant_for_key(session, api.key).name


def poller(config, database, archive, dovecot: Dovecot, user: str, tenant: str | None = None, **imap: object) -> ImapPoller:
    settings = {
        "host": "127.0.0.1",
        "port": dovecot.tls_port,
        "ca_file": str(dovecot.ca_file),
        "username": user,
        "password": PASSWORD,
        "address": f"factures@{user}.example",
        "processed_folder": "Traités",
        **imap,
    }
    mailboxes = {f"factures@{user}.example": tenant or user}
    return ImapPoller(Mailroom(database, archive, with_reception(config, mailboxes=mailboxes, imap=settings)))


def outcomes(database, tenant: str) -> list[str]:
    with database.session() as session:
        rows = session.scalars(select(Reception).join(db.Tenant, db.Tenant.id == Reception.tenant_id).where(db.Tenant.name == tenant))
        return sorted(f"{r.outcome} {r.origin}" for r in rows)


def test_unseen_mail_is_received_then_flagged_and_moved(dovecot, account, gateway_config, database, archive):
    to = f"factures@{account}.example"
    invoice = mail(to, (document("facturx"), "application/pdf", "F2026-000142.pdf"))
    for message in (invoice, mail(to), mail(to, (document("facturx"), "application/pdf", "copie.pdf"))):
        dovecot.deliver(account, message)

    polling = poller(gateway_config, database, archive, dovecot, account)
    assert polling.poll_once() == PollResult(stored=2, refused=1)
    assert outcomes(database, account) == [f"202 {PARTNER}", f"213 {PARTNER}", f"unreadable {PARTNER}"]
    assert dovecot.folder(account, "INBOX") == {"seen": [], "unseen": []}
    moved = dovecot.folder(account, PROCESSED)
    assert moved["unseen"] == [] and len(moved["seen"]) == 3 and invoice in moved["seen"]
    assert polling.poll_once() == PollResult()  # nothing new


def test_starttls_and_no_processed_folder_only_flag_the_message(dovecot, account, gateway_config, database, archive):
    dovecot.deliver(account, mail(f"factures@{account}.example", (numbered("ubl", "RX-IMAP-1"), "application/xml", "RX-IMAP-1.xml")))
    polling = poller(gateway_config, database, archive, dovecot, account, port=dovecot.port, security="starttls", processed_folder="")
    assert polling.poll_once() == PollResult(stored=1)
    assert outcomes(database, account) == [f"202 {PARTNER}"]
    assert len(dovecot.folder(account, "INBOX")["seen"]) == 1


def test_a_message_not_stored_stays_unseen_until_a_later_poll_stores_it(dovecot, gateway_config, database, archive):
    user = f"late-{os.urandom(4).hex()}"  # its mailbox names a tenant that does not exist yet: the message cannot be stored
    dovecot.deliver(user, mail(f"factures@{user}.example", (numbered("ubl", "RX-IMAP-2"), "application/xml", "RX-IMAP-2.xml")))
    polling = poller(gateway_config, database, archive, dovecot, user)
    assert polling.poll_once() == PollResult(deferred=1)
    assert len(dovecot.folder(user, "INBOX")["unseen"]) == 1

    with database.session() as session:
        create_tenant(session, user)
    assert polling.poll_once() == PollResult(stored=1)
    assert outcomes(database, user) == [f"202 {PARTNER}"]
    assert dovecot.folder(user, "INBOX") == {"seen": [], "unseen": []}


def test_a_message_stored_before_a_crash_is_not_received_twice(dovecot, account, gateway_config, database, archive):
    message = mail(f"factures@{account}.example", (numbered("ubl", "RX-IMAP-3"), "application/xml", "RX-IMAP-3.xml"))
    dovecot.deliver(account, message)
    polling = poller(gateway_config, database, archive, dovecot, account)
    assert polling.mailroom.handle(message, [polling.settings.address]).code == 250  # stored, then the poller died before flagging it
    assert polling.poll_once() == PollResult(stored=1)  # acknowledged as already received
    assert outcomes(database, account) == [f"202 {PARTNER}"]
    assert len(dovecot.folder(account, PROCESSED)["seen"]) == 1


def test_the_command_polls_once(dovecot, account, gateway_config, database, tmp_path, monkeypatch, capsys):
    dovecot.deliver(account, mail(f"factures@{account}.example", (numbered("ubl", "RX-IMAP-4"), "application/xml", "RX-IMAP-4.xml")))
    imap = {
        "host": "127.0.0.1",
        "port": dovecot.tls_port,
        "ca_file": str(dovecot.ca_file),
        "username": account,
        "address": f"factures@{account}.example",
    }
    folder = config_folder(tmp_path / "config", gateway_config, mailboxes={imap["address"]: account}, imap={**imap, "password_env": "TEST_IMAP_PW"})
    monkeypatch.setenv("GATEWAY_CONFIG_DIR", str(folder))
    monkeypatch.setenv("TEST_IMAP_PW", PASSWORD)
    assert main(["inbound", "imap-poll", "--once"]) == 0
    assert "gateway inbound imap-poll: 1 stored, 0 without a readable invoice, 0 deferred, 0 too large" in capsys.readouterr().out
    assert outcomes(database, account) == [f"202 {PARTNER}"]

    monkeypatch.setenv("TEST_IMAP_PW", "wrong")
    assert main(["inbound", "imap-poll", "--once"]) == 1
    assert "gateway: error: IMAP 127.0.0.1" in capsys.readouterr().err

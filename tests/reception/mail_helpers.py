"""Real e-mail for the reception tests: the gateway's SMTP listener on a free loopback port, and messages as mailers build them."""

from __future__ import annotations

import dataclasses
import json
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gateway.archive.service import Archive
from gateway.config import Config
from gateway.reception.mailroom import Mailroom
from gateway.reception.smtp import SmtpListener
from gateway.store.session import Database
from tests.connectors.smtp_server import free_port, make_certificate

PARTNER = "compta@fournisseur.example"


@dataclass
class Mailbox:
    """A tenant's mailbox served by a running listener (in this process, or run by the `gateway` command)."""

    address: str
    tenant: str
    port: int
    ca_file: Path | None = None  # the listener's certificate, when it offers STARTTLS


def with_reception(config: Config, **reception: Any) -> Config:
    return dataclasses.replace(config, sections=MappingProxyType({**config.sections, "reception": reception}))


@contextmanager
def listening(
    config: Config, database: Database, archive: Archive, tenant: str, directory: Path, address: str | None = None, **reception: Any
) -> Iterator[Mailbox]:
    """The listener with STARTTLS (a throwaway certificate) for one mailbox of `tenant`; `reception` adds [reception] settings."""
    address = address or f"factures@{tenant}.example"
    cert, key = make_certificate(directory)
    port = free_port()
    smtp = {"port": port, "tls_cert": str(cert), "tls_key": str(key), "server_name": "mx.gateway.test", **reception.pop("smtp", {})}
    mailroom = Mailroom(database, archive, with_reception(config, mailboxes={address: tenant}, smtp=smtp, **reception))
    with SmtpListener(mailroom):
        yield Mailbox(address, tenant, port, cert)


def send(box: Mailbox, message: bytes, recipient: str | None = None, *, starttls: bool = True) -> tuple[int, str]:
    """MAIL, RCPT and DATA one by one, as a partner's mail server does: the first refusal, else the final reply to DATA."""
    with smtplib.SMTP("127.0.0.1", box.port, timeout=120) as client:
        client.ehlo("mx.fournisseur.example")
        if starttls and box.ca_file:
            client.starttls(context=ssl.create_default_context(cafile=box.ca_file))
            client.ehlo("mx.fournisseur.example")
        for code, text in (client.mail("bounces@fournisseur.example"), client.rcpt(recipient or box.address)):
            if code != 250:
                return code, text.decode()
        code, text = client.data(message)
        return code, text.decode()


def mail(to: str, *attachments: tuple[bytes, str, str | None], body: str = "Bonjour,\n\nVeuillez trouver ci-joint notre facture.\n") -> bytes:
    """A partner's message to `to` with (data, content type, file name) attachments."""
    message = EmailMessage()
    message["From"] = f"Fournisseur SA <{PARTNER}>"
    message["To"] = to
    message["Subject"] = "Facture"
    message["Message-ID"] = make_msgid(domain="fournisseur.example")
    message.set_content(body)
    for data, content_type, filename in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes(policy=SMTP)


def config_folder(directory: Path, config: Config, **reception: Any) -> Path:
    """A config folder for the `gateway` command: the test database and document folder, and `reception` as [reception]."""

    def table(name: str, values: dict[str, Any]) -> str:
        scalars = "".join(f"{json.dumps(k)} = {json.dumps(v)}\n" for k, v in values.items() if not isinstance(v, dict))
        tables = "".join(table(f"{name}.{k}", v) for k, v in values.items() if isinstance(v, dict))
        return f"[{name}]\n{scalars}\n{tables}"

    directory.mkdir(exist_ok=True)
    gateway = {"data_dir": str(config.data_dir), "database_url": config.database_url, "log_level": "WARNING"}
    (directory / "gateway.toml").write_text(table("gateway", gateway) + table("reception", reception), encoding="utf-8")
    return directory

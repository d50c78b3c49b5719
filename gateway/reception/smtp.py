"""The SMTP listener partners' mail servers deliver invoices to (aiosmtpd), for the configured mailboxes only.

- RCPT TO an address that is not one of `[reception.mailboxes]`: 550 5.1.1, so the gateway is no relay;
- a message over `max_message_bytes`: 552 (announced in EHLO SIZE, checked again on the data);
- STARTTLS offered when a certificate is configured, required with `require_tls`;
- DATA: the message is handed to the `Mailroom` in a worker thread (one transaction), and the reply is
  its answer, given only after the commit: a crash before it leaves the message with the sender, whose
  server tries again.  250 stored, 554 nothing readable (recorded, and the reason goes back to the
  sender), 451 not stored (try again).

The listener does no authentication and no SPF/DKIM checks: the From address is recorded as claimed.
Put it behind the organisation's MX (which filters) or restrict who may connect at the network level.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import Any

from aiosmtpd.controller import Controller

from gateway.reception.mail_settings import SmtpSettings
from gateway.reception.mailroom import Mailroom


class _Handler:
    def __init__(self, mailroom: Mailroom) -> None:
        self.mailroom = mailroom

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if not self.mailroom.accepts(address):
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        loop = asyncio.get_running_loop()
        reply = await loop.run_in_executor(None, self.mailroom.handle, envelope.original_content, list(envelope.rcpt_tos), envelope.mail_from)
        return reply.line()


class SmtpListener:
    """`with SmtpListener(mailroom, settings) as listener:` serves until the block ends (a thread of its own)."""

    def __init__(self, mailroom: Mailroom, settings: SmtpSettings | None = None) -> None:
        self.settings = settings or mailroom.settings.smtp
        tls = None
        if self.settings.tls_cert:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(self.settings.tls_cert, self.settings.tls_key)
        self._controller = Controller(
            _Handler(mailroom),
            hostname=self.settings.host,
            port=self.settings.port,
            server_hostname=self.settings.server_name or socket.getfqdn(),
            data_size_limit=mailroom.settings.max_message_bytes,
            tls_context=tls,
            require_starttls=self.settings.require_tls,
            timeout=self.settings.timeout_seconds,
        )

    @property
    def address(self) -> tuple[str, int]:
        return self.settings.host, self.settings.port

    def start(self) -> SmtpListener:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

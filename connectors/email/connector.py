"""The e-mail connector: the invoice to the buyer's address over SMTP, with STARTTLS and authentication.

One SMTP session per delivery (MAIL, RCPT, DATA driven one by one so the server's final answer — usually its
queue id — is kept in the Receipt). SMTP 4xx, timeouts and connection failures are transient; 5xx refusals,
bad credentials and TLS problems are permanent. A bounce arrives later as a DSN: see `parse_bounce`.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
from collections.abc import Iterator, Mapping
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

from connectors.base import ConnectorError, Envelope, Receipt, StatusUpdate
from connectors.email.message import Sender, build_message, checked_address


class EmailConnector:
    """Connector `email`. Configuration keys: host, port (587), sender, sender_name, reply_to, message_id_domain,
    username, password (AUTH when username is set), starttls (True: required), ca_file (trust anchors for the
    server certificate; default: the system's), timeout (30 s), attach_xml (False), envelope_from (bounce address,
    default: sender), local_hostname (EHLO name)."""

    name = "email"

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.host = config.get("host", "localhost")
        self.port = int(config.get("port", 587))
        self.sender = Sender(
            address=checked_address(config["sender"], "sender"),
            name=config.get("sender_name", ""),
            reply_to=config.get("reply_to"),
            message_id_domain=config.get("message_id_domain"),
        )
        self.envelope_from = checked_address(config.get("envelope_from") or self.sender.address, "envelope_from")
        self.username = config.get("username")
        self.password = config.get("password", "")
        self.starttls = bool(config.get("starttls", True))
        self.ca_file = config.get("ca_file")
        self.timeout = float(config.get("timeout", 30.0))
        self.attach_xml = bool(config.get("attach_xml", False))
        self.local_hostname = config.get("local_hostname")

    def send(self, envelope: Envelope) -> Receipt:
        """Send the invoice; the Receipt's remote_id is the Message-ID (what a later bounce refers to)."""
        message = build_message(envelope, self.sender, attach_xml=self.attach_xml)
        return self.send_message(message, checked_address(envelope.recipient.email, "recipient"))

    def send_message(self, message: EmailMessage, recipient: str) -> Receipt:
        """Send a message built for `recipient` (an invoice, a payment reminder); the Receipt's remote_id is its Message-ID."""
        data = message.as_bytes(policy=SMTP)
        with self._session() as smtp:
            _expect(smtp.mail(self.envelope_from), "MAIL FROM")
            _expect(smtp.rcpt(recipient), f"RCPT TO <{recipient}>")
            code, reply = smtp.data(data)
            _expect((code, reply), "DATA")
        text = reply.decode("utf-8", "replace")
        return Receipt(self.name, str(message["Message-ID"]), accepted=True, raw=f"{code} {text}".encode(), message=text)

    def fetch_statuses(self, since: datetime) -> list[StatusUpdate]:
        """E-mail has no status channel: bounces come back as messages and are read with `parse_bounce`."""
        return []

    def health(self) -> dict[str, Any]:
        """Connect, STARTTLS, authenticate, NOOP."""
        try:
            with self._session() as smtp:
                _expect(smtp.noop(), "NOOP")
        except ConnectorError as exc:
            return {"connector": self.name, "ok": False, "host": self.host, "port": self.port, "error": exc.message, "transient": exc.transient}
        return {"connector": self.name, "ok": True, "host": self.host, "port": self.port, "starttls": self.starttls, "auth": bool(self.username)}

    @contextlib.contextmanager
    def _session(self) -> Iterator[smtplib.SMTP]:
        """An SMTP session, secured and authenticated; every failure comes out as a classified ConnectorError."""
        with _classified(f"SMTP {self.host}:{self.port}"):
            smtp = smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout)
            try:
                # DATA leaves as several TLS records; with Nagle the last one waits for the server's delayed ACK (~40 ms).
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                smtp.ehlo()
                if self.starttls:
                    if not smtp.has_extn("starttls"):
                        raise ConnectorError(f"SMTP {self.host}:{self.port} does not offer STARTTLS", transient=False, code="tls")
                    smtp.starttls(context=ssl.create_default_context(cafile=self.ca_file))
                    smtp.ehlo()
                if self.username:
                    smtp.login(self.username, self.password)
                yield smtp
            finally:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    smtp.quit()
                smtp.close()


def _expect(reply: tuple[int, bytes], command: str) -> None:
    """2xx goes on; 4xx is a temporary refusal, 5xx a permanent one."""
    code, text = reply
    if 200 <= code < 300:
        return
    message = f"SMTP {command} refused: {code} {text.decode('utf-8', 'replace')}"
    raise ConnectorError(message, transient=400 <= code < 500, code="rejected", raw=f"{code} ".encode() + text)


@contextlib.contextmanager
def _classified(where: str) -> Iterator[None]:
    try:
        yield
    except ConnectorError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise ConnectorError(f"{where}: authentication refused ({exc.smtp_code})", transient=False, code="auth") from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise ConnectorError(f"{where}: {exc}", transient=False, code="config") from exc
    except smtplib.SMTPResponseException as exc:
        transient = 400 <= exc.smtp_code < 500
        raise ConnectorError(f"{where}: {exc.smtp_code} {exc.smtp_error!r}", transient=transient, code="rejected") from exc
    except ssl.SSLCertVerificationError as exc:
        raise ConnectorError(f"{where}: server certificate not trusted ({exc.verify_message})", transient=False, code="tls") from exc
    except TimeoutError as exc:
        raise ConnectorError(f"{where}: timed out", transient=True, code="timeout") from exc
    except smtplib.SMTPServerDisconnected as exc:  # smtplib turns a read timeout into a disconnection
        code = "timeout" if isinstance(exc.__context__, TimeoutError) else "unavailable"
        raise ConnectorError(f"{where}: {exc}", transient=True, code=code) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise ConnectorError(f"{where}: {exc.__class__.__name__}: {exc}", transient=True, code="unavailable") from exc

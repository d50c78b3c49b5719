"""A loopback SMTP server (aiosmtpd) with STARTTLS and AUTH PLAIN/LOGIN, for tests and benchmarks.

STARTTLS uses a throwaway self-signed certificate made with `cryptography` (`make_certificate`); AUTH is
checked by an authenticator against one login/password, after TLS only. Knobs: `delay` (slow DATA → client
timeouts), `reject` (recipients refused with 550), `tempfail` (451 at DATA), `stop()` / `start()` (down, then
back on the same port).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# aiosmtpd warns on every AUTH that its own Session.login_data is deprecated: noise, not a finding.
logging.getLogger("mail.log").setLevel(logging.ERROR)


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost, valid one day: (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes  # the message exactly as received in DATA
    authenticated: bool


class SmtpServer:
    """`with SmtpServer(cert, key) as server:`; received messages are in `server.messages`."""

    def __init__(
        self, cert: Path, key: Path, *, username: str = "gateway", password: str = "s3cret-smtp", exclude_auth: tuple[str, ...] = (), port: int = 0
    ) -> None:
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.load_cert_chain(cert, key)
        self.username, self.password = username, password
        self.exclude_auth = exclude_auth
        self.port = port or free_port()
        self.delay = 0.0
        self.reject: set[str] = set()
        self.tempfail = False
        self.messages: list[Received] = []
        self.auth_attempts: list[tuple[str, bool]] = []  # (mechanism, success)
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            tls_context=self.tls,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            auth_exclude_mechanism=self.exclude_auth,
            authenticator=self._authenticate,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client_config(self, ca_file: Path, **overrides: Any) -> dict[str, Any]:
        """An EmailConnector configuration for this server."""
        config = {
            "host": "127.0.0.1",
            "port": self.port,
            "sender": "factures@atelier-dupont.example",
            "sender_name": "Atelier Dupont — Facturation",
            "reply_to": "compta@atelier-dupont.example",
            "username": self.username,
            "password": self.password,
            "ca_file": str(ca_file),
            "timeout": 5.0,
        }
        return config | overrides

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (self.username.encode(), self.password.encode())
        with self._lock:
            self.auth_attempts.append((mechanism, ok))
        return AuthResult(success=ok, handled=False)


class _Handler:
    def __init__(self, backend: SmtpServer) -> None:
        self.backend = backend

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if address in self.backend.reject:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.backend.delay:
            await asyncio.sleep(self.backend.delay)
        if self.backend.tempfail:
            return "451 4.3.0 Temporary local problem, try again later"
        received = Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content, bool(session.authenticated))
        with self.backend._lock:
            self.backend.messages.append(received)
            queue_id = f"Q{len(self.backend.messages):06d}"
        return f"250 2.0.0 Ok: queued as {queue_id}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

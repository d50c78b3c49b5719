"""Runs `as4_peer.py`, a Peppol AS4 receiving access point built on the independent `as4` package, for the tests.

`as4` pins cryptography<47 while pyHanko needs >=48, so the peer runs in its own venv (`.venv-peers`) as a
subprocess; this side only writes its credentials, waits for its port and reads the files it writes.

Example fixture::

    @pytest.fixture
    def c3(tmp_path):
        pki = make_pki()
        receiving_ap = issue("PTE000002", pki.ap_ca_test)
        peer = As4Peer(tmp_path / "c3", ap=receiving_ap, trust=[pki.ap_ca_test], serve=["0225:356000000"])
        yield peer
        peer.close()

    # the sender signs with issue("PFR000001", pki.ap_ca_test) (CN = its eb:From PartyId), encrypts for
    # receiving_ap.cert, POSTs to c3.url with verify=c3.tls_ca_pem, then checks c3.received() / c3.duplicates().
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.connectors.peppol_servers import Credential, issue

ROOT = Path(__file__).resolve().parents[2]
PEER_SCRIPT = Path(__file__).with_name("as4_peer.py")
START_TIMEOUT = 20.0


@functools.cache
def peers_python() -> Path:
    """The interpreter of the peers venv (`$GATEWAY_TEST_AS4_PYTHON` or `.venv-peers`), where `as4` imports; skip without it, unless CI=true."""
    configured = os.environ.get("GATEWAY_TEST_AS4_PYTHON")
    python = Path(configured) if configured else ROOT / ".venv-peers" / "bin" / "python"
    if python.is_file() and subprocess.run([python, "-c", "import as4.peppol"], capture_output=True, timeout=60).returncode == 0:
        return python
    reason = f"no Python with the `as4` package at {python}: create it with: python3 -m venv .venv-peers && .venv-peers/bin/pip install as4"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(f"{reason}; set CI=true to make this a failure")


def tls_credential(ca: Credential) -> Credential:
    """An HTTPS server certificate for 127.0.0.1 and localhost, issued by `ca` (with the extensions strict verifiers require)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return Credential(cert, key)


class As4Peer:
    """A receiving access point (C3) in a subprocess of the peers venv, writing what it receives under `state`.

    `ap` is its AS4 credential (CN = its party id; the sender encrypts for it and checks the receipt's signature
    with it), `trust` the CAs of sending APs, `serve` the participant ids it accepts (others: PEPPOL:NOT_SERVICED).
    """

    def __init__(
        self,
        state: Path,
        *,
        ap: Credential,
        trust: Sequence[Credential],
        serve: Sequence[str],
        tls_ca: Credential | None = None,
    ) -> None:
        self.state = state
        self.ap = ap
        self.tls_ca = tls_ca or issue("Loopback TLS CA", ca=True)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.process_exit: int | None = None
        credentials = state / "credentials"
        credentials.mkdir(parents=True, exist_ok=True)
        tls = tls_credential(self.tls_ca)
        files = {
            "ap-cert.pem": ap.cert_pem,
            "ap-key.pem": ap.key_pem,
            "trust.pem": b"".join(ca.cert_pem for ca in trust),
            "tls-cert.pem": tls.cert_pem,
            "tls-key.pem": tls.key_pem,
            "tls-ca.pem": self.tls_ca.cert_pem,
        }
        for name, content in files.items():
            (credentials / name).write_bytes(content)
        self.tls_ca_pem = str(credentials / "tls-ca.pem")  # for requests' verify=
        self.command = [
            str(peers_python()),
            str(PEER_SCRIPT),
            *("--cert", str(credentials / "ap-cert.pem"), "--key", str(credentials / "ap-key.pem")),
            *("--trust", str(credentials / "trust.pem")),
            *("--tls-cert", str(credentials / "tls-cert.pem"), "--tls-key", str(credentials / "tls-key.pem")),
            *("--state", str(state)),
            *(argument for participant in serve for argument in ("--serve", participant)),
        ]
        self.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/as4"

    @property
    def party_id(self) -> str:
        return str(self.ap.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)

    def start(self) -> None:
        """Start the server (again on the previous port, so a restarted access point keeps its URL); wait until it listens."""
        if self.process is not None:
            return
        port_file = self.state / "port"
        port_file.unlink(missing_ok=True)
        with (self.state / "peer.log").open("ab") as log:
            self.process = subprocess.Popen([*self.command, "--port", str(self.port)], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT
        while not port_file.is_file():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the AS4 peer did not start (exit code {self.process_exit}):\n{self.log()}")
            time.sleep(0.05)
        self.port = int(port_file.read_text())

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s): its port refuses connections until `start()`."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process_exit = self.process.returncode
        self.process = None

    def close(self) -> None:
        self.stop()

    def __enter__(self) -> As4Peer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_mode(self, mode: str) -> None:
        """'' (normal), 'http500', 'hang', 'garbage' or 'tamper-receipt'; read by the peer on each request."""
        tmp = self.state / "mode.tmp"
        tmp.write_text(mode)
        os.replace(tmp, self.state / "mode")

    def _jsonl(self, name: str) -> list[dict]:
        path = self.state / name
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []

    def received(self) -> list[dict]:
        """One record per delivered message (message_id, conversation_id, from_party, to_party, sender, recipient,
        document_type, document_type_scheme, process, service, action, signer, payload_sha256, payload_file, received_at)."""
        return self._jsonl("received.jsonl")

    def duplicates(self) -> int:
        """How many messages were acknowledged again because their MessageId had already been received."""
        return len(self._jsonl("duplicates.jsonl"))

    def payload(self, message_id: str) -> bytes:
        """The decrypted, decompressed payload (the SBD XML) of a delivered message."""
        record = next(record for record in self.received() if record["message_id"] == message_id)
        return (self.state / "payloads" / record["payload_file"]).read_bytes()

    def signals(self) -> list[bytes]:
        """Every signal (receipt or error) the peer answered, oldest first."""
        return [path.read_bytes() for path in sorted((self.state / "signals").glob("*.xml"))]

    def log(self) -> str:
        path = self.state / "peer.log"
        return path.read_text(errors="replace") if path.is_file() else ""

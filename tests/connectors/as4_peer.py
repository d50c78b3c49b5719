"""A Peppol AS4 receiving access point (corner C3) on loopback, built on the independent `as4` package (PyPI).

Run by the peers venv (`.venv-peers/bin/python`), never imported by the tests: it imports only the standard
library and `as4` (with its lxml/cryptography), so our AS4 sender is checked against code that is not ours.
`tests/connectors/as4_peer_process.py` starts it and reads what it writes.

    --cert/--key      the AP's signing and decryption credential (PEM); the certificate's CN is its party id
    --trust           CA certificate(s) (PEM) issuing sending AP certificates (Peppol rule: CN == eb:From PartyId)
    --tls-cert/--tls-key  the HTTPS server credential
    --serve           participant id served here (repeatable); any other gets EBMS:0004 PEPPOL:NOT_SERVICED
    --state DIR       port, received.jsonl, payloads/, duplicates.jsonl, signals/, and `mode` (read per request)
    --port            0 for any free port; the previous port when restarted

`POST /as4` answers every ebMS signal, receipt or error, with HTTP 200, as phase4 does. Modes (file DIR/mode):
empty = normal; `http500` = HTTP 500 with a SOAP fault; `hang` = 30 s of silence, then normal handling;
`garbage` = HTTP 200 with an HTML page; `tamper-receipt` = the delivery is recorded but one DigestValue of the
receipt's NonRepudiationInformation is altered after signing. A MessageId already received is acknowledged with a
fresh receipt and counted in duplicates.jsonl, not delivered twice (phase4 and Oxalis keep such a table too).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from as4 import AS4InternalParty, AS4LocalPrivateKey, ParticipantNotServicedError, SecurityPolicy
from as4.peppol import create_peppol_internal_party, parse_peppol_message, peppol_security_policy
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

HANG_SECONDS = 30
SOAP_FAULT = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body><S12:Fault>'
    b"<S12:Code><S12:Value>S12:Receiver</S12:Value></S12:Code>"
    b'<S12:Reason><S12:Text xml:lang="en">Internal error (test mode http500)</S12:Text></S12:Reason>'
    b"</S12:Fault></S12:Body></S12:Envelope>"
)
GARBAGE = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
NRI_DIGEST = re.compile(rb"NonRepudiationInformation.*?DigestValue>(.)", re.DOTALL)


def log(text: str) -> None:
    print(f"as4-peer: {text}", file=sys.stderr, flush=True)


def safe_name(text: str) -> str:
    """A file name for a MessageId (any characters but a few are replaced)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)[:200] or "_"


def tamper(signal_bytes: bytes) -> bytes:
    """One byte of the first DigestValue inside NonRepudiationInformation changed, after signing."""
    match = NRI_DIGEST.search(signal_bytes)
    if match is None:
        return signal_bytes
    position = match.start(1)
    replacement = b"B" if signal_bytes[position : position + 1] == b"A" else b"A"
    return signal_bytes[:position] + replacement + signal_bytes[position + 1 :]


class Store:
    """What the access point received, in DIR; MessageIds already received survive a restart (read back at start)."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.lock = threading.Lock()
        (state / "payloads").mkdir(parents=True, exist_ok=True)
        (state / "signals").mkdir(exist_ok=True)
        self.received_file = state / "received.jsonl"
        self.seen = {json.loads(line)["message_id"] for line in self._lines(self.received_file)}

    @staticmethod
    def _lines(path: Path) -> list[str]:
        return [line for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []

    @staticmethod
    def _append(path: Path, record: dict) -> None:
        with path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")

    def mode(self) -> str:
        path = self.state / "mode"
        return path.read_text().strip() if path.is_file() else ""

    def record(self, record: dict, payload: bytes) -> bool:
        """Record a delivery; False (and a line in duplicates.jsonl) when its MessageId was already received."""
        with self.lock:
            if record["message_id"] in self.seen:
                self._append(self.state / "duplicates.jsonl", {"message_id": record["message_id"], "at": record["received_at"]})
                return False
            (self.state / "payloads" / record["payload_file"]).write_bytes(payload)
            self._append(self.received_file, record)
            self.seen.add(record["message_id"])
            return True

    def save_signal(self, reference: str, signal_bytes: bytes) -> None:
        (self.state / "signals" / f"{time.time_ns()}-{safe_name(reference or 'unknown')}.xml").write_bytes(signal_bytes)


def load_party(cert_path: Path, key_path: Path) -> AS4InternalParty:
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    party_id = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    return create_peppol_internal_party(party_id=party_id, certificate=certificate, private_key=AS4LocalPrivateKey(key))


def make_handler(local_party: AS4InternalParty, policy: SecurityPolicy, served: set[str], store: Store) -> type[BaseHTTPRequestHandler]:
    def accept_participant(participant: str) -> None:
        if participant.casefold() not in served:
            raise ParticipantNotServicedError(participant)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 60

        def setup(self) -> None:
            self.request.settimeout(self.timeout)
            self.request.do_handshake()  # in this thread, so a stalled TLS client does not block accept()
            super().setup()

        def log_message(self, format: str, *args: object) -> None:
            pass

        def read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline().strip():
                    pass  # trailers
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def answer(self, status: int, content_type: str, body: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
                log("client gone before the answer")

        def do_GET(self) -> None:
            self.answer(405 if self.path == "/as4" else 404, "text/plain", b"POST an AS4 message to /as4\n")

        def do_POST(self) -> None:
            body = self.read_body()
            if self.path != "/as4":
                self.answer(404, "text/plain", b"not found\n")
                return
            mode = store.mode()
            if mode == "http500":
                self.answer(500, "application/soap+xml;charset=utf-8", SOAP_FAULT)
                return
            if mode == "garbage":
                self.answer(200, "text/html", GARBAGE)
                return
            if mode == "hang":
                time.sleep(HANG_SECONDS)
            try:
                status, content_type, signal_bytes = self.receive(body, tamper_receipt=mode == "tamper-receipt")
            except Exception as exc:  # a bug here or in as4: answer like a crashed server, and say why
                log(f"internal error: {exc!r}")
                self.answer(500, "text/plain", f"internal error: {exc!r}\n".encode())
                return
            self.answer(status, content_type, signal_bytes)

        def receive(self, body: bytes, *, tamper_receipt: bool) -> tuple[int, str, bytes]:
            receiving = parse_peppol_message(
                request_headers=dict(self.headers.items()),
                request_body=body,
                local_party=local_party,
                accept_participant=accept_participant,
                security_policy=policy,
            )
            headers, signal_bytes = receiving.build_signal()
            message = receiving.message
            if receiving.successful:
                payload = next(iter(message.decrypted_data.values()))
                user_message = message.soap_envelope.header.messaging.user_message
                record = {
                    "message_id": message.message_id,
                    "conversation_id": message.conversation_id,
                    "from_party": user_message.party_info.party_from.party_id.value,
                    "to_party": user_message.party_info.party_to.party_id.value,
                    "sender": message.sender,
                    "recipient": message.recipient,
                    "document_type": message.document_type_identifier_value,
                    "document_type_scheme": message.document_type_identifier_scheme,
                    "process": message.process_identifier,
                    "service": user_message.collaboration_info.service.value,
                    "action": user_message.collaboration_info.action.value,
                    "signer": message.signer_certificate.subject.rfc4514_string(),
                    "payload_sha256": hashlib.sha256(payload).hexdigest(),
                    "payload_file": f"{safe_name(message.message_id)}.xml",
                    "received_at": datetime.now(UTC).isoformat(),
                }
                fresh = store.record(record, payload)
                log(f"{message.message_id}: {'delivered' if fresh else 'duplicate, receipt sent again'}")
                if tamper_receipt:
                    signal_bytes = tamper(signal_bytes)
            else:
                error = receiving.error
                detail = error.error_detail.value if error and error.error_detail else ""
                log(f"{message.message_id or '?'}: {error.error_code if error else '?'} {detail}")
            store.save_signal(message.message_id, signal_bytes)
            return 200, headers["Content-Type"], signal_bytes

    return Handler


class TlsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext) -> None:
        self.context = context
        super().__init__(("127.0.0.1", port), handler)

    def get_request(self) -> tuple[socket.socket, tuple]:
        connection, address = self.socket.accept()
        return self.context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request: object, client_address: object) -> None:
        log(f"connection from {client_address}: {sys.exc_info()[1]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cert", type=Path, required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--trust", type=Path, required=True)
    parser.add_argument("--tls-cert", type=Path, required=True)
    parser.add_argument("--tls-key", type=Path, required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--serve", action="append", default=[])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    local_party = load_party(args.cert, args.key)
    policy = peppol_security_policy(*x509.load_pem_x509_certificates(args.trust.read_bytes()))
    store = Store(args.state)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.tls_cert, args.tls_key)
    served = {participant.casefold() for participant in args.serve}
    server = TlsServer(args.port, make_handler(local_party, policy, served, store), context)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    port_file = args.state / "port"
    port_file.with_suffix(".tmp").write_text(str(server.server_address[1]))
    os.replace(port_file.with_suffix(".tmp"), port_file)
    log(f"{local_party.identity.party_id} listening on https://127.0.0.1:{server.server_address[1]}/as4, serving {sorted(served)}")
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

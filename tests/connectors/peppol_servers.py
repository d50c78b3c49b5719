"""Real loopback servers for the Peppol connector tests: a DNS server (NAPTR), an SMP, and an access point API.

- `DnsServer`: UDP on 127.0.0.1, answers NAPTR queries from a dict of records, built and parsed with
  dnspython's message API; unknown names get NXDOMAIN; `silent=True` drops queries (a DNS timeout).
- `SmpServer`: Peppol SMP 1.x over HTTP — ServiceGroup and SignedServiceMetadata, enveloped-signed with signxml
  by a certificate of a test PKI made here with `cryptography`; `tamper` edits the XML after signing.
- `AccessPoint`: phase4's `POST /api/sendsbdh` contract — bearer token, the SBD as the body, a JSON sending
  report as the answer; it records what it received, drops duplicates by SBDH InstanceIdentifier (as real
  access points do), and can be told to fail (HTTP 5xx, an AS4 error from C3, a hang) or be stopped and restarted.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote

import dns.flags
import dns.message
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner, methods

SMP_NS = "http://busdox.org/serviceMetadata/publishing/1.0/"
ID_NS = "http://busdox.org/transport/identifiers/1.0/"
WSA_NS = "http://www.w3.org/2005/08/addressing"
SBDH_NS = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"


# ------------------------------------------------------------------------------------------------ test PKI


@dataclass(frozen=True)
class Credential:
    """A certificate and its private key (PEM)."""

    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

    @property
    def der_b64(self) -> str:
        return base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


def issue(common_name: str, issuer: Credential | None = None, *, ca: bool = False, valid_days: int = 30) -> Credential:
    """A certificate for `common_name`, self-signed when `issuer` is None."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Loopback Test")])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.cert.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=not ca,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    return Credential(builder.sign(issuer.key if issuer else key, hashes.SHA256()), key)


@dataclass(frozen=True)
class Pki:
    """Test and production look-alike CAs (named like Peppol's so the stage checks apply) and their end certificates."""

    smp_ca_test: Credential
    smp_ca_production: Credential
    ap_ca_test: Credential
    ap_ca_production: Credential
    smp_test: Credential
    smp_production: Credential
    ap_test: Credential
    ap_production: Credential
    rogue_ca: Credential
    smp_rogue: Credential


def make_pki() -> Pki:
    smp_ca_test = issue("PEPPOL SERVICE METADATA PUBLISHER TEST CA - LOOPBACK", ca=True)
    smp_ca_production = issue("PEPPOL SERVICE METADATA PUBLISHER CA - LOOPBACK", ca=True)
    ap_ca_test = issue("PEPPOL ACCESS POINT TEST CA - LOOPBACK", ca=True)
    ap_ca_production = issue("PEPPOL ACCESS POINT CA - LOOPBACK", ca=True)
    rogue_ca = issue("Rogue CA", ca=True)
    return Pki(
        smp_ca_test=smp_ca_test,
        smp_ca_production=smp_ca_production,
        ap_ca_test=ap_ca_test,
        ap_ca_production=ap_ca_production,
        smp_test=issue("PSG000001 SMP", smp_ca_test),
        smp_production=issue("PSG000001 SMP", smp_ca_production),
        ap_test=issue("PFR000001", ap_ca_test),
        ap_production=issue("PFR000001", ap_ca_production),
        rogue_ca=rogue_ca,
        smp_rogue=issue("PSG000001 SMP", rogue_ca),
    )


# ------------------------------------------------------------------------------------------------ DNS


@dataclass(frozen=True)
class Naptr:
    order: int
    preference: int
    flags: str
    service: str
    regexp: str

    def text(self) -> str:
        return f'{self.order} {self.preference} "{self.flags}" "{self.service}" "{self.regexp}" .'


class DnsServer:
    """A UDP DNS server on 127.0.0.1 answering NAPTR queries for the names in `records`."""

    def __init__(self) -> None:
        self.records: dict[str, list[Naptr]] = {}
        self.silent = False
        self.queries: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            query = dns.message.from_wire(data)
            question = query.question[0]
            name = question.name.to_text(omit_final_dot=True).lower()
            self.queries.append(name)
            if self.silent:
                continue
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA
            records = self.records.get(name)
            if records is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif question.rdtype == dns.rdatatype.NAPTR:
                rrset = dns.rrset.from_rdata_list(
                    question.name, 60, [dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.NAPTR, r.text()) for r in records]
                )
                response.answer.append(rrset)
            self.sock.sendto(response.to_wire(), peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


# ------------------------------------------------------------------------------------------------ HTTP helper


class HttpServer:
    """A threaded HTTP server on 127.0.0.1 calling `handle(method, path, headers, body) -> (status, content_type, body)`;
    `stop()` closes the port and `start()` reopens the same port (an access point going down and coming back)."""

    def __init__(self, handle: Callable[[str, str, dict[str, str], bytes], tuple[int, str, bytes]]) -> None:
        self.handle = handle
        self.port = 0
        self.server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _respond(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, content_type, payload = outer.handle(self.command, self.path, dict(self.headers), body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            do_GET = do_POST = _respond

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


# ------------------------------------------------------------------------------------------------ SMP


@dataclass
class Registration:
    """What the SMP publishes for one participant."""

    participant: str  # "<ICD>:<value>"
    document_types: list[str]
    processes: list[str]
    endpoint_url: str
    ap_certificate: Credential
    transport_profile: str = "peppol-transport-as4-v2_0"


class SmpServer:
    """A Peppol SMP 1.x on loopback, signing every SignedServiceMetadata with `signer`."""

    def __init__(self, signer: Credential) -> None:
        self.signer = signer
        self.registrations: dict[str, Registration] = {}
        self.tamper: Callable[[bytes], bytes] | None = None
        self.requests: list[str] = []
        self.http = HttpServer(self._handle)

    @property
    def url(self) -> str:
        return self.http.url

    def register(self, registration: Registration) -> None:
        self.registrations[f"iso6523-actorid-upis::{registration.participant}".lower()] = registration

    def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        self.requests.append(path)
        participant_part, _, service_part = path.lstrip("/").partition("/services/")
        registration = self.registrations.get(unquote(participant_part).lower())
        if method != "GET" or registration is None:
            return 404, "text/plain", b"not found"
        if not service_part:
            return 200, "application/xml", self._service_group(participant_part, registration)
        document_type = unquote(service_part).partition("::")[2]
        if document_type not in registration.document_types:
            return 404, "text/plain", b"not found"
        signed = self._signed_metadata(registration, document_type)
        return 200, "application/xml", self.tamper(signed) if self.tamper else signed

    def _service_group(self, participant_part: str, registration: Registration) -> bytes:
        root = etree.Element(f"{{{SMP_NS}}}ServiceGroup", nsmap={None: SMP_NS, "id": ID_NS})
        _el(root, ID_NS, "ParticipantIdentifier", registration.participant, scheme="iso6523-actorid-upis")
        collection = _el(root, SMP_NS, "ServiceMetadataReferenceCollection")
        for doctype in registration.document_types:
            href = f"{self.url}/{participant_part}/services/{quote('busdox-docid-qns::' + doctype, safe='')}"
            _el(collection, SMP_NS, "ServiceMetadataReference", href=href)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def _signed_metadata(self, registration: Registration, document_type: str) -> bytes:
        root = etree.Element(f"{{{SMP_NS}}}SignedServiceMetadata", nsmap={"smp": SMP_NS, "id": ID_NS, "wsa": WSA_NS})
        info = _el(_el(root, SMP_NS, "ServiceMetadata"), SMP_NS, "ServiceInformation")
        _el(info, ID_NS, "ParticipantIdentifier", registration.participant, scheme="iso6523-actorid-upis")
        _el(info, ID_NS, "DocumentIdentifier", document_type, scheme="busdox-docid-qns")
        process_list = _el(info, SMP_NS, "ProcessList")
        for process_id in registration.processes:
            process = _el(process_list, SMP_NS, "Process")
            _el(process, ID_NS, "ProcessIdentifier", process_id, scheme="cenbii-procid-ubl")
            endpoint = _el(_el(process, SMP_NS, "ServiceEndpointList"), SMP_NS, "Endpoint", transportProfile=registration.transport_profile)
            _el(_el(endpoint, WSA_NS, "EndpointReference"), WSA_NS, "Address", registration.endpoint_url)
            _el(endpoint, SMP_NS, "RequireBusinessLevelSignature", "false")
            _el(endpoint, SMP_NS, "ServiceActivationDate", (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="seconds"))
            _el(endpoint, SMP_NS, "ServiceExpirationDate", (datetime.now(UTC) + timedelta(days=365)).isoformat(timespec="seconds"))
            _el(endpoint, SMP_NS, "Certificate", registration.ap_certificate.der_b64)
            _el(endpoint, SMP_NS, "ServiceDescription", "Loopback access point")
            _el(endpoint, SMP_NS, "TechnicalContactUrl", "mailto:peppol@loopback.test")
        signer = XMLSigner(method=methods.enveloped, signature_algorithm="rsa-sha256", digest_algorithm="sha256")
        signed = signer.sign(root, key=self.signer.key_pem, cert=[self.signer.cert_pem.decode()])
        return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")

    def close(self) -> None:
        self.http.stop()


def _el(parent: etree._Element, ns: str, name: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{name}", attributes)
    if text is not None:
        element.text = text
    return element


# ------------------------------------------------------------------------------------------------ access point


@dataclass
class AccessPoint:
    """The tenant's access point submission API (phase4 `POST /api/sendsbdh`), on loopback."""

    token: str = "ap-secret-token"
    mode: str = "ok"  # ok | fail5xx | reject | hang | no-signal
    hang_seconds: float = 3.0
    requests: list[bytes] = field(default_factory=list)  # every body received
    delivered: dict[str, bytes] = field(default_factory=dict)  # SBDH InstanceIdentifier -> SBD, once each

    def __post_init__(self) -> None:
        self.http = HttpServer(self._handle)

    @property
    def url(self) -> str:
        return f"{self.http.url}/api/sendsbdh"

    def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        if method != "POST" or path != "/api/sendsbdh":
            return 404, "text/plain", b"not found"
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, "application/json", b'{"error": "invalid token"}'
        self.requests.append(body)
        if self.mode == "hang":
            time.sleep(self.hang_seconds)
        if self.mode == "fail5xx":
            return 503, "text/plain", b"service unavailable"
        try:
            root = etree.fromstring(body)
            instance_id = root.findtext(
                f"{{{SBDH_NS}}}StandardBusinessDocumentHeader/{{{SBDH_NS}}}DocumentIdentification/{{{SBDH_NS}}}InstanceIdentifier"
            )
            if root.tag != f"{{{SBDH_NS}}}StandardBusinessDocument" or not instance_id:
                raise ValueError("not a Peppol SBD")
        except (etree.XMLSyntaxError, ValueError) as exc:
            return (
                200,
                "application/json",
                _report(sendingSuccess=False, sbdhParsingException={"class": "PeppolSBDHDataReadException", "message": str(exc)}),
            )
        if self.mode == "reject":
            errors = [
                {"errorCode": "PEPPOL:NOT_SERVICED", "shortDescription": "NotServiced", "errorDetails": "receiver does not accept this document"}
            ]
            return (
                200,
                "application/json",
                _report(sbdhInstanceIdentifier=instance_id, sendingResult="AS4_ERROR_MESSAGE_RECEIVED", as4ResponseErrors=errors),
            )
        if self.mode == "no-signal":
            return 200, "application/json", _report(sbdhInstanceIdentifier=instance_id, sendingResult="NO_SIGNAL_MESSAGE_RECEIVED")
        self.delivered.setdefault(instance_id, body)  # a duplicate InstanceIdentifier is acknowledged, not delivered twice
        message_id = f"{uuid.uuid5(uuid.NAMESPACE_URL, instance_id)}@loopback-ap"
        receipt = f'<eb:SignalMessage xmlns:eb="http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"><eb:Receipt/><eb:RefToMessageId>{message_id}</eb:RefToMessageId></eb:SignalMessage>'
        return (
            200,
            "application/json",
            _report(
                sbdhInstanceIdentifier=instance_id,
                as4MessageId=message_id,
                sendingResult="SUCCESS",
                sendingSuccess=True,
                overallSuccess=True,
                as4ReceivedSignalMsg=receipt,
            ),
        )

    def close(self) -> None:
        self.http.stop()


def _report(**fields: object) -> bytes:
    report: dict[str, object] = {"phase4Version": "loopback", "sendingSuccess": False, "overallSuccess": False, "as4ResponseError": False}
    report.update(fields)
    return json.dumps(report).encode()


def discovery_settings(pki: Pki, dns: DnsServer, zone: str) -> dict[str, Any]:
    """The Peppol connector settings that point discovery at the loopback SML (`dns`, `zone`) and trust the test SMP CA."""
    return {
        "stage": "test",
        "sml_zone": zone,
        "dns_nameserver": "127.0.0.1",
        "dns_port": dns.port,
        "dns_timeout": 1.0,
        "smp_trust_anchors": pki.smp_ca_test.cert_pem.decode(),
    }

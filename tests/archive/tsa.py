"""A tiny RFC 3161 time-stamp authority on loopback, for the tests (EC P-256 key, self-signed timeStamping certificate)."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def make_certificate(key: ec.EllipticCurvePrivateKey, usage=ExtendedKeyUsageOID.TIME_STAMPING) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Loopback test TSA")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=True)
        .sign(key, hashes.SHA256())
    )


class LoopbackTSA:
    """`with LoopbackTSA() as tsa:` serves on tsa.url; `wrong_imprint` makes it time-stamp other data."""

    def __init__(self, *, wrong_imprint: bool = False, usage=ExtendedKeyUsageOID.TIME_STAMPING) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.certificate = make_certificate(self.key, usage)
        self.wrong_imprint = wrong_imprint
        self.requests = 0
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                reply = tsa.reply(tsp.TimeStampReq.load(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tsa"

    def __enter__(self) -> LoopbackTSA:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(Encoding.PEM)

    def reply(self, request: tsp.TimeStampReq) -> bytes:
        self.requests += 1
        imprint = request["message_imprint"]
        if self.wrong_imprint:
            imprint = {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": hashlib.sha256(b"something else").digest()}
        info = tsp.TSTInfo(
            {
                "version": 1,
                "policy": "1.3.6.1.4.1.99999.1",
                "message_imprint": imprint,
                "serial_number": self.requests,
                "gen_time": datetime.now(UTC),
                "nonce": request["nonce"].native,
            }
        )
        attributes = cms.CMSAttributes(
            [
                {"type": "content_type", "values": ["tst_info"]},
                {"type": "message_digest", "values": [hashlib.sha256(info.dump()).digest()]},
            ]
        )
        certificate = asn1_x509.Certificate.load(self.certificate.public_bytes(Encoding.DER))
        signer = cms.SignerInfo(
            {
                "version": "v1",
                "sid": {"issuer_and_serial_number": {"issuer": certificate.issuer, "serial_number": certificate.serial_number}},
                "digest_algorithm": {"algorithm": "sha256"},
                "signed_attrs": attributes,
                "signature_algorithm": {"algorithm": "sha256_ecdsa"},
                "signature": self.key.sign(attributes.dump(), ec.ECDSA(hashes.SHA256())),
            }
        )
        signed = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": [{"algorithm": "sha256"}],
                "encap_content_info": {"content_type": "tst_info", "content": info},
                "certificates": [certificate],
                "signer_infos": [signer],
            }
        )
        token = cms.ContentInfo({"content_type": "signed_data", "content": signed})
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()

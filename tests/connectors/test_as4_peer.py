"""The AS4 peer harness itself, without our sender: a message built and sent by the `as4` package is delivered
once, and the same bytes sent again are acknowledged as a duplicate, not delivered twice."""

from __future__ import annotations

import hashlib
import json
import subprocess

from tests.connectors.as4_peer_process import As4Peer, peers_python
from tests.connectors.peppol_servers import issue, make_pki

DOCUMENT_TYPE = (
    "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"
)
PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

# Runs in the peers venv: builds one message with `as4`, POSTs it twice (a resend after a lost receipt) and
# checks each receipt's signature and non-repudiation digests; prints the MessageId.
SENDER = """
import json, ssl, sys, urllib.request
from pathlib import Path
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from as4 import AS4LocalPrivateKey
from as4.peppol import build_peppol_message, create_peppol_external_party, create_peppol_internal_party, parse_peppol_receipt

args = json.loads(sys.argv[1])
sender_cert = x509.load_pem_x509_certificate(Path(args["sender_cert"]).read_bytes())
sender_key = load_pem_private_key(Path(args["sender_key"]).read_bytes(), None)
receiver_cert = x509.load_pem_x509_certificate(Path(args["receiver_cert"]).read_bytes())
message = build_peppol_message(
    args["invoice"].encode(),
    local_party=create_peppol_internal_party("PFR000001", sender_cert, AS4LocalPrivateKey(sender_key)),
    remote_party=create_peppol_external_party(args["receiver_id"], receiver_cert),
    sender="0225:111111111", recipient="0225:356000000", sender_country_id="FR",
    document_type_identifier_scheme="busdox-docid-qns", document_type_identifier_value=args["document_type"],
    process_identifier=args["process"],
)
body, boundary = message.get_request_data()
context = ssl.create_default_context(cafile=args["ca"])
for _ in range(2):
    request = urllib.request.Request(args["url"], data=body, headers=message.get_http_headers(boundary))
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        parse_peppol_receipt(response.read(), receiver_cert).verify_non_repudiation(message.signed_references)
print(message.message_id)
"""


def test_as4_package_message_is_delivered_once_and_its_resend_is_a_duplicate(tmp_path):
    pki = make_pki()
    receiver = issue("PTE000002", pki.ap_ca_test)
    (tmp_path / "sender-cert.pem").write_bytes(pki.ap_test.cert_pem)
    (tmp_path / "sender-key.pem").write_bytes(pki.ap_test.key_pem)
    (tmp_path / "receiver-cert.pem").write_bytes(receiver.cert_pem)
    invoice = '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>INV-AS4-1</ID></Invoice>'

    with As4Peer(tmp_path / "c3", ap=receiver, trust=[pki.ap_ca_test], serve=["0225:356000000"]) as peer:
        args = {
            "url": peer.url,
            "ca": peer.tls_ca_pem,
            "sender_cert": str(tmp_path / "sender-cert.pem"),
            "sender_key": str(tmp_path / "sender-key.pem"),
            "receiver_cert": str(tmp_path / "receiver-cert.pem"),
            "receiver_id": peer.party_id,
            "invoice": invoice,
            "document_type": DOCUMENT_TYPE,
            "process": PROCESS,
        }
        sent = subprocess.run([peers_python(), "-c", SENDER, json.dumps(args)], capture_output=True, text=True, timeout=60)
        assert sent.returncode == 0, f"{sent.stderr}\n{peer.log()}"
        message_id = sent.stdout.strip()

        [record] = peer.received()
        assert peer.duplicates() == 1
        payload = peer.payload(message_id)

    assert record["message_id"] == message_id
    assert (record["from_party"], record["to_party"]) == ("PFR000001", "PTE000002")
    assert (record["sender"], record["recipient"]) == ("0225:111111111", "0225:356000000")
    assert (record["document_type"], record["process"]) == (DOCUMENT_TYPE, PROCESS)
    assert record["payload_sha256"] == hashlib.sha256(payload).hexdigest()
    assert b"StandardBusinessDocument" in payload and b"INV-AS4-1" in payload

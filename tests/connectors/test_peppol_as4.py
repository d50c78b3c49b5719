"""The Peppol connector in `as4` mode: our own AS4 sender against an independent receiving access point.

The receiver is `tests/connectors/as4_peer.py`, built on the PyPI `as4` package (its own signature, decryption,
SBDH and Peppol checks) and run in `.venv-peers` over HTTPS on loopback; the SML is the loopback DNS server and the
SMP the loopback signing SMP, publishing the receiver's address and certificate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from connectors.peppol import PeppolConnector, as4
from connectors.peppol import identifiers as ids
from connectors.peppol.connector import PeppolConfig
from tests.connectors.as4_peer_process import As4Peer
from tests.connectors.documents import envelope
from tests.connectors.peppol_servers import Credential, DnsServer, Naptr, Pki, Registration, SmpServer, discovery_settings, issue, make_pki
from tests.connectors.test_peppol_connector import RECEIVER, ZONE, french_ubl, hashed_name, received_header, refused

pytestmark = pytest.mark.timeout(60)

NOT_SERVED = "0225:443061841"  # registered in the SMP with the same access point, which does not serve it


@dataclass
class As4Network:
    pki: Pki
    dns: DnsServer
    smp: SmpServer
    peer: As4Peer
    sender: Credential  # our access point
    receiver: Credential  # the receiving access point (C3)

    def config(self, **overrides: Any) -> dict[str, Any]:
        return {
            "mode": "as4",
            **discovery_settings(self.pki, self.dns, ZONE),
            "ap_certificate": self.sender.cert_pem.decode(),
            "ap_private_key": self.sender.key_pem.decode(),
            "ap_trust_anchors": self.pki.ap_ca_test.cert_pem.decode(),
            "tls_ca_bundle": self.peer.tls_ca_pem,
            "timeout": 5.0,
        } | overrides

    def connector(self, **overrides: Any) -> PeppolConnector:
        return PeppolConnector.from_config(self.config(**overrides))

    def envelope(self, key: str = "delivery-1", document: bytes | None = None, **changes: Any):
        return envelope("ubl", document=document or french_ubl(), idempotency_key=key, **changes)

    def register(self, participant: str, certificate: Credential | None = None, url: str | None = None) -> None:
        self.smp.register(
            Registration(
                participant=participant,
                document_types=[ids.FR_UBL_INVOICE_CIUS.value, ids.FR_UBL_CREDIT_NOTE_CIUS.value],
                processes=[ids.FR_PROCESS_REGULATED],
                endpoint_url=url or self.peer.url,
                ap_certificate=certificate or self.receiver,
            )
        )
        self.dns.records[hashed_name(participant)] = [Naptr(100, 10, "U", "Meta:SMP", f"!^.*$!{self.smp.url}!")]


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture
def network(pki: Pki, tmp_path: Path) -> Iterator[As4Network]:
    sender, receiver = issue("PFR000001", pki.ap_ca_test), issue("PFR000002", pki.ap_ca_test)
    peer = As4Peer(tmp_path / "c3", ap=receiver, trust=[pki.ap_ca_test], serve=[RECEIVER])
    dns, smp = DnsServer(), SmpServer(pki.smp_test)
    net = As4Network(pki, dns, smp, peer, sender, receiver)
    net.register(RECEIVER)
    yield net
    for server in (peer, dns, smp):
        server.close()


def test_the_sbd_reaches_the_receiving_access_point_with_a_verified_receipt(network: As4Network):
    document = french_ubl("credit-note-fr-b2b")
    receipt = network.connector().send(network.envelope(document=document))
    assert receipt.accepted and receipt.connector == "peppol"
    [received] = network.peer.received()
    message_id = as4.message_id_for("atelier-dupont:delivery-1")
    assert received["message_id"] == message_id and "CN=PFR000001" in received["signer"]
    assert (received["from_party"], received["to_party"]) == ("PFR000001", "PFR000002")
    assert (received["sender"], received["recipient"]) == ("0225:732829320", RECEIVER)
    assert (received["document_type"], received["process"]) == (ids.FR_UBL_CREDIT_NOTE_CIUS.value, ids.FR_PROCESS_REGULATED)
    sbd = network.peer.payload(message_id)
    assert received["payload_sha256"] == hashlib.sha256(sbd).hexdigest()
    header = received_header(sbd)
    assert header["instance"] == receipt.remote_id and header["DOCUMENTID"] == ids.FR_UBL_CREDIT_NOTE_CIUS.value
    assert etree.tostring(etree.fromstring(sbd)[1], method="c14n") == etree.tostring(etree.fromstring(document), method="c14n")
    # The receipt kept is the receiver's signed signal, acknowledging our message.
    assert receipt.raw in network.peer.signals() and b"NonRepudiationInformation" in receipt.raw
    assert message_id in receipt.message and "PFR000002" in receipt.message


def test_a_retry_resends_the_same_message_id_and_the_buyer_gets_one_copy(network: As4Network):
    connector = network.connector()
    first = connector.send(network.envelope("delivery-A"))
    retry = connector.send(network.envelope("delivery-A"))  # a worker killed after sending, before recording
    other = connector.send(network.envelope("delivery-B"))
    assert retry.accepted and retry.remote_id == first.remote_id != other.remote_id
    assert [r["message_id"] for r in network.peer.received()] == [as4.message_id_for(f"atelier-dupont:delivery-{k}") for k in "AB"]
    assert network.peer.duplicates() == 1


def test_a_participant_the_access_point_does_not_serve_is_a_rejection(network: As4Network):
    network.register(NOT_SERVED)
    receipt = network.connector().send(network.envelope(peppol_id=NOT_SERVED))
    assert receipt.accepted is False
    assert "PEPPOL:NOT_SERVICED" in receipt.message and b"EBMS:0004" in receipt.raw
    assert network.peer.received() == []


def test_our_certificate_refused_by_the_receiver_is_a_permanent_auth_error(network: As4Network):
    rogue = issue("PFR000001", network.pki.rogue_ca)  # a CA the receiver does not trust (but configured as ours)
    anchors = network.pki.ap_ca_test.cert_pem + network.pki.rogue_ca.cert_pem
    error = refused(
        network.connector(ap_certificate=rogue.cert_pem.decode(), ap_private_key=rogue.key_pem.decode(), ap_trust_anchors=anchors.decode()).send,
        network.envelope(),
    )
    assert (error.code, error.transient) == ("auth", False)
    assert "EBMS:0101" in error.message and "ap_certificate" in error.message
    assert network.peer.received() == []


def test_a_receipt_that_does_not_verify_is_no_proof_and_the_retry_is_not_delivered_twice(network: As4Network):
    network.peer.set_mode("tamper-receipt")
    error = refused(network.connector().send, network.envelope())
    assert (error.code, error.transient) == ("bad-response", True)
    assert "non-repudiation" in error.message or "digest" in error.message
    network.peer.set_mode("")
    assert network.connector().send(network.envelope()).accepted
    assert len(network.peer.received()) == 1 and network.peer.duplicates() == 1


def test_a_receipt_signed_by_another_certificate_than_the_smp_gives_is_refused(network: As4Network):
    receipt = network.connector().send(network.envelope())
    sent = as4.UserMessage(as4.message_id_for("atelier-dupont:delivery-1"), b"", "", ())
    impostor = issue("PFR000002", network.pki.ap_ca_test)  # same name and CA, another key
    with pytest.raises(as4.As4Error, match="not by the receiving access point's registered certificate"):
        as4.read_signal(receipt.raw, "application/soap+xml", sent=sent, receiver=impostor.cert)


@pytest.mark.parametrize(("mode", "code"), [("http500", "server"), ("garbage", "bad-response")])
def test_failures_of_the_receiving_access_point_are_transient_and_a_retry_succeeds(network: As4Network, mode: str, code: str):
    network.peer.set_mode(mode)
    error = refused(network.connector().send, network.envelope())
    assert (error.code, error.transient) == (code, True)
    network.peer.set_mode("")
    assert network.connector().send(network.envelope()).accepted and len(network.peer.received()) == 1


def test_timeout_is_transient(network: As4Network):
    network.peer.set_mode("hang")
    error = refused(network.connector(timeout=0.5).send, network.envelope())
    assert (error.code, error.transient) == ("timeout", True)


def test_receiving_access_point_down_then_back(network: As4Network):
    connector = network.connector()
    network.peer.stop()
    error = refused(connector.send, network.envelope())
    assert (error.code, error.transient) == ("unreachable", True)
    network.peer.start()
    assert connector.send(network.envelope()).accepted and len(network.peer.received()) == 1


def test_the_receivers_https_certificate_is_verified(network: As4Network):
    error = refused(network.connector(tls_ca_bundle=None).send, network.envelope())  # the system store does not know the loopback CA
    assert (error.code, error.transient) == ("unreachable", True) and "CERTIFICATE_VERIFY_FAILED" in error.message
    assert network.peer.received() == []


@pytest.mark.parametrize(
    ("certificate", "url", "code", "text"),
    [
        ("production", None, "certificate-stage", "Peppol production CA"),
        ("rogue", None, "certificate", "not a configured trust anchor"),
        (None, "http://127.0.0.1:9/as4", "smp", "is not HTTPS"),
    ],
)
def test_an_smp_endpoint_we_must_not_send_to_is_refused_before_sending(network: As4Network, certificate, url, code, text):
    chosen = {"production": issue("PFR000002", network.pki.ap_ca_production), "rogue": issue("PFR000002", network.pki.rogue_ca), None: None}
    network.register(RECEIVER, certificate=chosen[certificate], url=url)
    error = refused(network.connector().send, network.envelope())
    assert (error.code, error.transient) == (code, False) and text in error.message
    assert network.peer.signals() == []


def test_as4_settings_are_checked_at_configuration(network: As4Network):
    with pytest.raises(ValueError, match=r"ap_certificate and peppol\.ap_private_key are required"):
        PeppolConfig.from_mapping(network.config(ap_certificate=""))
    with pytest.raises(ValueError, match="does not belong to the certificate"):
        PeppolConfig.from_mapping(network.config(ap_private_key=network.receiver.key_pem.decode()))
    production = issue("PFR000001", network.pki.ap_ca_production)
    with pytest.raises(ValueError, match="Peppol stage mismatch: our access point certificate"):
        PeppolConfig.from_mapping(network.config(ap_certificate=production.cert_pem.decode(), ap_private_key=production.key_pem.decode()))
    with pytest.raises(ValueError, match="ap_trust_anchors"):
        PeppolConfig.from_mapping(network.config(ap_trust_anchors=""))
    health = network.connector().health()
    assert health["ok"] and health["mode"] == "as4" and "PFR000001" in health["detail"]

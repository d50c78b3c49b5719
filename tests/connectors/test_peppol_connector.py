"""The Peppol connector against real loopback servers: DNS (U-NAPTR), a signing SMP, and an access point API."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from lxml import etree

from connectors import base
from connectors.base import ConnectorError, Envelope
from connectors.peppol import PeppolConnector, sbdh
from connectors.peppol import identifiers as ids
from connectors.peppol.identifiers import ParticipantId
from connectors.peppol.sml import SML_ZONE_TEST
from gateway.formats.ubl import write_ubl
from gateway.model.serialize import invoice_from_json
from gateway.model.totals import complete
from tests.conftest import load_example
from tests.connectors.documents import envelope
from tests.connectors.peppol_servers import AccessPoint, DnsServer, Naptr, Pki, Registration, SmpServer, discovery_settings, make_pki

pytestmark = pytest.mark.timeout(10)

ZONE = "sml.loopback.test"
RECEIVER = "0225:356000000"
SBDH_NS = {"s": sbdh.SBDH_NS}


def hashed_name(participant: str, zone: str = ZONE) -> str:
    """The SML name written out from the rule, independently of connectors.peppol.sml."""
    label = base64.b32encode(hashlib.sha256(participant.lower().encode()).digest()).decode().rstrip("=").lower()
    return f"{label}.iso6523-actorid-upis.{zone}"


def french_ubl(example: str = "invoice-fr-b2b", customization: str = ids.FR_CIUS_CUSTOMIZATION) -> bytes:
    invoice = dataclasses.replace(invoice_from_json(load_example(example)), specification_id=customization)
    complete(invoice)
    return write_ubl(invoice)


@dataclass
class Network:
    pki: Pki
    dns: DnsServer
    smp: SmpServer
    ap: AccessPoint
    registration: Registration

    def config(self, **overrides: Any) -> dict[str, Any]:
        return {
            "mode": "submission_api",
            **discovery_settings(self.pki, self.dns, ZONE),
            "submission_url": self.ap.url,
            "submission_token": self.ap.token,
            "timeout": 2.0,
        } | overrides

    def connector(self, **overrides: Any) -> PeppolConnector:
        return PeppolConnector.from_config(self.config(**overrides))

    def envelope(self, document: bytes | None = None, key: str = "delivery-1", **changes: Any) -> Envelope:
        return envelope("ubl", document=document or french_ubl(), idempotency_key=key, **changes)


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture
def network(pki: Pki) -> Iterator[Network]:
    dns, smp, ap = DnsServer(), SmpServer(pki.smp_test), AccessPoint()
    registration = Registration(
        participant=RECEIVER,
        document_types=[ids.FR_UBL_INVOICE_CIUS.value, ids.FR_UBL_CREDIT_NOTE_CIUS.value, ids.FR_CII_CIUS.value, ids.BIS3_INVOICE.value],
        processes=[ids.FR_PROCESS_REGULATED, ids.BIS3_PROCESS],
        endpoint_url="https://ap.receiver.loopback.test/as4",
        ap_certificate=pki.ap_test,
    )
    smp.register(registration)
    dns.records[hashed_name(RECEIVER)] = [Naptr(100, 10, "U", "Meta:SMP", f"!^.*$!{smp.url}!")]
    yield Network(pki, dns, smp, ap, registration)
    for server in (dns, smp, ap):
        server.close()


def refused(call, *args: Any) -> ConnectorError:
    with pytest.raises(ConnectorError) as caught:
        call(*args)
    return caught.value


# ---------------------------------------------------------------------------------------------- discovery


def test_discovery_goes_from_sml_to_the_verified_smp_endpoint(network: Network):
    route = network.connector().discover(ParticipantId.parse(RECEIVER), ids.FR_UBL_INVOICE_CIUS, ids.FR_PROCESS_REGULATED)
    assert network.dns.queries == [hashed_name(RECEIVER)]
    assert route.smp_url == network.smp.url
    assert network.smp.requests == [
        "/iso6523-actorid-upis%3A%3A0225%3A356000000",
        "/iso6523-actorid-upis%3A%3A0225%3A356000000/services/"
        + ids.FR_UBL_INVOICE_CIUS.uri.replace(":", "%3A").replace("#", "%23").replace("/", "%2F"),
    ]
    assert route.endpoint.transport_profile == "peppol-transport-as4-v2_0"
    assert route.endpoint.url == "https://ap.receiver.loopback.test/as4"
    assert route.endpoint.certificate == network.pki.ap_test.cert
    assert route.metadata.signer == network.pki.smp_test.cert
    assert set(route.metadata.processes) == {ids.FR_PROCESS_REGULATED, ids.BIS3_PROCESS}


def test_naptr_records_are_filtered_by_flag_and_service_and_ordered(network: Network):
    network.dns.records[hashed_name(RECEIVER)] = [
        Naptr(50, 10, "U", "Meta:SML", "!^.*$!http://127.0.0.1:9/wrong-service!"),
        Naptr(200, 10, "U", "Meta:SMP", "!^.*$!http://127.0.0.1:9/later-order!"),
        Naptr(100, 10, "U", "meta:smp", f"!^.*$!{network.smp.url}/!"),
    ]
    route = network.connector().discover(ParticipantId.parse(RECEIVER), ids.FR_UBL_INVOICE_CIUS, ids.FR_PROCESS_REGULATED)
    assert route.smp_url == network.smp.url


def test_unregistered_participant_is_a_permanent_error(network: Network):
    error = refused(network.connector().discover, ParticipantId.parse("0225:732829320"), ids.FR_UBL_INVOICE_CIUS, ids.FR_PROCESS_REGULATED)
    assert (error.code, error.transient) == ("not-registered", False)
    assert "0225:732829320" in error.message


def test_silent_dns_is_transient(network: Network):
    network.dns.silent = True
    error = refused(network.connector(dns_timeout=0.3).discover, ParticipantId.parse(RECEIVER), ids.FR_UBL_INVOICE_CIUS, ids.FR_PROCESS_REGULATED)
    assert (error.code, error.transient) == ("dns", True)


def test_tampered_signed_service_metadata_is_refused(network: Network):
    network.smp.tamper = lambda xml: xml.replace(b"https://ap.receiver.loopback.test/as4", b"https://attacker.example/as4")
    error = refused(network.connector().discover, ParticipantId.parse(RECEIVER), ids.FR_UBL_INVOICE_CIUS, ids.FR_PROCESS_REGULATED)
    assert (error.code, error.transient) == ("smp-signature", False)


def test_metadata_signed_by_an_untrusted_certificate_is_refused(network: Network):
    network.smp.signer = network.pki.smp_rogue
    error = refused(network.connector().discover, ParticipantId.parse(RECEIVER), ids.FR_UBL_INVOICE_CIUS, ids.FR_PROCESS_REGULATED)
    assert error.code == "certificate" and "Rogue CA" in error.message and "not a configured trust anchor" in error.message


def test_unsigned_metadata_is_refused(network: Network):
    network.smp.tamper = lambda xml: etree.tostring(_without_signature(etree.fromstring(xml)))
    error = refused(network.connector().discover, ParticipantId.parse(RECEIVER), ids.FR_UBL_INVOICE_CIUS, ids.FR_PROCESS_REGULATED)
    assert error.code == "smp-signature"


def _without_signature(root: etree._Element) -> etree._Element:
    for signature in root.findall("{http://www.w3.org/2000/09/xmldsig#}Signature"):
        root.remove(signature)
    return root


def test_smp_signed_by_the_test_pki_on_a_production_connector_names_both_stages(network: Network):
    connector = network.connector(stage="production", sml_zone=ZONE, smp_trust_anchors=network.pki.smp_ca_production.cert_pem.decode())
    error = refused(connector.discover, ParticipantId.parse(RECEIVER), ids.FR_UBL_INVOICE_CIUS, ids.FR_PROCESS_REGULATED)
    assert error.code == "certificate-stage"
    assert "PEPPOL SERVICE METADATA PUBLISHER TEST CA" in error.message and "Peppol test CA" in error.message
    assert "configured for the Peppol production network" in error.message


def test_production_access_point_certificate_on_the_test_network_is_refused(network: Network):
    network.registration.ap_certificate = network.pki.ap_production
    error = refused(network.connector().send, network.envelope())
    assert error.code == "certificate-stage" and "receiving access point" in error.message and "Peppol production CA" in error.message
    assert network.ap.requests == []


def test_stage_mismatches_in_the_configuration_are_refused_at_once(network: Network):
    with pytest.raises(ValueError, match=r"is the test SML but peppol\.stage is 'production'"):
        network.connector(stage="production", sml_zone=SML_ZONE_TEST, smp_trust_anchors=network.pki.smp_ca_production.cert_pem.decode())
    with pytest.raises(ValueError, match=r"is a test CA but peppol\.stage is 'production'"):
        network.connector(stage="production", sml_zone=ZONE)
    with pytest.raises(ValueError, match="smp_trust_anchors"):
        network.connector(smp_trust_anchors="")


def test_document_type_the_receiver_does_not_accept(network: Network):
    plain = envelope("ubl", idempotency_key="plain-en16931")  # the gateway's default UBL: BT-24 urn:cen.eu:en16931:2017
    error = refused(network.connector().send, plain)
    assert (error.code, error.transient) == ("unsupported-document-type", False)
    assert "urn:cen.eu:en16931:2017::2.1" in error.message and ids.FR_UBL_INVOICE_CIUS.value in error.message
    assert network.ap.requests == []


def test_process_the_receiver_does_not_accept(network: Network):
    network.registration.processes = [ids.BIS3_PROCESS]
    error = refused(network.connector().send, network.envelope())
    assert error.code == "unsupported-process" and "urn:peppol:france:billing:regulated" in error.message


# ---------------------------------------------------------------------------------------------- sending


def received_header(body: bytes) -> dict[str, str]:
    root = etree.fromstring(body)
    h = "s:StandardBusinessDocumentHeader/"
    scopes = {
        s.findtext("s:Type", namespaces=SBDH_NS): s.findtext("s:InstanceIdentifier", namespaces=SBDH_NS)
        for s in root.iterfind(h + "s:BusinessScope/s:Scope", SBDH_NS)
    }
    return {
        "sender": root.findtext(h + "s:Sender/s:Identifier", namespaces=SBDH_NS),
        "receiver": root.findtext(h + "s:Receiver/s:Identifier", namespaces=SBDH_NS),
        "instance": root.findtext(h + "s:DocumentIdentification/s:InstanceIdentifier", namespaces=SBDH_NS),
        "type": root.findtext(h + "s:DocumentIdentification/s:Type", namespaces=SBDH_NS),
        **scopes,
    }


def test_send_delivers_the_sbd_through_the_access_point(network: Network):
    document = french_ubl("credit-note-fr-b2b")
    receipt = network.connector().send(network.envelope(document))
    assert receipt.accepted and receipt.connector == "peppol"
    assert list(network.ap.delivered) == [receipt.remote_id]
    header = received_header(network.ap.delivered[receipt.remote_id])
    assert header == {
        "sender": "0225:732829320",
        "receiver": RECEIVER,
        "instance": receipt.remote_id,
        "type": "CreditNote",
        "DOCUMENTID": ids.FR_UBL_CREDIT_NOTE_CIUS.value,
        "PROCESSID": ids.FR_PROCESS_REGULATED,
        "COUNTRY_C1": "FR",
    }
    payload = etree.fromstring(network.ap.delivered[receipt.remote_id])[1]
    assert etree.tostring(payload, method="c14n") == etree.tostring(etree.fromstring(document), method="c14n")
    assert b"eb:Receipt" in receipt.raw and "AS4 message" in receipt.message  # the AS4 receipt is recorded


def test_bis3_invoice_uses_its_profile_as_process_and_a_cii_document_its_own_doctype(network: Network):
    connector = network.connector()
    bis = french_ubl(customization=ids.BIS3_CUSTOMIZATION).replace(
        b"<cbc:ProfileID>M1</cbc:ProfileID>", f"<cbc:ProfileID>{ids.BIS3_PROCESS}</cbc:ProfileID>".encode()
    )
    first = connector.send(network.envelope(bis, key="bis3"))
    assert received_header(network.ap.delivered[first.remote_id])["PROCESSID"] == ids.BIS3_PROCESS
    cii = envelope("cii").document.replace(b"urn:cen.eu:en16931:2017</ram:ID>", ids.FR_CIUS_CUSTOMIZATION.encode() + b"</ram:ID>")
    second = connector.send(envelope("cii", document=cii, idempotency_key="cii"))
    assert received_header(network.ap.delivered[second.remote_id])["DOCUMENTID"] == ids.FR_CII_CIUS.value


def test_instance_identifier_is_unique_per_delivery_and_reused_by_a_retry(network: Network):
    connector = network.connector()
    first = connector.send(network.envelope(key="delivery-A"))
    second = connector.send(network.envelope(key="delivery-B"))
    retry = connector.send(network.envelope(key="delivery-A"))  # e.g. a worker killed after sending, before recording
    assert first.remote_id != second.remote_id and retry.remote_id == first.remote_id
    assert len(network.ap.requests) == 3 and len(network.ap.delivered) == 2  # the access point drops the duplicate


def test_wrong_token_is_a_permanent_auth_error(network: Network):
    error = refused(network.connector(submission_token="expired").send, network.envelope())
    assert (error.code, error.transient) == ("auth", False)
    assert "submission_token" in error.message and b"invalid token" in error.raw


def test_business_rejection_by_the_receiving_access_point_is_a_receipt(network: Network):
    network.ap.mode = "reject"
    receipt = network.connector().send(network.envelope())
    assert receipt.accepted is False
    assert "PEPPOL:NOT_SERVICED" in receipt.message and b"AS4_ERROR_MESSAGE_RECEIVED" in receipt.raw
    assert network.ap.delivered == {}


def test_timeout_is_transient(network: Network):
    network.ap.mode, network.ap.hang_seconds = "hang", 1.5
    error = refused(network.connector(timeout=0.5).send, network.envelope())
    assert (error.code, error.transient) == ("timeout", True)


@pytest.mark.parametrize(("mode", "code"), [("fail5xx", "server"), ("no-signal", "delivery")])
def test_access_point_failures_are_transient_and_a_retry_succeeds(network: Network, mode: str, code: str):
    network.ap.mode = mode
    error = refused(network.connector().send, network.envelope())
    assert (error.code, error.transient) == (code, True)
    network.ap.mode = "ok"
    assert network.connector().send(network.envelope()).accepted


def test_access_point_down_then_back(network: Network):
    connector = network.connector()
    network.ap.http.stop()
    error = refused(connector.send, network.envelope())
    assert (error.code, error.transient) == ("unreachable", True)
    network.ap.http.start()
    receipt = connector.send(network.envelope())
    assert receipt.accepted and list(network.ap.delivered) == [receipt.remote_id]


def test_factur_x_pdf_is_refused_before_any_lookup(network: Network):
    error = refused(network.connector().send, envelope("facturx"))
    assert (error.code, error.transient) == ("unsupported-document", False)
    assert network.dns.queries == []


def test_registry_builds_the_connector(network: Network):
    connector = base.get("peppol", network.config())
    assert isinstance(connector, base.Connector) and connector.name == "peppol"
    assert connector.fetch_statuses(since=datetime.now(UTC)) == [] and connector.health()["stage"] == "test"

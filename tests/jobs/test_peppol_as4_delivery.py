"""A delivery through the outbox in Peppol `as4` mode: routed by SML/SMP look-up, the French CIUS UBL written and
validated, sent by our AS4 sender to the independent receiving access point (tests/connectors/as4_peer.py), its
signed receipt archived and the lifecycle moved on, as in `submission_api` mode."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from lxml import etree
from sqlalchemy import select

from connectors.peppol import identifiers as ids
from connectors.peppol.sml import dns_name
from gateway.archive.models import ArchiveEntry
from gateway.jobs.models import SENT
from tests.connectors.as4_peer_process import As4Peer
from tests.connectors.peppol_servers import DnsServer, Naptr, Registration, SmpServer, discovery_settings, issue, make_pki
from tests.jobs.test_peppol_delivery import CBC, FRENCH, one, state_of, stored

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def as4_network(tmp_path_factory) -> Iterator[dict]:
    pki = make_pki()
    sender, receiver = issue("PFR000001", pki.ap_ca_test), issue("PFR000002", pki.ap_ca_test)
    peer = As4Peer(tmp_path_factory.mktemp("c3"), ap=receiver, trust=[pki.ap_ca_test], serve=[FRENCH.prefixed])
    dns, smp = DnsServer(), SmpServer(pki.smp_test)
    smp.register(Registration(FRENCH.prefixed, [ids.FR_UBL_INVOICE_CIUS.value], [ids.FR_PROCESS_REGULATED], peer.url, receiver))
    dns.records[dns_name(FRENCH, "sml.loopback.test")] = [Naptr(100, 10, "U", "Meta:SMP", f"!^.*$!{smp.url}!")]
    yield {
        "peer": peer,
        "config": {
            "mode": "as4",
            **discovery_settings(pki, dns, "sml.loopback.test"),
            "ap_certificate": sender.cert_pem.decode(),
            "ap_private_key": sender.key_pem.decode(),
            "ap_trust_anchors": pki.ap_ca_test.cert_pem.decode(),
            "tls_ca_bundle": peer.tls_ca_pem,
            "timeout": 10.0,
        },
    }
    for server in (peer, dns, smp):
        server.close()


def test_an_invoice_goes_out_over_as4_and_its_signed_receipt_is_archived(setup, as4_network):
    connectors = {**setup.net.connectors(), "peppol": as4_network["config"]}
    deliverer = setup.deliverer(routing={"peppol_participants": "lookup"}, connectors=connectors)
    invoice_id = one(setup, {"contact": None})  # BT-49 0225:356000000, seller and buyer in France: the French CIUS
    setup.drain(deliverer)
    delivery, invoice = state_of(setup, invoice_id)
    assert (delivery.state, delivery.channel, delivery.document_kind) == (SENT, "peppol", "ubl-peppol")
    assert [event.code for event in invoice.events] == ["200", "201"]
    received = [r for r in as4_network["peer"].received() if r["message_id"] in delivery.attempt_rows[-1].receipt["message"]]
    assert len(received) == 1 and received[0]["recipient"] == FRENCH.prefixed
    carried = etree.fromstring(as4_network["peer"].payload(received[0]["message_id"]))[1]
    assert carried.findtext(f"{CBC}CustomizationID") == ids.FR_CIUS_CUSTOMIZATION
    assert etree.tostring(carried, method="c14n") == etree.tostring(etree.fromstring(stored(setup, invoice, "ubl-peppol")), method="c14n")
    with setup.database.session() as session:
        receipts = session.scalars(select(ArchiveEntry).where(ArchiveEntry.invoice_id == invoice_id, ArchiveEntry.kind == "receipt")).all()
    assert len(receipts) == 1
    record = json.loads(setup.archive.read(receipts[0].content_sha256) or b"{}")
    assert base64.b64decode(record["raw"]) in as4_network["peer"].signals()  # the receiver's signed signal, byte for byte

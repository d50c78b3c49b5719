"""Deliveries on Peppol through the loopback DNS (SML), SMP and access point: look-ups, and the document carried —
a BIS Billing 3.0 or French CIUS UBL written for Peppol, validated before it is sent, archived with the invoice."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator

import pytest
from lxml import etree
from sqlalchemy import select

from connectors.peppol import identifiers as ids
from connectors.peppol.identifiers import ParticipantId
from connectors.peppol.sml import dns_name
from gateway.archive.models import ArchiveEntry
from gateway.jobs.models import DEAD, INVOICE_UNDELIVERABLE, OUTCOME_FAILED, RETRYING, SENT, Delivery
from gateway.store import models as db
from tests.connectors.peppol_servers import AccessPoint, DnsServer, Naptr, Registration, SmpServer, discovery_settings, make_pki
from tests.jobs import helpers

pytestmark = pytest.mark.timeout(120)

SBDH = "{http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader}"
CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
FRENCH = ParticipantId.parse("0225:356000000")  # the example's buyer (BT-49)
BIS3_RECEIVER = ParticipantId.parse("0009:35600000000048")  # the same buyer by SIRET, registered for BIS Billing 3.0 only


def state_of(setup, invoice_id: str) -> tuple[Delivery, db.Invoice]:
    with setup.database.session() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.invoice_id == invoice_id)).one()
        _ = delivery.attempt_rows, delivery.invoice.events, delivery.invoice.documents
        return delivery, delivery.invoice


def one(setup, buyer=None, **fields) -> str:
    return helpers.submit(setup.database, setup.archive, helpers.new_tenant(setup.database), 1, buyer, **fields)[0]


def bis3_ready(**overrides) -> dict:
    """Fields that make the French example a BIS 3 invoice: one note, SIRET (0009) electronic addresses for both parties."""
    example = helpers.load_example("invoice-fr-b2b")
    seller = {**copy.deepcopy(example["seller"]), "electronic_address": {"scheme": "0009", "value": "73282932000074"}}
    return {"notes": [{"text": "Merci de rappeler le numéro de facture dans votre virement."}], "seller": seller, **overrides}


@pytest.fixture(scope="module")
def peppol(tmp_path_factory) -> Iterator[dict]:
    pki = make_pki()
    dns, smp, ap = DnsServer(), SmpServer(pki.smp_test), AccessPoint()
    registrations = [
        (FRENCH, [ids.FR_UBL_INVOICE_CIUS.value, ids.BIS3_INVOICE.value], [ids.FR_PROCESS_REGULATED, ids.BIS3_PROCESS]),
        (BIS3_RECEIVER, [ids.BIS3_INVOICE.value], [ids.BIS3_PROCESS]),
    ]
    for participant, document_types, processes in registrations:
        smp.register(Registration(participant.prefixed, document_types, processes, "https://ap.receiver.loopback.test/as4", pki.ap_test))
        dns.records[dns_name(participant, "sml.loopback.test")] = [Naptr(100, 10, "U", "Meta:SMP", f"!^.*$!{smp.url}!")]
    yield {
        "ap": ap,
        "dns": dns,
        "config": {
            "mode": "submission_api",
            **discovery_settings(pki, dns, "sml.loopback.test"),
            "submission_url": ap.url,
            "submission_token": ap.token,
            "timeout": 2.0,
        },
    }
    for server in (dns, smp, ap):
        server.close()


def peppol_deliverer(setup, peppol, **peppol_settings):
    connectors = {**setup.net.connectors(), "peppol": {**peppol["config"], **peppol_settings}}
    return setup.deliverer(routing={"peppol_participants": "lookup"}, connectors=connectors)


def carried(peppol, delivery: Delivery) -> tuple[etree._Element, etree._Element]:
    """The SBDH and the invoice of the SBD the access point received for this delivery."""
    sbd = etree.fromstring(peppol["ap"].delivered[delivery.remote_id])
    return sbd.find(f"{SBDH}StandardBusinessDocumentHeader"), sbd[1]


def scope(header: etree._Element, kind: str) -> str:
    return next(s.findtext(f"{SBDH}InstanceIdentifier") for s in header.iter(f"{SBDH}Scope") if s.findtext(f"{SBDH}Type") == kind)


def stored(setup, invoice: db.Invoice, kind: str) -> bytes | None:
    document = next((d for d in invoice.documents if d.kind == kind), None)
    return setup.database.blobs.get(document.sha256) if document else None


def test_peppol_lookup_routes_registered_participants_to_peppol_and_others_on(setup, peppol):
    deliverer = peppol_deliverer(setup, peppol)
    registered = one(setup, {"contact": None})  # BT-49 0225:356000000, seller and buyer in France: the French CIUS
    unknown = one(setup, {**helpers.PRIVATE_BUYER, "electronic_address": {"scheme": "0225", "value": "443061841"}})
    setup.drain(deliverer)
    delivery, invoice = state_of(setup, registered)
    assert (delivery.state, delivery.channel, delivery.document_kind) == (SENT, "peppol", "ubl-peppol")
    assert delivery.decision["reason"].endswith("found by SML/SMP look-up") and [e.code for e in invoice.events] == ["200", "201"]
    header, document = carried(peppol, delivery)  # remote_id: the SBDH InstanceIdentifier, derived from the idempotency key
    assert document.findtext(f"{CBC}CustomizationID") == ids.FR_CIUS_CUSTOMIZATION
    assert document.findtext(f"{CBC}ProfileID") == "M1"  # the French billing frame (BT-23) stays, the BR-FR rules read it
    assert (scope(header, "DOCUMENTID"), scope(header, "PROCESSID")) == (ids.FR_UBL_INVOICE_CIUS.value, ids.FR_PROCESS_REGULATED)
    delivery, _ = state_of(setup, unknown)
    assert (delivery.state, delivery.channel) == (SENT, "email")
    steps = delivery.decision["steps"]
    assert any(s["step"] == "peppol" and s["outcome"] == "not-found" and "not registered" in s["detail"] for s in steps)


def test_a_bis3_invoice_is_written_validated_archived_and_carried(setup, peppol):
    deliverer = peppol_deliverer(setup, peppol, profile="bis3")
    invoice_id = one(setup, {"contact": None, "electronic_address": {"scheme": "0009", "value": BIS3_RECEIVER.value}}, **bis3_ready())
    setup.drain(deliverer)
    delivery, invoice = state_of(setup, invoice_id)
    assert (delivery.state, delivery.channel, delivery.document_kind) == (SENT, "peppol", "ubl-peppol")
    header, document = carried(peppol, delivery)
    assert document.findtext(f"{CBC}CustomizationID") == ids.BIS3_CUSTOMIZATION
    assert document.findtext(f"{CBC}ProfileID") == ids.BIS3_PROCESS
    assert (scope(header, "DOCUMENTID"), scope(header, "PROCESSID")) == (ids.BIS3_INVOICE.value, ids.BIS3_PROCESS)
    # The document carried is the one stored and archived with the invoice, and the generic UBL is unchanged.
    kept = stored(setup, invoice, "ubl-peppol")
    assert kept is not None and etree.tostring(etree.fromstring(kept), method="c14n") == etree.tostring(document, method="c14n")
    assert etree.fromstring(stored(setup, invoice, "ubl")).findtext(f"{CBC}CustomizationID") == "urn:cen.eu:en16931:2017"
    with setup.database.session() as session:
        kinds = session.scalars(select(ArchiveEntry.kind).where(ArchiveEntry.invoice_id == invoice_id)).all()
    assert kinds.count("ubl-peppol") == 1 and kinds.count("receipt") == 1


def test_a_bis3_document_failing_the_peppol_rules_is_a_dead_letter_naming_them_and_not_sent(setup, peppol):
    deliverer = peppol_deliverer(setup, peppol, profile="bis3")
    received_before = len(peppol["ap"].requests)
    invoice_id = one(setup, {"contact": None})  # five notes (PEPPOL-EN16931-R002)
    setup.drain(deliverer)
    delivery, invoice = state_of(setup, invoice_id)
    assert (delivery.state, delivery.channel, delivery.document_kind, invoice.state) == (DEAD, "peppol", "ubl-peppol", INVOICE_UNDELIVERABLE)
    [attempt] = delivery.attempt_rows
    assert (attempt.outcome, attempt.transient, attempt.error_code) == (OUTCOME_FAILED, False, "peppol-validation")
    assert "PEPPOL-EN16931-R002" in attempt.error and "No more than one note" in attempt.error
    assert "PEPPOL-EN16931-R002" in delivery.last_error  # what GET /invoices/{id}/route and /deliveries show
    assert len(peppol["ap"].requests) == received_before and stored(setup, invoice, "ubl-peppol") is None


def test_a_dns_outage_during_a_peppol_lookup_is_retried_not_rerouted(setup, peppol):
    connectors = {**setup.net.connectors(), "peppol": peppol["config"]}
    deliverer = setup.deliverer(routing={"peppol_participants": "lookup"}, connectors=connectors, backoff_base_seconds=1.0, backoff_max_seconds=1.0)
    invoice_id = one(setup)
    peppol["dns"].silent = True
    try:
        setup.drain(deliverer)
    finally:
        peppol["dns"].silent = False
    delivery, _ = state_of(setup, invoice_id)
    assert (delivery.state, delivery.channel, delivery.decision) == (RETRYING, None, None)
    time.sleep(1.05)
    setup.drain(deliverer)
    assert state_of(setup, invoice_id)[0].channel == "peppol"

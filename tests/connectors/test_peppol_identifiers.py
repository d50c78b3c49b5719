"""Peppol identifiers, the SML hash rule, the SBDH envelope and MLS reading: no network needed."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from datetime import UTC, datetime

import pytest
from lxml import etree

from connectors.base import ConnectorError
from connectors.peppol import identifiers as ids
from connectors.peppol import mls, sbdh
from connectors.peppol.document import describe
from connectors.peppol.identifiers import IdentifierError, ParticipantId
from connectors.peppol.sml import apply_naptr_regexp, dns_label, dns_name
from gateway.formats.ubl import write_ubl
from gateway.model.serialize import invoice_from_json
from gateway.model.totals import complete
from tests.conftest import load_example

SBDH_NS = {"s": sbdh.SBDH_NS}


def french_ubl(example: str = "invoice-fr-b2b") -> bytes:
    invoice = dataclasses.replace(invoice_from_json(load_example(example)), specification_id=ids.FR_CIUS_CUSTOMIZATION)
    complete(invoice)
    return write_ubl(invoice)


# ---------------------------------------------------------------------------------------------- participants


@pytest.mark.parametrize(
    ("text", "icd", "value"),
    [
        ("iso6523-actorid-upis::0225:732829320", "0225", "732829320"),
        ("ISO6523-ACTORID-UPIS::0225:732829320_73282932000074", "0225", "732829320_73282932000074"),
        ("0225:732829320_SERVICE-COMPTA.1", "0225", "732829320_SERVICE-COMPTA.1"),
        ("0009:73282932000074", "0009", "73282932000074"),
        ("0002:732829320", "0002", "732829320"),
        ("0088:5790000435968", "0088", "5790000435968"),
        ("0208:0403019261", "0208", "0403019261"),
        ("9925:BE0403019261", "9925", "BE0403019261"),
        ("9957:FR40303265045", "9957", "FR40303265045"),
        ("9915:test", "9915", "test"),  # an ICD without value rules: syntax only
    ],
)
def test_participant_identifiers_parse(text, icd, value):
    participant = ParticipantId.parse(text)
    assert (participant.icd, participant.value) == (icd, value)
    assert participant.uri == f"iso6523-actorid-upis::{icd}:{value}"
    assert str(participant) == f"{icd}:{value}"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0002:732829321", "SIREN"),  # Luhn check digit wrong
        ("0009:73282932000075", "SIRET"),
        ("0225:732829321", "electronic address"),
        ("0225:732829320_35600000000048", "electronic address"),  # a SIRET of another SIREN (A7 G1.80)
        ("0225:732829320_bad suffix", "electronic address"),
        ("0088:5790000435967", "GLN"),
        ("9925:BE0403019262", "BE:VAT"),
        ("225:732829320", "4 digits"),
        ("busdox-docid-qns::0225:732829320", "scheme"),
        ("0225", "<ICD>:<value>"),
        ("0225:" + "x" * 131, "characters"),
    ],
)
def test_invalid_participant_identifiers_say_why(text, reason):
    with pytest.raises(IdentifierError, match=reason):
        ParticipantId.parse(text)


def test_document_type_and_process_identifiers_are_the_published_values():
    assert ids.BIS3_INVOICE.value == (
        "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice"
        "##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"
    )
    assert ids.BIS3_CREDIT_NOTE.value == (
        "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2::CreditNote"
        "##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1"
    )
    assert ids.BIS3_PROCESS == "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
    assert ids.FR_UBL_INVOICE_CIUS.value == (
        "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017#compliant#urn:peppol:france:billing:cius:1.0::2.1"
    )
    assert ids.FR_CII_EXTENDED.value == (
        "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100::CrossIndustryInvoice"
        "##urn:cen.eu:en16931:2017#conformant#urn:peppol:france:billing:extended:1.0::D22B"
    )
    assert ids.FR_PROCESS_REGULATED == "urn:peppol:france:billing:regulated"
    assert (ids.FR_UBL_INVOICE_CIUS.root_name, ids.FR_UBL_INVOICE_CIUS.version) == ("Invoice", "2.1")
    assert ids.FR_UBL_INVOICE_CIUS.uri.startswith("busdox-docid-qns::urn:oasis:")


def test_document_type_is_derived_from_the_document():
    facts = describe(french_ubl("credit-note-fr-b2b"), "ubl")
    assert facts.document_type == ids.FR_UBL_CREDIT_NOTE_CIUS
    assert (str(facts.seller), str(facts.buyer), facts.seller_country) == ("0225:732829320", "0225:356000000", "FR")
    with pytest.raises(ConnectorError, match="Factur-X PDF") as refused:
        describe(b"%PDF-1.7", "facturx")
    assert refused.value.transient is False


# ---------------------------------------------------------------------------------------------- SML hash


def test_sml_name_matches_the_live_test_network_vector():
    # REGULATION §5.3: the DNS label of 9915:test on the Peppol test SML.
    assert dns_label(ParticipantId("9915", "test")) == "eh5boavaktmbgzyh2a63dz4qov33fvp5nsdvqklucfraayoodw6a"


def test_sml_name_follows_the_spec_rule_computed_by_hand():
    participant = ParticipantId.parse("iso6523-actorid-upis::0225:732829320_SERVICE-Compta")
    expected = base64.b32encode(hashlib.sha256(b"0225:732829320_service-compta").digest()).decode().rstrip("=").lower()
    assert len(expected) == 52  # 256 bits in base32 = 52 characters once the 4 '=' are stripped
    assert dns_name(participant, "participant.sml.test.tech.peppol.org.") == f"{expected}.iso6523-actorid-upis.participant.sml.test.tech.peppol.org"
    assert dns_label(ParticipantId("0225", "732829320_service-compta")) == expected  # case-insensitive


def test_naptr_regexp_substitution():
    assert apply_naptr_regexp("!^.*$!https://smp.example.org/!", "x.iso6523-actorid-upis.zone") == "https://smp.example.org"
    assert apply_naptr_regexp("!^(.*)\\.zone$!https://\\1.smp.example!", "abc.zone") == "https://abc.smp.example"
    with pytest.raises(ConnectorError, match="URL"):
        apply_naptr_regexp("!^.*$!ftp://smp.example!", "x")


# ---------------------------------------------------------------------------------------------- SBDH


def build_sbd(instance_id: str | None = None, **changes) -> tuple[bytes, sbdh.Header]:
    facts = describe(french_ubl(), "ubl")
    arguments = {
        "sender": facts.seller,
        "receiver": facts.buyer,
        "document_type": facts.document_type,
        "process": ids.FR_PROCESS_REGULATED,
        "country_c1": "fr",
        "instance_id": instance_id,
        "created": datetime(2026, 9, 1, 10, 30, 15, 123456, tzinfo=UTC),
    } | changes
    return sbdh.build(facts.root, **arguments)


def test_sbdh_has_every_required_field_per_regulation_5_5():
    data, header = build_sbd(mls_type="ALWAYS_SEND", mls_to=ParticipantId.parse("0242:000111"))
    root = etree.fromstring(data)  # well-formed
    h = "s:StandardBusinessDocumentHeader/"
    assert root.tag == f"{{{sbdh.SBDH_NS}}}StandardBusinessDocument"
    assert root.findtext(h + "s:HeaderVersion", namespaces=SBDH_NS) == "1.0"
    for party, value in (("Sender", "0225:732829320"), ("Receiver", "0225:356000000")):
        identifier = root.find(f"{h}s:{party}/s:Identifier", SBDH_NS)
        assert (identifier.text, identifier.get("Authority")) == (value, "iso6523-actorid-upis")
    identification = {e.tag.split("}")[1]: e.text for e in root.find(h + "s:DocumentIdentification", SBDH_NS)}
    assert identification == {
        "Standard": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
        "TypeVersion": "2.1",
        "InstanceIdentifier": header.instance_id,
        "Type": "Invoice",
        "CreationDateAndTime": "2026-09-01T10:30:15Z",
    }
    scopes = [
        tuple(s.findtext(f"s:{n}", namespaces=SBDH_NS) for n in ("Type", "InstanceIdentifier", "Identifier"))
        for s in root.iterfind(h + "s:BusinessScope/s:Scope", SBDH_NS)
    ]
    assert scopes == [
        ("DOCUMENTID", ids.FR_UBL_INVOICE_CIUS.value, "busdox-docid-qns"),
        ("PROCESSID", "urn:peppol:france:billing:regulated", "cenbii-procid-ubl"),
        ("COUNTRY_C1", "FR", None),
        ("MLS_TO", "0242:000111", "iso6523-actorid-upis"),
        ("MLS_TYPE", "ALWAYS_SEND", None),
    ]
    payload = root[1]
    assert payload.tag == "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
    assert etree.tostring(payload, method="c14n") == etree.tostring(etree.fromstring(french_ubl()), method="c14n")
    read_header, read_payload = sbdh.read(data)
    assert read_header == header and read_payload.tag == payload.tag


def test_sbdh_instance_identifier_is_a_fresh_uuid_per_build_and_stable_per_delivery_key():
    built = {build_sbd()[1].instance_id for _ in range(20)}
    assert len(built) == 20
    assert sbdh.instance_id_for("tenant:delivery-1") == sbdh.instance_id_for("tenant:delivery-1")
    assert sbdh.instance_id_for("tenant:delivery-1") != sbdh.instance_id_for("tenant:delivery-2")


def test_sbdh_refuses_bad_values_and_reports_missing_fields():
    with pytest.raises(sbdh.SbdhError, match="COUNTRY_C1"):
        build_sbd(country_c1="FRA")
    with pytest.raises(sbdh.SbdhError, match="MLS_TYPE"):
        build_sbd(mls_type="SOMETIMES")
    data, _ = build_sbd()
    stripped = data.replace(b"<Standard>urn:oasis:names:specification:ubl:schema:xsd:Invoice-2</Standard>", b"")
    with pytest.raises(sbdh.SbdhError, match="standard"):
        sbdh.read(stripped)
    with pytest.raises(sbdh.SbdhError, match="DOCTYPE"):
        sbdh.read(b'<!DOCTYPE x [<!ENTITY e "x">]>' + data)


# ---------------------------------------------------------------------------------------------- MLS


def mls_response(code: str, reference: str) -> bytes:
    return f"""<ApplicationResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:peppol:edec:mls:1.0</cbc:CustomizationID><cbc:ProfileID>urn:peppol:edec:mls</cbc:ProfileID>
  <cbc:ID>mls-1</cbc:ID><cbc:IssueDate>2026-09-01</cbc:IssueDate><cbc:IssueTime>10:45:00Z</cbc:IssueTime>
  <cac:SenderParty><cbc:EndpointID schemeID="0242">000222</cbc:EndpointID></cac:SenderParty>
  <cac:ReceiverParty><cbc:EndpointID schemeID="0242">000111</cbc:EndpointID></cac:ReceiverParty>
  <cac:DocumentResponse>
    <cac:Response><cbc:ResponseCode>{code}</cbc:ResponseCode></cac:Response>
    <cac:DocumentReference><cbc:ID>{reference}</cbc:ID></cac:DocumentReference>
    <cac:LineResponse><cac:LineReference><cbc:LineID>NA</cbc:LineID></cac:LineReference>
      <cac:Response><cbc:Description>BR-FR-12 buyer SIREN unknown</cbc:Description>
        <cac:Status><cbc:StatusReasonCode>BV</cbc:StatusReasonCode></cac:Status></cac:Response>
    </cac:LineResponse>
  </cac:DocumentResponse>
</ApplicationResponse>""".encode()


def test_mls_maps_to_lifecycle_codes_keyed_by_the_sbdh_instance_identifier():
    rejected = mls.status_update(mls_response("RE", "a593a0aa-6ff7-48b0-8906-5534fa5212e0"))
    assert (rejected.remote_id, rejected.code) == ("a593a0aa-6ff7-48b0-8906-5534fa5212e0", "213")
    assert "BV: BR-FR-12 buyer SIREN unknown" in rejected.detail
    assert rejected.at == datetime(2026, 9, 1, 10, 45, tzinfo=UTC)
    assert mls.status_update(mls_response("AP", "x")).code == "202"
    wrapped, _ = sbdh.build(
        etree.fromstring(mls_response("AB", "y")),
        sender=ParticipantId.parse("0242:000222"),
        receiver=ParticipantId.parse("0242:000111"),
        document_type=ids.MLS_DOCUMENT,
        process=ids.MLS_PROCESS,
        country_c1="BE",
    )
    assert mls.status_update(wrapped).remote_id == "y"
    with pytest.raises(mls.MlsError):
        mls.status_update(french_ubl())

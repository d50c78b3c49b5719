"""CDAR messages: built for every status, valid for the CDAR XSD and the DGFiP CDAR schematron, parsed back into the same event."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from lxml import etree

from gateway.errors import UnsafeDocument
from gateway.lifecycle import codes
from gateway.lifecycle.cdar import (
    NS,
    PPF_RECIPIENT,
    PROFILE_BETWEEN_PLATFORMS,
    PROFILE_TO_PPF,
    SCHEMATRON_ARTEFACT,
    XSD_ARTEFACT,
    InvalidCdar,
    build_cdar,
    make_message,
    parse_cdar,
    read_cdar,
    validate_cdar,
    write_cdar,
)
from gateway.lifecycle.events import Amount, StatusChange
from tests.lifecycle.helpers import INVOICE, ISSUER_OF, PLATFORM, RECIPIENTS_OF, SELLER, valid_change

ISSUED = datetime(2026, 11, 23, 11, 0, 0, tzinfo=UTC)

# The acceptance cases of the issue: 200, 210 with its reason, 212 with its amounts per VAT rate, 213.
ACCEPTANCE = {
    "200": StatusChange("200", datetime(2026, 11, 20, 9, 30, 5, tzinfo=UTC), codes.PLATFORM),
    "210": StatusChange(
        "210",
        datetime(2026, 11, 21, 14, 2, 0, tzinfo=UTC),
        codes.BUYER,
        reason_code="TX_TVA_ERR",
        reason="Taux de TVA erroné",
        action_code="NIN",
        comment="Le taux réduit de 5,5 % ne s'applique pas à la ligne 2.",
    ),
    "212": valid_change("212", datetime(2026, 11, 22, 16, 45, 30, tzinfo=UTC)),
    "213": StatusChange(
        "213", datetime(2026, 11, 20, 9, 30, 6, tzinfo=UTC), codes.PLATFORM, reason_code="DOUBLON", comment="Facture déjà reçue le 2026-11-19."
    ),
}


def _fatal(tree) -> list:
    return [f for f in validate_cdar(tree) if f.severity == "fatal"]


def _message(change: StatusChange, recipients=None):
    return make_message(
        change, INVOICE, issuer=ISSUER_OF[change.role], sender=PLATFORM, recipients=recipients or RECIPIENTS_OF[change.role], issued_at=ISSUED
    )


@pytest.mark.parametrize("code", ACCEPTANCE)
def test_acceptance_messages_are_valid_and_read_back_as_the_same_event(code):
    change = ACCEPTANCE[code]
    data = build_cdar(change, INVOICE, issuer=ISSUER_OF[change.role], sender=PLATFORM, recipients=RECIPIENTS_OF[change.role], issued_at=ISSUED)
    tree, message = read_cdar(data)
    assert _fatal(tree) == []
    assert message.change == change
    assert message == _message(change)
    assert message.profile == PROFILE_BETWEEN_PLATFORMS and message.business_process == "REGULATED"


def test_the_212_message_carries_the_amounts_per_vat_rate():
    tree = etree.fromstring(build_cdar(ACCEPTANCE["212"], INVOICE, issuer=SELLER, sender=PLATFORM, recipients=[PPF_RECIPIENT]))
    men = tree.xpath("//ram:SpecifiedDocumentCharacteristic[ram:TypeCode = 'MEN']", namespaces=NS)
    assert [(m.findtext("ram:ValueAmount", namespaces=NS), m.findtext("ram:ValuePercent", namespaces=NS)) for m in men] == [
        ("1000.00", "20.00"),
        ("50.00", "5.50"),
    ]
    assert men[0].find("ram:ValueAmount", NS).get("currencyID") == "EUR"


@pytest.mark.parametrize("code", sorted(codes.MANDATORY))
def test_messages_to_the_ppf_alone_use_its_profile(code):
    message = _message(ACCEPTANCE[code], [PPF_RECIPIENT])
    assert message.profile == PROFILE_TO_PPF and message.business_process is None
    tree = etree.fromstring(write_cdar(message))
    assert _fatal(tree) == []
    assert parse_cdar(tree) == message


@pytest.mark.parametrize("code", sorted(codes.STATUSES))
def test_every_status_has_a_valid_message(code):
    change = replace(valid_change(code, datetime(2026, 11, 23, 8, 15, 0, tzinfo=UTC)), reason="motif", action_code="PIN")
    if code == "211":
        change = replace(change, amounts=(Amount(codes.PAID, Decimal("1105.50"), "EUR", value_date=date(2026, 11, 22)),))
    message = _message(change)
    tree = etree.fromstring(write_cdar(message))
    assert _fatal(tree) == [], code
    assert parse_cdar(tree) == message
    expected_phase = codes.TRANSMISSION if codes.status(code).phase == codes.TRANSMISSION else codes.PROCESSING
    assert tree.findtext("rsm:AcknowledgementDocument/ram:TypeCode", namespaces=NS) == expected_phase
    assert tree.findtext(".//ram:ReferenceReferencedDocument/ram:StatusCode", namespaces=NS) == codes.status(code).untdid_1373


def test_dates_use_formats_204_and_102_in_utc():
    paris = datetime(2026, 11, 21, 15, 2, 0, tzinfo=datetime.fromisoformat("2026-11-21T15:02:00+01:00").tzinfo)
    tree = etree.fromstring(build_cdar(replace(ACCEPTANCE["210"], at=paris), INVOICE, issuer=ISSUER_OF["BY"], sender=PLATFORM, recipients=[SELLER]))
    status_time = tree.find("rsm:AcknowledgementDocument/ram:IssueDateTime/udt:DateTimeString", NS)
    assert (status_time.get("format"), status_time.text) == ("204", "20261121140200")
    invoice_date = tree.find(".//ram:FormattedIssueDateTime/qdt:DateTimeString", NS)
    assert (invoice_date.get("format"), invoice_date.text) == ("102", "20261120")
    schemes = {e.get("schemeID") for e in tree.iter() if e.get("schemeID")}
    assert schemes == {"0002", "0225", "0238"}


def test_messages_are_built_only_for_a_coherent_issuer():
    with pytest.raises(ValueError, match="role"):
        make_message(ACCEPTANCE["210"], INVOICE, issuer=SELLER, sender=PLATFORM, recipients=[PPF_RECIPIENT])
    with pytest.raises(ValueError, match="SIREN"):
        make_message(ACCEPTANCE["210"], INVOICE, issuer=replace(ISSUER_OF["BY"], siren=None), sender=PLATFORM, recipients=[SELLER])
    with pytest.raises(ValueError, match="recipient"):
        make_message(ACCEPTANCE["200"], INVOICE, issuer=ISSUER_OF["WK"], sender=PLATFORM, recipients=[])


# Each official artefact, a mutation of a valid message, and the rule that must then fire (DESIGN pitfall 1).
BROKEN = {
    XSD_ARTEFACT: (b"<ram:TypeCode>23</ram:TypeCode>", b"<ram:TypeCode>23</ram:TypeCode><ram:Bogus>1</ram:Bogus>", "XSD"),
    SCHEMATRON_ARTEFACT: (b"<ram:ReasonCode>TX_TVA_ERR</ram:ReasonCode>", b"", "BR-FR-CDV-15"),
}


@pytest.mark.parametrize("artefact", BROKEN)
def test_each_artefact_rejects_a_broken_message(artefact):
    good, bad, rule = BROKEN[artefact]
    data = build_cdar(ACCEPTANCE["210"], INVOICE, issuer=ISSUER_OF["BY"], sender=PLATFORM, recipients=[SELLER])
    assert data.count(good) == 1
    findings = validate_cdar(etree.fromstring(data.replace(good, bad)))
    assert any(f.artefact == artefact and f.rule_id.startswith(rule) and f.severity == "fatal" for f in findings), findings


def test_untrusted_messages_go_through_the_hardened_parser():
    with pytest.raises(UnsafeDocument):
        read_cdar(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>')
    with pytest.raises(InvalidCdar, match="root element is Invoice"):
        read_cdar(b"<Invoice/>")
    data = build_cdar(ACCEPTANCE["200"], INVOICE, issuer=ISSUER_OF["WK"], sender=PLATFORM, recipients=[SELLER])
    with pytest.raises(InvalidCdar, match="not 204 or 102"):
        read_cdar(data.replace(b'format="204"', b'format="203"', 1))
    with pytest.raises(InvalidCdar, match="MDT-105"):
        read_cdar(data.replace(b"<ram:ProcessConditionCode>200</ram:ProcessConditionCode>", b""))


@pytest.mark.corpus
def test_corpus_messages_pass_the_artefacts_and_read_back(corpus):
    files = sorted((corpus / "fr-cdar-lifecycle").glob("*.xml"))
    assert len(files) == 11
    for path in files:
        tree, message = read_cdar(path.read_bytes())
        assert _fatal(tree) == [], path.name
        assert message.change.code == path.name.split("-CDV-")[1][:3], path.name
        assert message.invoice.number == path.name.split("_")[1]
        again = etree.fromstring(write_cdar(message))  # what the gateway writes of it is valid and says the same
        assert _fatal(again) == [], path.name
        assert parse_cdar(again) == message, path.name


@pytest.mark.corpus
def test_corpus_messages_carry_what_they_say(corpus):
    folder = corpus / "fr-cdar-lifecycle"
    _, collected = read_cdar((folder / "UC1_F202500003_07-CDV-212_Encaissee_POUR_PPF.xml").read_bytes())
    assert collected.profile == PROFILE_TO_PPF and collected.recipients[0].platform_id == "0000"
    assert collected.change.amounts == (Amount("MEN", Decimal("12000"), "EUR", Decimal("20.00"), changed=False),)
    assert collected.change.at == datetime(2025, 8, 2, 10, 0, tzinfo=UTC) and collected.change.role == codes.SELLER
    _, disputed = read_cdar((folder / "UC4_F202500006_04-CDV-207_En_litige.xml").read_bytes())
    assert (disputed.change.reason_code, disputed.change.action_code, disputed.change.role) == ("TX_TVA_ERR", "NIN", codes.BUYER)
    assert [(a.type_code, a.term, a.vat_rate) for a in disputed.change.amounts] == [
        ("DIV", "BT-152", Decimal("10.00")),
        ("DVA", "BT-152", Decimal("20.00")),
    ]
    _, paid = read_cdar((folder / "UC1_F202500003_06-CDV-211_Paiement_transmis.xml").read_bytes())
    assert paid.change.amounts[0].value_date == date(2025, 7, 30) and paid.change.amounts[0].type_code == "MPA"
    _, deposited = read_cdar((folder / "UC1_F202500003_01-CDV-200_Deposee.xml").read_bytes())
    assert deposited.invoice.seller_siren == "100000009" and deposited.issuer.role == codes.PLATFORM

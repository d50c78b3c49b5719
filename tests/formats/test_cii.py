"""CII D22B writer and reader: official XSDs and stylesheets, every Factur-X profile, round trips, the public corpus."""

from __future__ import annotations

import copy
import json
import os
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from gateway.errors import InputError
from gateway.formats.cii import NS, read_cii, write_cii
from gateway.formats.profiles import PROFILES, get_profile
from gateway.formats.xmlparse import parse_untrusted
from gateway.model.invoice import Invoice
from gateway.model.serialize import invoice_from_json, to_dict
from gateway.model.totals import complete
from gateway.validation import schematron
from gateway.validation.artefacts import XSD
from tests.conftest import load_example
from tests.formats.test_conformance import source_tree

FRENCH_EXAMPLES = ["invoice-fr-b2b", "credit-note-fr-b2b", "invoice-fr-reverse-charge", "invoice-fr-intra-eu", "invoice-fr-usd"]
GOLDEN = Path(__file__).parent / "golden"
EN16931 = ("FACTURX-en16931", "BR-FR-CII")


@cache
def xml_schema(profile: str) -> etree.XMLSchema:
    """Each profile XSD compiled once per test session."""
    return etree.XMLSchema(etree.parse(str(XSD[f"cii-{profile}"])))


def completed(data: dict) -> Invoice:
    invoice = invoice_from_json(copy.deepcopy(data))
    fatal = [f for f in complete(invoice) if f.severity == "fatal"]
    assert not fatal, fatal
    return invoice


def emit(invoice: Invoice, profile: str = "en16931") -> etree._ElementTree:
    return parse_untrusted(write_cii(invoice, profile))


def problems(tree: etree._ElementTree, profile: str, *artefacts: str) -> list[str]:
    """XSD errors and fatal findings of the given official stylesheets (empty = valid)."""
    schema = xml_schema(profile)
    found = [] if schema.validate(tree) else [f"XSD line {e.line}: {e.message}" for e in schema.error_log]
    for artefact in artefacts:
        found += [f"{f.rule_id or '-'}: {f.message[:200]} @ {f.location}" for f in schematron.run(artefact, tree) if f.severity == "fatal"]
    return found


def texts(tree: etree._ElementTree, path: str) -> list[str]:
    return [e if isinstance(e, str) else e.text for e in tree.xpath(path, namespaces=NS)]


def assert_round_trip(invoice: Invoice, profile: str = "en16931") -> None:
    expected = to_dict(invoice)
    expected["specification_id"] = get_profile(profile).guideline_id
    assert to_dict(read_cii(emit(invoice, profile))) == expected


SETTLEMENT = "//ram:ApplicableHeaderTradeSettlement"
AGREEMENT = "//ram:ApplicableHeaderTradeAgreement"


# ---------------------------------------------------------------------------- invoices built for the tests


def full_coverage() -> dict:
    """The French invoice with every optional group the mapping carries."""
    data = load_example("invoice-fr-b2b")
    del data["vat_due_date_code"]  # BT-7 and BT-8 exclude each other (BR-CO-03)
    data |= {
        "tax_point_date": "2026-11-18",
        "sales_order_reference": "CMD-2026-0815",
        "receiving_advice_reference": "REC-5521",
        "despatch_advice_reference": "BL-2026-3310",
        "tender_reference": "LOT-2",
        "invoiced_object_identifier": {"value": "FOUR-SN-40017", "scheme": "AWN"},
        "project_reference": "BOULANGERIE-2026",
        "buyer_accounting_reference": "6063-EQUIP",
        "tax_representative": {
            "name": "Représentation Fiscale Rhône SARL",
            "vat_id": "FR75512345679",
            "address": {"line1": "4 quai Perrache", "city": "Lyon", "postal_code": "69002", "country_code": "FR"},
        },
        "payee": {
            "name": "Factor Lyonnais SA",
            "identifier": {"value": "44306184100013", "scheme": "0009"},
            "legal_registration_id": {"value": "443061841", "scheme": "0002"},
        },
        "attachments": [
            {
                "id": "BL-2026-3310",
                "description": "BON_LIVRAISON",
                "content_base64": "UmVmO1F0ZQpGUy00MDA7MQo=",
                "mime_code": "text/csv",
                "filename": "bon-livraison.csv",
                "type_code": "916",
            },
            {"id": "RIB-DUPONT", "description": "RIB", "external_uri": "https://atelier-dupont.example/rib.pdf", "type_code": "916"},
        ],
    }
    data["seller"]["tax_registration_id"] = "3282932000"
    data["delivery"]["location_id"] = {"value": "3012345000010", "scheme": "0088"}
    line = data["lines"][0]
    line |= {
        "note": "Numéro de série 40017.",
        "object_identifier": {"value": "40017", "scheme": "AWN"},
        "order_line_reference": "10",
        "accounting_reference": "2154-FOURS",
        "buyer_item_id": "EQ-FOUR-01",
        "classifications": [{"value": "84178000", "scheme": "HS", "version": "2022"}],
        "attributes": [{"name": "Puissance", "value": "24 kW"}, {"name": "Tension", "value": "400 V"}],
        "origin_country": "FR",
    }
    data["lines"][1]["charges"] = [{"amount": "45.00", "reason": "Frais de déplacement", "reason_code": "ABK"}]
    data["lines"].append(
        {
            "id": "4", "item_name": "Farine de seigle T170", "quantity": "250", "unit_code": "KGM", "net_price": "12.50",
            "base_quantity": "100", "base_quantity_unit_code": "KGM", "vat_category": "S", "vat_rate": "5.5",
        }
    )  # fmt: skip
    return data


def with_payment(payment: dict) -> dict:
    data = load_example("invoice-fr-b2b")
    data["payment"] = payment
    return data


def with_category(category: str, rate: str | None, reason: str | None, code: str | None, **changes: object) -> dict:
    """The French invoice with every line, allowance and charge in one VAT category."""
    data = load_example("invoice-fr-b2b") | changes
    for item in [*data["lines"], *data["allowances"], *data["charges"]]:
        item["vat_category"] = category
        item.pop("vat_rate")
        if rate is not None:
            item["vat_rate"] = rate
    entry = {"category": category, "exemption_reason": reason, "exemption_reason_code": code}
    if rate is not None:
        entry["rate"] = rate
    data["vat_breakdown"] = [{k: v for k, v in entry.items() if v is not None}]
    return data


def not_subject_to_vat() -> dict:
    """Category O: no VAT identifiers at all (BR-O-02 … BR-O-04)."""
    data = with_category("O", None, "Opération hors du champ d'application de la TVA", "VATEX-EU-O")
    del data["seller"]["vat_id"], data["buyer"]["vat_id"]
    return data


def exported() -> dict:
    """Category G: goods delivered outside the EU."""
    data = with_category("G", "0", "Exonération de TVA, article 262 I du CGI (exportation)", "VATEX-EU-G")
    data["delivery"]["address"] = {"line1": "Rue du Rhône 42", "city": "Genève", "postal_code": "1204", "country_code": "CH"}
    return data


VARIANTS = {
    "full-coverage": full_coverage,
    "direct-debit": lambda: with_payment(
        {
            "means_code": "59",
            "remittance_information": "F2026-000142",
            "direct_debit": {"mandate_id": "MANDAT-2026-0042", "creditor_id": "FR12ZZZ123456", "debited_account_id": "FR7630004000031234567890143"},
        }
    ),
    "card": lambda: with_payment(
        {"means_code": "48", "means_text": "Carte bancaire", "card": {"primary_account_number": "4821", "holder_name": "Claire Martin"}}
    ),
    "two-accounts": lambda: with_payment(
        {
            "means_code": "58",
            "credit_transfers": [
                {"account_id": "FR7630006000011234567890189", "account_name": "Atelier Dupont & Fils", "bank_id": "AGRIFRPP"},
                {"account_id": "FR7610096000507654321098765", "bank_id": "CMCIFRPP"},
            ],
        }
    ),
    "vat-Z": lambda: with_category("Z", "0", None, None),
    "vat-E": lambda: with_category("E", "0", "Exonération de TVA, article 261-4-4° du CGI (enseignement)", "VATEX-EU-132-1I"),
    "vat-G": exported,
    "vat-O": not_subject_to_vat,
}


# ---------------------------------------------------------------------------- the French examples, EN 16931 profile


@pytest.mark.parametrize("name", FRENCH_EXAMPLES)
def test_french_example_passes_xsd_facturx_and_french_rules(name: str) -> None:
    tree = emit(completed(load_example(name)))
    assert problems(tree, "en16931", *EN16931) == []


@pytest.mark.parametrize("name", FRENCH_EXAMPLES)
def test_french_example_round_trips(name: str) -> None:
    assert_round_trip(completed(load_example(name)))


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_passes_xsd_facturx_and_french_rules_and_round_trips(variant: str) -> None:
    invoice = completed(VARIANTS[variant]())
    assert problems(emit(invoice), "en16931", *EN16931) == []
    assert_round_trip(invoice)


def test_the_artefacts_do_reject_a_broken_invoice() -> None:
    """A negative control: the zero-finding assertions above are meaningful."""
    data = load_example("invoice-fr-b2b")
    data["notes"] = [n for n in data["notes"] if n.get("subject_code") != "PMT"]
    invoice = completed(data)
    invoice.totals.amount_due += 1
    found = problems(emit(invoice), "en16931", *EN16931)
    assert [p.split(":")[0] for p in found] == ["BR-CO-16", "BR-FR-05_BT-22_PMT"]


def test_golden_file_of_the_french_invoice() -> None:
    """The generated XML is reviewed when it changes: GATEWAY_UPDATE_GOLDEN=1 rewrites the golden file."""
    data = write_cii(completed(load_example("invoice-fr-b2b")))
    golden = GOLDEN / "invoice-fr-b2b-cii.xml"
    if os.environ.get("GATEWAY_UPDATE_GOLDEN"):
        golden.write_bytes(data)
    assert data.decode() == golden.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------- profiles


@pytest.mark.parametrize("profile", list(PROFILES))
def test_each_profile_of_the_french_invoice_passes_its_xsd_and_stylesheet(profile: str) -> None:
    invoice = completed(load_example("invoice-fr-b2b"))
    invoice.specification_id = "urn:some:other:cius"  # ignored: the profile decides BT-24
    tree = emit(invoice, profile)
    assert problems(tree, profile, f"FACTURX-{profile}") == []
    assert texts(tree, "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == [PROFILES[profile].guideline_id]
    lines = tree.xpath("//ram:IncludedSupplyChainTradeLineItem", namespaces=NS)
    assert len(lines) == (0 if profile in ("minimum", "basicwl") else 3)


@pytest.mark.parametrize("variant", ["full-coverage", "direct-debit", "card"])
@pytest.mark.parametrize("profile", ["minimum", "basicwl", "basic", "extended"])
def test_other_profiles_drop_what_they_do_not_allow(variant: str, profile: str) -> None:
    tree = emit(completed(VARIANTS[variant]()), profile)
    assert problems(tree, profile, f"FACTURX-{profile}") == []


def test_minimum_keeps_the_totals_and_reads_back_without_lines() -> None:
    invoice = completed(load_example("invoice-fr-b2b"))
    back = read_cii(emit(invoice, "minimum"))
    assert back.lines == [] and back.notes == [] and back.vat_breakdown == []
    assert back.totals is not None and back.totals.amount_due == invoice.totals.amount_due
    assert back.seller.legal_registration_id == invoice.seller.legal_registration_id
    assert back.purchase_order_reference == "PO-77813"
    assert back.specification_id == "urn:factur-x.eu:1p0:minimum"


# ---------------------------------------------------------------------------- what lands where


def test_invoice_header_notes_and_french_identifiers() -> None:
    tree = emit(completed(load_example("invoice-fr-b2b")))
    assert texts(tree, "//rsm:ExchangedDocumentContext/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID") == ["M1"]
    assert texts(tree, "//rsm:ExchangedDocument/ram:TypeCode") == ["380"]
    assert texts(tree, "//ram:IssueDateTime/udt:DateTimeString[@format='102']") == ["20261120"]
    assert texts(tree, "//ram:IncludedNote/ram:SubjectCode") == ["BAR", "PMT", "PMD", "AAB"]
    seller = f"{AGREEMENT}/ram:SellerTradeParty"
    assert texts(tree, f"{seller}/ram:GlobalID[@schemeID='0009']") == ["73282932000074"]
    assert texts(tree, f"{seller}/ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']") == ["732829320"]
    assert texts(tree, f"{seller}/ram:SpecifiedLegalOrganization/ram:TradingBusinessName") == ["Atelier Dupont"]
    assert texts(tree, f"{seller}/ram:URIUniversalCommunication/ram:URIID[@schemeID='0225']") == ["732829320"]
    assert texts(tree, f"{seller}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") == ["FR44732829320"]
    assert texts(tree, f"{AGREEMENT}/ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID/@schemeID") == ["0225"]
    assert texts(tree, f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString") == ["20261220"]
    assert texts(tree, f"{SETTLEMENT}/ram:BillingSpecifiedPeriod/ram:StartDateTime/udt:DateTimeString") == ["20261101"]
    assert texts(tree, "//ram:ShipToTradeParty/ram:PostalTradeAddress/ram:LineOne") == ["45 avenue Roger Salengro"]
    assert texts(tree, "//ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime/udt:DateTimeString") == ["20261118"]


def test_amounts_are_written_exactly_as_held() -> None:
    tree = emit(completed(load_example("invoice-fr-b2b")))
    assert texts(tree, "//ram:SpecifiedLineTradeDelivery/ram:BilledQuantity") == ["1", "6.5", "2"]
    assert texts(tree, "//ram:NetPriceProductTradePrice/ram:ChargeAmount") == ["12000.00", "85.00", "24.90"]
    assert texts(tree, "//ram:GrossPriceProductTradePrice/ram:ChargeAmount") == ["12500.00"]
    assert texts(tree, "//ram:GrossPriceProductTradePrice/ram:AppliedTradeAllowanceCharge/ram:ActualAmount") == ["500.00"]
    assert texts(tree, f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:RateApplicablePercent") == ["20", "5.5"]
    line_allowance = "//ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeAllowanceCharge"
    assert texts(tree, f"{line_allowance}/ram:CalculationPercent") == ["2"]
    assert texts(tree, f"{line_allowance}/ram:BasisAmount") == ["12000.00"]
    assert texts(tree, f"{line_allowance}/ram:ReasonCode") == ["95"]
    doc_charge = f"{SETTLEMENT}/ram:SpecifiedTradeAllowanceCharge[ram:ChargeIndicator/udt:Indicator='true']"
    assert texts(tree, f"{doc_charge}/ram:ReasonCode") == ["FC"]
    assert texts(tree, f"{doc_charge}/ram:CategoryTradeTax/ram:RateApplicablePercent") == ["20"]


def test_credit_note_references_the_preceding_invoice() -> None:
    tree = emit(completed(load_example("credit-note-fr-b2b")))
    assert texts(tree, "//rsm:ExchangedDocument/ram:TypeCode") == ["381"]
    ref = f"{SETTLEMENT}/ram:InvoiceReferencedDocument"
    assert texts(tree, f"{ref}/ram:IssuerAssignedID") == ["F2026-000142"]
    assert texts(tree, f"{ref}/ram:FormattedIssueDateTime/qdt:DateTimeString[@format='102']") == ["20261120"]


@pytest.mark.parametrize(("canonical", "cii"), [("3", "5"), ("35", "29"), ("432", "72")])
def test_vat_point_date_code_is_mapped_to_cii_and_back(canonical: str, cii: str) -> None:
    invoice = completed(load_example("invoice-fr-b2b"))
    invoice.vat_due_date_code = canonical
    tree = emit(invoice)
    assert set(texts(tree, f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:DueDateTypeCode")) == {cii}
    assert read_cii(tree).vat_due_date_code == canonical


def test_foreign_currency_carries_the_vat_total_in_euros() -> None:
    tree = emit(completed(load_example("invoice-fr-usd")))
    assert texts(tree, f"{SETTLEMENT}/ram:TaxCurrencyCode") == ["EUR"]
    assert texts(tree, f"{SETTLEMENT}/ram:InvoiceCurrencyCode") == ["USD"]
    totals = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:TaxTotalAmount"
    assert [(e.get("currencyID"), e.text) for e in tree.xpath(totals, namespaces=NS)] == [("USD", "606.00"), ("EUR", "560.55")]
    back = read_cii(tree)
    assert (back.totals.tax_amount, back.totals.tax_amount_accounting) == (Decimal("606.00"), Decimal("560.55"))


@pytest.mark.parametrize(
    ("name", "category", "code"), [("invoice-fr-reverse-charge", "AE", "VATEX-EU-AE"), ("invoice-fr-intra-eu", "K", "VATEX-EU-IC")]
)
def test_exempt_categories_carry_their_exemption_reason(name: str, category: str, code: str) -> None:
    tree = emit(completed(load_example(name)))
    tax = f"{SETTLEMENT}/ram:ApplicableTradeTax"
    assert texts(tree, f"{tax}/ram:CategoryCode") == [category]
    assert texts(tree, f"{tax}/ram:ExemptionReasonCode") == [code]
    assert texts(tree, f"{tax}/ram:ExemptionReason") != []


def test_intra_eu_buyer_has_a_german_vat_identifier() -> None:
    tree = emit(completed(load_example("invoice-fr-intra-eu")))
    buyer = f"{AGREEMENT}/ram:BuyerTradeParty"
    assert texts(tree, f"{buyer}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") == ["DE136695976"]
    assert texts(tree, f"{buyer}/ram:PostalTradeAddress/ram:CountryID") == ["DE"]


def test_full_coverage_groups_land_in_their_elements() -> None:
    tree = emit(completed(full_coverage()))
    assert texts(tree, f"{SETTLEMENT}/ram:ApplicableTradeTax/ram:TaxPointDate/udt:DateString[@format='102']") == ["20261118"] * 2
    assert texts(tree, f"{AGREEMENT}/ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='FC']") == ["3282932000"]
    assert texts(tree, f"{AGREEMENT}/ram:SellerTaxRepresentativeTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == ["FR75512345679"]
    assert texts(tree, f"{SETTLEMENT}/ram:PayeeTradeParty/ram:GlobalID[@schemeID='0009']") == ["44306184100013"]
    assert texts(tree, f"{AGREEMENT}/ram:SellerOrderReferencedDocument/ram:IssuerAssignedID") == ["CMD-2026-0815"]
    assert texts(tree, f"{AGREEMENT}/ram:SpecifiedProcuringProject/ram:ID") == ["BOULANGERIE-2026"]
    assert texts(tree, "//ram:DespatchAdviceReferencedDocument/ram:IssuerAssignedID") == ["BL-2026-3310"]
    assert texts(tree, "//ram:ReceivingAdviceReferencedDocument/ram:IssuerAssignedID") == ["REC-5521"]
    assert texts(tree, "//ram:ShipToTradeParty/ram:GlobalID[@schemeID='0088']") == ["3012345000010"]
    docs = f"{AGREEMENT}/ram:AdditionalReferencedDocument"
    assert texts(tree, f"{docs}/ram:TypeCode") == ["50", "130", "916", "916"]
    assert texts(tree, f"{docs}[ram:TypeCode='130']/ram:ReferenceTypeCode") == ["AWN"]
    binary = tree.xpath(f"{docs}/ram:AttachmentBinaryObject", namespaces=NS)
    assert [(b.get("mimeCode"), b.get("filename")) for b in binary] == [("text/csv", "bon-livraison.csv")]
    assert texts(tree, f"{docs}/ram:URIID") == ["https://atelier-dupont.example/rib.pdf"]
    assert texts(tree, f"{SETTLEMENT}/ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID") == ["6063-EQUIP"]
    product = "//ram:IncludedSupplyChainTradeLineItem[1]/ram:SpecifiedTradeProduct"
    assert texts(tree, f"{product}/ram:ApplicableProductCharacteristic/ram:Value") == ["24 kW", "400 V"]
    assert texts(tree, f"{product}/ram:DesignatedProductClassification/ram:ClassCode[@listID='HS'][@listVersionID='2022']") == ["84178000"]
    assert texts(tree, f"{product}/ram:OriginTradeCountry/ram:ID") == ["FR"]
    line = "//ram:IncludedSupplyChainTradeLineItem[1]/ram:SpecifiedLineTradeSettlement"
    assert texts(tree, f"{line}/ram:AdditionalReferencedDocument[ram:TypeCode='130']/ram:IssuerAssignedID") == ["40017"]
    basis = "//ram:IncludedSupplyChainTradeLineItem[4]/ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/ram:BasisQuantity"
    assert [(e.get("unitCode"), e.text) for e in tree.xpath(basis, namespaces=NS)] == [("KGM", "100")]


def test_direct_debit_shares_the_payment_terms() -> None:
    tree = emit(completed(VARIANTS["direct-debit"]()))
    assert texts(tree, f"{SETTLEMENT}/ram:CreditorReferenceID") == ["FR12ZZZ123456"]
    terms = f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms"
    assert len(tree.xpath(terms, namespaces=NS)) == 1
    assert texts(tree, f"{terms}/ram:DirectDebitMandateID") == ["MANDAT-2026-0042"]
    assert texts(tree, f"{terms}/ram:Description") == ["Paiement à 30 jours date de facture, par virement."]
    assert texts(tree, "//ram:PayerPartyDebtorFinancialAccount/ram:IBANID") == ["FR7630004000031234567890143"]


def test_card_and_credit_transfers() -> None:
    card = emit(completed(VARIANTS["card"]()))
    assert texts(card, "//ram:ApplicableTradeSettlementFinancialCard/ram:ID") == ["4821"]
    transfers = emit(completed(VARIANTS["two-accounts"]()))
    means = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans"
    assert texts(transfers, f"{means}/ram:TypeCode") == ["58", "58"]
    assert texts(transfers, f"{means}/ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == [
        "FR7630006000011234567890189",
        "FR7610096000507654321098765",
    ]
    assert texts(transfers, f"{means}/ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID") == ["AGRIFRPP", "CMCIFRPP"]


def test_what_only_ubl_leaves_out_is_completed_or_left_out_for_cii() -> None:
    """UBL documents may carry BT-147 without BT-148, an attachment without content, BT-6 equal to BT-5, BT-83 without payment means."""
    data = load_example("invoice-fr-b2b")
    del data["lines"][0]["gross_price"]
    data["tax_currency"] = "EUR"
    data["payment"] = {"means_code": "", "remittance_information": "F2026-000142"}
    data["attachments"] = [{"id": "ANNEXE-1", "mime_code": "application/pdf", "filename": "annexe.pdf"}]
    tree = emit(completed(data))
    assert problems(tree, "en16931", "FACTURX-en16931") == []
    gross = "//ram:IncludedSupplyChainTradeLineItem[1]//ram:GrossPriceProductTradePrice"
    assert texts(tree, f"{gross}/ram:ChargeAmount") == ["12500.00"]  # BT-146 + BT-147
    assert texts(tree, f"{gross}/ram:AppliedTradeAllowanceCharge/ram:ActualAmount") == ["500.00"]
    assert texts(tree, f"{SETTLEMENT}/ram:TaxCurrencyCode") == []
    assert texts(tree, f"{SETTLEMENT}/ram:PaymentReference") == ["F2026-000142"]
    assert texts(tree, f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans") == []
    binary = tree.xpath(f"{AGREEMENT}/ram:AdditionalReferencedDocument/ram:AttachmentBinaryObject", namespaces=NS)
    assert [(b.text, b.get("mimeCode"), b.get("filename")) for b in binary] == [(None, "application/pdf", "annexe.pdf")]


# ---------------------------------------------------------------------------- reader


def test_reader_keeps_values_as_written_and_ignores_unknown_elements() -> None:
    tree = emit(completed(load_example("invoice-fr-b2b")))
    price = tree.xpath("//ram:NetPriceProductTradePrice/ram:ChargeAmount", namespaces=NS)[0]
    price.text = "12000.000000"
    seller = tree.xpath(f"{AGREEMENT}/ram:SellerTradeParty", namespaces=NS)[0]
    etree.SubElement(seller, f"{{{NS['ram']}}}RoleCode").text = "SE"
    etree.SubElement(seller, "{urn:example:extension}Anything").text = "ignored"
    seller.insert(0, etree.Comment("a comment is not content"))
    tree.xpath("//ram:BilledQuantity", namespaces=NS)[2].text = "0.000"
    invoice = read_cii(tree)
    assert to_dict(invoice)["lines"][0]["net_price"] == "12000.000000"
    assert to_dict(invoice)["lines"][2]["quantity"] == "0.000"  # a zero keeps its digits
    assert invoice.seller.name == "Atelier Dupont & Fils SAS"
    assert invoice.lines[1].quantity == Decimal("6.5") and str(invoice.lines[1].quantity) == "6.5"


@pytest.mark.parametrize(
    ("xpath", "value", "message"),
    [
        ("//ram:DuePayableAmount", "12,50", "not a decimal"),
        ("//ram:IssueDateTime/udt:DateTimeString", "2026-11-20", "unsupported date"),
    ],
)
def test_reader_rejects_unreadable_values(xpath: str, value: str, message: str) -> None:
    tree = emit(completed(load_example("invoice-fr-b2b")))
    tree.xpath(xpath, namespaces=NS)[0].text = value
    with pytest.raises(InputError, match=message):
        read_cii(tree)


def test_reader_refuses_another_root() -> None:
    with pytest.raises(InputError, match="Not a CII"):
        read_cii(parse_untrusted(b"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>"))


# ---------------------------------------------------------------------------- corpus (EN 16931 conformance: tests/formats/test_conformance.py)


def normalised(invoice: Invoice) -> dict:
    """The invoice as a dict, with what writing changes on purpose: BT-24, BG-24 TypeCode 916, upper-case VATEX codes."""
    data = to_dict(invoice)
    data.pop("specification_id", None)
    for doc in data.get("attachments", []):
        doc.setdefault("type_code", "916")
    for entry in data.get("vat_breakdown", []):
        if "exemption_reason_code" in entry:
            entry["exemption_reason_code"] = entry["exemption_reason_code"].upper()
    return data


@pytest.mark.corpus
def test_corpus_cii_documents_of_every_profile_read_and_survive_a_round_trip(corpus: Path) -> None:
    """Every CII document (MINIMUM … EXTENDED, XRechnung, D16B) reads; writing it as EXTENDED and reading it back changes nothing."""
    records = json.loads((corpus / "expected.json").read_text())["records"]
    selected = [r for r in records if r.get("syntax") == "cii" and r.get("test") is None and not r.get("error")]
    assert len(selected) > 200
    changed = []
    for record in selected:
        invoice = read_cii(source_tree(corpus, record))
        if record["profile"] in ("minimum", "basicwl"):
            assert invoice.lines == [] and invoice.totals is not None, record["path"]
        if normalised(read_cii(emit(invoice, "extended"))) != normalised(invoice):
            changed.append(record["path"])
    assert changed == []

"""UBL 2.1 writer and reader: XSD-valid, no fatal EN 16931 / BR-FR finding, lossless round trip (corpus conformance: test_conformance.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal

import pytest
from lxml import etree

from gateway.errors import InputError, UnsupportedDocument
from gateway.formats.ubl import CAC, CBC, DEFAULT_CUSTOMIZATION_ID, INVOICE_NS, customization_id, read_ubl, write_ubl
from gateway.formats.xmlparse import parse_untrusted
from gateway.model.invoice import Identifier, Invoice, PaymentInstructions
from gateway.model.serialize import invoice_from_json, to_dict
from gateway.model.totals import complete
from gateway.validation import schematron
from gateway.validation.artefacts import XSD
from tests.conftest import EXAMPLES, load_example

NS = {"cac": CAC, "cbc": CBC}
GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
EXAMPLE_FILES = ["invoice-fr-b2b", "credit-note-fr-b2b", "invoice-fr-reverse-charge", "invoice-fr-intra-eu", "invoice-fr-usd"]


@pytest.fixture(scope="module")
def schemas() -> dict[str, etree.XMLSchema]:
    """The two UBL 2.1 schemas, compiled once for the module."""
    return {key: etree.XMLSchema(etree.parse(str(XSD[key]))) for key in ("ubl-invoice", "ubl-creditnote")}


def problems(xml: bytes, schemas: dict[str, etree.XMLSchema], artefacts: tuple[str, ...] = ("EN16931-UBL", "BR-FR-UBL")) -> list[str]:
    """XSD errors, else the fatal findings of the artefacts, as readable lines ([] means valid)."""
    tree = parse_untrusted(xml)
    schema = schemas["ubl-creditnote" if etree.QName(tree.getroot()).localname == "CreditNote" else "ubl-invoice"]
    if not schema.validate(tree):
        return [f"XSD line {e.line}: {e.message}" for e in schema.error_log]
    return [f"{f.rule_id}: {f.message[:200]}" for artefact in artefacts for f in schematron.run(artefact, tree) if f.severity == "fatal"]


# --------------------------------------------------------------------------- cases


def with_vat_category(category: str, rate: str | None, reason_code: str | None = None, reason: str | None = None) -> dict:
    """The French B2B invoice with every line, allowance and charge in one VAT category (BG-23 with its exemption reason)."""
    data = load_example("invoice-fr-b2b")
    for item in [*data["lines"], *data["allowances"], *data["charges"]]:
        item["vat_category"] = category
        item.pop("vat_rate")
        if rate is not None:
            item["vat_rate"] = rate
    entry = {"category": category, "rate": rate, "exemption_reason": reason, "exemption_reason_code": reason_code}
    data["vat_breakdown"] = [{k: v for k, v in entry.items() if v is not None}]
    return data


def not_subject_to_vat() -> dict:
    """Category O: no rate, and no VAT identifier for seller or buyer (BR-O-02…04)."""
    data = with_vat_category("O", None, "VATEX-EU-O", "Opération non soumise à la TVA")
    del data["seller"]["vat_id"], data["buyer"]["vat_id"]
    return data


def everything() -> dict:
    """The French invoice with every optional group this writer maps."""
    data = load_example("invoice-fr-b2b")
    del data["vat_due_date_code"]  # BR-CO-03: BT-7 and BT-8 are mutually exclusive
    data.update(
        tax_point_date="2026-11-18",
        buyer_accounting_reference="6063-ATELIER",
        project_reference="PRJ-FOURNIL",
        sales_order_reference="SO-2026-311",
        receiving_advice_reference="REC-5521",
        despatch_advice_reference="BL-88123",
        tender_reference="AO-2026-07 lot 2",
        invoiced_object_identifier={"value": "FOUR-0042", "scheme": "ABZ"},
        payee={"name": "Affacturage Rhône SA", "identifier": {"value": "51234567800017", "scheme": "0009"},
               "legal_registration_id": {"value": "512345678", "scheme": "0002"}},
        tax_representative={"name": "Représentation Fiscale SARL", "vat_id": "FR61400000000",
                            "address": {"line1": "1 quai Perrache", "line3": "BP 12", "city": "Lyon", "postal_code": "69002",
                                        "country_subdivision": "Rhône", "country_code": "FR"}},
        attachments=[
            {"id": "F2026-000142-PDF", "description": "LISIBLE", "content_base64": "JVBERi0xLjQK", "mime_code": "application/pdf",
             "filename": "F2026-000142.pdf"},
            {"id": "PO-77813", "description": "BON_COMMANDE", "external_uri": "https://erp.example/po/77813"},
        ],
    )  # fmt: skip
    data["seller"]["tax_registration_id"] = "FR-FC-732829320"
    data["delivery"]["location_id"] = {"value": "3012345000010", "scheme": "0088"}
    data["payment"]["means_text"] = "Virement SEPA"
    line = data["lines"][0]
    line.update(
        note="Garantie 2 ans pièces et main-d'œuvre.",
        object_identifier={"value": "SN-FS400-7781", "scheme": "ABZ"},
        order_line_reference="10",
        accounting_reference="2154-FOURS",
        buyer_item_id="MAT-FOUR-01",
        origin_country="FR",
        classifications=[{"value": "841981", "scheme": "HS", "version": "2022"}],
        attributes=[{"name": "Tension", "value": "400 V"}, {"name": "Étages", "value": "4"}],
        charges=[{"amount": "120.00", "reason": "Emballage spécial", "reason_code": "ABK"}],
    )
    data["lines"][2].update(net_price="49.80", base_quantity="2", base_quantity_unit_code="C62")
    return data


def direct_debit() -> dict:
    """SEPA direct debit: mandate (BT-89), debited account (BT-91), creditor id (BT-90) on the seller."""
    data = load_example("invoice-fr-b2b")
    data["payment"] = {
        "means_code": "59",
        "remittance_information": "F2026-000142",
        "direct_debit": {"mandate_id": "MDT-2026-0042", "creditor_id": "FR12ZZZ123456", "debited_account_id": "FR7610107001011234567890129"},
    }
    return data


def card() -> dict:
    data = load_example("invoice-fr-b2b")
    data["payment"] = {"means_code": "48", "card": {"primary_account_number": "4242", "holder_name": "Claire Martin"}}
    return data


def credit_note_with_due_date() -> dict:
    data = load_example("credit-note-fr-b2b")
    data["due_date"] = "2026-12-10"
    return data


def credit_note_without_payment_means() -> dict:
    """No cac:PaymentMeans to hold BT-9: it goes to cac:PaymentTerms/cbc:PaymentDueDate."""
    data = credit_note_with_due_date()
    del data["payment"]
    data["project_reference"] = "PRJ-FOURNIL"  # BT-11 of a CreditNote: AdditionalDocumentReference typed 50
    return data


VARIANTS: dict[str, Callable[[], dict]] = {
    "zero-rated": lambda: with_vat_category("Z", "0"),
    "exempt": lambda: with_vat_category("E", "0", "VATEX-EU-132-1I", "Exonération — enseignement (art. 261-4-4° du CGI)"),
    "export": lambda: with_vat_category("G", "0", "VATEX-EU-G", "Exportation hors UE — article 262 I du CGI"),
    "not-subject": not_subject_to_vat,
    "everything": everything,
    "direct-debit": direct_debit,
    "card": card,
    "credit-note-due-date": credit_note_with_due_date,
    "credit-note-no-payment": credit_note_without_payment_means,
}
CASES = [pytest.param(("example", name), id=name) for name in EXAMPLE_FILES] + [pytest.param(("variant", name), id=name) for name in VARIANTS]


def build(case: tuple[str, str]) -> Invoice:
    """A completed canonical invoice for a test case."""
    kind, name = case
    if kind == "example" and not (EXAMPLES / f"{name}.json").is_file():
        pytest.skip(f"docs/examples/{name}.json is not written yet")
    invoice = invoice_from_json(load_example(name) if kind == "example" else VARIANTS[name]())
    assert [f for f in complete(invoice) if f.severity == "fatal"] == []
    return invoice


def root_of(invoice: Invoice) -> etree._Element:
    return parse_untrusted(write_ubl(invoice)).getroot()


# --------------------------------------------------------------------------- writer


@pytest.mark.parametrize("case", CASES)
def test_written_document_is_xsd_valid_without_fatal_en16931_or_br_fr_finding(case, schemas):
    assert problems(write_ubl(build(case)), schemas) == []


@pytest.mark.parametrize("case", CASES)
def test_write_then_read_gives_the_same_invoice(case):
    invoice = build(case)
    expected = to_dict(invoice) | {"specification_id": customization_id(invoice)}
    assert to_dict(read_ubl(parse_untrusted(write_ubl(invoice)))) == expected


@pytest.mark.parametrize("name", ["invoice-fr-b2b", "credit-note-fr-b2b"])
def test_output_equals_the_reviewed_golden_file(name):
    """Generated XML is reviewed when it changes: GATEWAY_UPDATE_GOLDEN=1 rewrites the files."""
    xml = write_ubl(build(("example", name)))
    path = os.path.join(GOLDEN, f"{name}-ubl.xml")
    if os.environ.get("GATEWAY_UPDATE_GOLDEN"):
        with open(path, "wb") as f:
            f.write(xml)
    with open(path, "rb") as f:
        assert xml == f.read()


def test_invoice_carries_french_idioms_and_amounts_exactly_as_held():
    root = root_of(build(("example", "invoice-fr-b2b")))
    assert etree.QName(root).localname == "Invoice"
    assert root.findtext("cbc:CustomizationID", namespaces=NS) == DEFAULT_CUSTOMIZATION_ID
    assert root.findtext("cbc:ProfileID", namespaces=NS) == "M1"  # BT-23 billing frame
    assert root.findtext("cbc:DueDate", namespaces=NS) == "2026-12-20"
    assert root.findtext("cac:InvoicePeriod/cbc:DescriptionCode", namespaces=NS) == "3"  # BT-8: VAT on debits
    notes = [n.text for n in root.findall("cbc:Note", NS)]
    assert notes[:2] == ["#BAR#B2B", "#PMT#Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : 40 €."]
    seller = root.find("cac:AccountingSupplierParty/cac:Party", NS)
    assert seller.find("cbc:EndpointID", NS).attrib == {"schemeID": "0225"}
    assert seller.find("cac:PartyIdentification/cbc:ID", NS).get("schemeID") == "0009"
    assert seller.find("cac:PartyLegalEntity/cbc:CompanyID", NS).get("schemeID") == "0002"
    assert seller.xpath("cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID/text()", namespaces=NS) == ["FR44732829320"]
    first, second, _ = root.findall("cac:InvoiceLine", NS)
    assert second.findtext("cbc:InvoicedQuantity", namespaces=NS) == "6.5"
    assert first.findtext("cac:AllowanceCharge/cbc:MultiplierFactorNumeric", namespaces=NS) == "2"
    assert first.findtext("cac:AllowanceCharge/cbc:BaseAmount", namespaces=NS) == "12000.00"
    price = first.find("cac:Price", NS)
    paths = ("cbc:PriceAmount", "cac:AllowanceCharge/cbc:Amount", "cac:AllowanceCharge/cbc:BaseAmount")
    assert [price.findtext(p, namespaces=NS) for p in paths] == ["12000.00", "500.00", "12500.00"]  # BT-146, BT-147, BT-148
    charge = root.find("cac:AllowanceCharge[cbc:ChargeIndicator='true']", NS)
    assert (charge.findtext("cbc:AllowanceChargeReasonCode", namespaces=NS), charge.find("cbc:Amount", NS).attrib) == ("FC", {"currencyID": "EUR"})
    assert root.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS) == "14947.54"


def test_credit_note_root_lines_and_preceding_invoice():
    root = root_of(build(("variant", "credit-note-due-date")))
    assert etree.QName(root).localname == "CreditNote"
    assert root.findtext("cbc:CreditNoteTypeCode", namespaces=NS) == "381"
    assert root.findtext("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", namespaces=NS) == "F2026-000142"
    assert root.find("cac:CreditNoteLine/cbc:CreditedQuantity", NS).get("unitCode") == "C62"
    assert root.find("cbc:DueDate", NS) is None  # no such element in a CreditNote
    assert root.findtext("cac:PaymentMeans/cbc:PaymentDueDate", namespaces=NS) == "2026-12-10"

    without_means = root_of(build(("variant", "credit-note-no-payment")))
    assert without_means.findtext("cac:PaymentTerms/cbc:PaymentDueDate", namespaces=NS) == "2026-12-10"
    assert without_means.findtext("cac:AdditionalDocumentReference[cbc:DocumentTypeCode='50']/cbc:ID", namespaces=NS) == "PRJ-FOURNIL"


def test_foreign_currency_has_the_vat_total_in_the_accounting_currency():
    root = root_of(build(("example", "invoice-fr-usd")))
    assert (root.findtext("cbc:DocumentCurrencyCode", namespaces=NS), root.findtext("cbc:TaxCurrencyCode", namespaces=NS)) == ("USD", "EUR")
    main, accounting = root.findall("cac:TaxTotal", NS)
    assert main.find("cbc:TaxAmount", NS).get("currencyID") == "USD"
    assert main.find("cac:TaxSubtotal", NS) is not None
    assert (accounting.findtext("cbc:TaxAmount", namespaces=NS), accounting.find("cbc:TaxAmount", NS).get("currencyID")) == ("560.55", "EUR")


@pytest.mark.parametrize(
    ("case", "category", "reason_code"),
    [("exempt", "E", "VATEX-EU-132-1I"), ("export", "G", "VATEX-EU-G"), ("not-subject", "O", "VATEX-EU-O"), ("zero-rated", "Z", None)],
)
def test_vat_category_and_exemption_reason(case, category, reason_code):
    root = root_of(build(("variant", case)))
    tax_category = root.find("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory", NS)
    assert tax_category.findtext("cbc:ID", namespaces=NS) == category
    assert tax_category.findtext("cbc:TaxExemptionReasonCode", namespaces=NS) == reason_code
    assert tax_category.findtext("cac:TaxScheme/cbc:ID", namespaces=NS) == "VAT"
    line_category = root.find("cac:InvoiceLine/cac:Item/cac:ClassifiedTaxCategory", NS)
    assert line_category.findtext("cbc:ID", namespaces=NS) == category
    assert (line_category.find("cbc:Percent", NS) is None) == (category == "O")


def test_references_parties_attachments_and_payment_groups():
    root = root_of(build(("variant", "everything")))
    assert root.findtext("cbc:TaxPointDate", namespaces=NS) == "2026-11-18"
    assert root.findtext("cac:OrderReference/cbc:SalesOrderID", namespaces=NS) == "SO-2026-311"
    assert root.findtext("cac:OriginatorDocumentReference/cbc:ID", namespaces=NS) == "AO-2026-07 lot 2"
    assert root.findtext("cac:ProjectReference/cbc:ID", namespaces=NS) == "PRJ-FOURNIL"
    invoiced_object = root.find("cac:AdditionalDocumentReference[cbc:DocumentTypeCode='130']/cbc:ID", NS)
    assert (invoiced_object.text, invoiced_object.get("schemeID")) == ("FOUR-0042", "ABZ")
    binary = root.find("cac:AdditionalDocumentReference/cac:Attachment/cbc:EmbeddedDocumentBinaryObject", NS)
    assert binary.attrib == {"mimeCode": "application/pdf", "filename": "F2026-000142.pdf"}
    assert (
        root.findtext("cac:AdditionalDocumentReference/cac:Attachment/cac:ExternalReference/cbc:URI", namespaces=NS) == "https://erp.example/po/77813"
    )
    seller = root.find("cac:AccountingSupplierParty/cac:Party", NS)
    assert seller.xpath("cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='FC']/cbc:CompanyID/text()", namespaces=NS) == ["FR-FC-732829320"]  # BT-32
    assert root.findtext("cac:PayeeParty/cac:PartyLegalEntity/cbc:CompanyID", namespaces=NS) == "512345678"
    assert root.findtext("cac:TaxRepresentativeParty/cac:PartyTaxScheme/cbc:CompanyID", namespaces=NS) == "FR61400000000"
    assert root.find("cac:Delivery/cac:DeliveryLocation/cbc:ID", NS).get("schemeID") == "0088"
    line = root.find("cac:InvoiceLine", NS)
    assert line.find("cac:DocumentReference/cbc:ID", NS).get("schemeID") == "ABZ"
    assert line.find("cac:Item/cac:CommodityClassification/cbc:ItemClassificationCode", NS).attrib == {"listID": "HS", "listVersionID": "2022"}
    assert [p.findtext("cbc:Name", namespaces=NS) for p in line.findall("cac:Item/cac:AdditionalItemProperty", NS)] == ["Tension", "Étages"]
    assert root.find("cac:InvoiceLine[3]/cac:Price/cbc:BaseQuantity", NS).get("unitCode") == "C62"

    debit = root_of(build(("variant", "direct-debit")))
    assert debit.findtext("cac:AccountingSupplierParty/cac:Party/cac:PartyIdentification/cbc:ID[@schemeID='SEPA']", namespaces=NS) == "FR12ZZZ123456"
    mandate = debit.find("cac:PaymentMeans/cac:PaymentMandate", NS)
    assert [mandate.findtext(p, namespaces=NS) for p in ("cbc:ID", "cac:PayerFinancialAccount/cbc:ID")] == [
        "MDT-2026-0042",
        "FR7610107001011234567890129",
    ]

    card_root = root_of(build(("variant", "card")))
    assert card_root.findtext("cac:PaymentMeans/cac:CardAccount/cbc:PrimaryAccountNumberID", namespaces=NS) == "4242"


def test_customization_id_keeps_other_specifications_but_not_factur_x_profiles():
    invoice = build(("example", "invoice-fr-b2b"))
    invoice.specification_id = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
    assert customization_id(invoice) == invoice.specification_id
    invoice.specification_id = "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic"
    assert customization_id(invoice) == DEFAULT_CUSTOMIZATION_ID


def test_sales_order_alone_gets_the_placeholder_order_id_that_reads_back_as_absent():
    invoice = build(("example", "invoice-fr-b2b"))
    invoice.purchase_order_reference, invoice.sales_order_reference = None, "SO-1"
    root = root_of(invoice)
    assert [root.findtext(f"cac:OrderReference/cbc:{e}", namespaces=NS) for e in ("ID", "SalesOrderID")] == ["NA", "SO-1"]
    back = read_ubl(root)
    assert (back.purchase_order_reference, back.sales_order_reference) == (None, "SO-1")


def test_what_only_cii_carries_fits_the_ubl_rules(schemas):
    """CII documents may list several buyer identifiers (BT-46 is 0..1, UBL-SR-16) and carry BT-83 without payment means."""
    invoice = build(("example", "invoice-fr-b2b"))
    invoice.buyer.identifiers = [Identifier("CLIENT-0042"), Identifier("35600000000048", "0009")]
    invoice.payment = PaymentInstructions(means_code="", remittance_information="F2026-000142")
    xml = write_ubl(invoice)
    assert problems(xml, schemas, ("EN16931-UBL",)) == []
    root = parse_untrusted(xml).getroot()
    buyer_ids = root.findall("cac:AccountingCustomerParty/cac:Party/cac:PartyIdentification/cbc:ID", NS)
    assert [(e.text, e.get("schemeID")) for e in buyer_ids] == [("35600000000048", "0009")]
    assert [root.findtext(f"cac:PaymentMeans/cbc:{e}", namespaces=NS) for e in ("PaymentMeansCode", "PaymentID")] == ["1", "F2026-000142"]


def test_bt_32_other_tax_scheme_is_the_sellers_only():
    invoice = build(("example", "invoice-fr-b2b"))
    invoice.buyer.tax_registration_id = "NO987654321MVA"
    root = root_of(invoice)
    assert root.xpath("cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cac:TaxScheme/cbc:ID/text()", namespaces=NS) == ["VAT"]
    invoice.seller.tax_registration_id = "FR-FC-732829320"
    back = read_ubl(root_of(invoice))
    assert (back.seller.tax_registration_id, back.buyer.tax_registration_id) == ("FR-FC-732829320", None)


# --------------------------------------------------------------------------- reader


def test_partial_document_is_read_without_crashing_and_extras_are_ignored():
    xml = f"""<Invoice xmlns="{INVOICE_NS}" xmlns:cbc="{CBC}" xmlns:cac="{CAC}"
        xmlns:ext="urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2">
      <ext:UBLExtensions><ext:UBLExtension><ext:ExtensionContent><x/></ext:ExtensionContent></ext:UBLExtension></ext:UBLExtensions>
      <cbc:ID>P-1</cbc:ID><cbc:Note>#AAB#Pas d'escompte.</cbc:Note>
      <cac:InvoiceLine><cbc:ID>1</cbc:ID><cbc:InvoicedQuantity>2</cbc:InvoicedQuantity><cac:Item/></cac:InvoiceLine>
    </Invoice>""".encode()
    invoice = read_ubl(parse_untrusted(xml))
    assert (invoice.number, invoice.notes[0].subject_code, invoice.notes[0].text) == ("P-1", "AAB", "Pas d'escompte.")
    assert (invoice.lines[0].quantity, invoice.totals, invoice.payment) == (Decimal("2"), None, None)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("<cbc:IssueDate>20/11/2026</cbc:IssueDate>", "/Invoice/IssueDate"),
        (
            "<cac:LegalMonetaryTotal><cbc:PayableAmount>12,50</cbc:PayableAmount></cac:LegalMonetaryTotal>",
            "/Invoice/LegalMonetaryTotal/PayableAmount",
        ),
    ],
)
def test_values_the_model_cannot_hold_are_input_errors_naming_their_location(body, where):
    xml = f'<Invoice xmlns="{INVOICE_NS}" xmlns:cac="{CAC}" xmlns:cbc="{CBC}">{body}</Invoice>'
    with pytest.raises(InputError) as error:
        read_ubl(parse_untrusted(xml.encode()))
    assert error.value.pointer == where


def test_other_documents_are_unsupported():
    with pytest.raises(UnsupportedDocument):
        read_ubl(parse_untrusted(b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>'))


@pytest.mark.corpus
def test_peppol_maximum_content_invoice_is_read_exactly(corpus):
    invoice = read_ubl(parse_untrusted((corpus / "cen-en16931/test/testfiles/Invoice-Max_content.xml").read_bytes()))
    assert invoice.specification_id == "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
    assert (invoice.currency, invoice.tax_currency, invoice.totals.tax_amount, invoice.totals.tax_amount_accounting) == (
        "SEK", "EUR", Decimal("2500"), Decimal("249"),
    )  # fmt: skip
    assert invoice.invoiced_object_identifier.value == "ABC123" and invoice.invoiced_object_identifier.scheme == "VT"
    assert [(a.id, a.mime_code, a.external_uri) for a in invoice.attachments] == [
        ("MT123", None, None), ("Time report 1", "text/csv", None), ("Example 1", None, "http://www.example.com/index.html"),
    ]  # fmt: skip
    assert invoice.seller.tax_registration_id == "Godkänd för F-skatt"
    assert [t.account_id for t in invoice.payment.credit_transfers] == ["SE1212341234123412341234", "12341234567", "1112222", "121212"]
    assert invoice.payment.means_text == "Credit transfer"
    assert (invoice.payee.name, invoice.tax_representative.vat_id, invoice.delivery.location_id.scheme) == (
        "Finansiell Support u.p.a.", "SE998877665501", "0088",
    )  # fmt: skip
    line = invoice.lines[0]
    assert (line.quantity, line.unit_code, line.net_price, line.price_discount, line.gross_price) == (
        Decimal("500"), "MTR", Decimal("20"), Decimal("0.50"), Decimal("20.50"),
    )  # fmt: skip
    assert (line.object_identifier.scheme, line.classifications[0].version, line.attributes[1].value) == ("ABZ", "1.0", "2.33")
    assert invoice.lines[1].vat_category == "E"

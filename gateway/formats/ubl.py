"""The canonical invoice ⇄ OASIS UBL 2.1 Invoice / CreditNote (EN 16931 UBL binding, CEN/TS 16931-3-2).

`write_ubl` emits an `Invoice`, or a `CreditNote` for credit-note type codes, in the
element order of the UBL 2.1 XSD; amounts are written exactly as the `Decimal`s hold
them.  `read_ubl` maps any EN 16931 UBL document (Peppol BIS 3, XRechnung …) back,
values exactly as found; it ignores what it does not map, and a mandatory term missing
from a partial document keeps the model default (the validation of the document itself
reports it).

UBL idioms of the binding kept here:
- BT-21 subject codes live in the note text as ``#CODE#text``;
- BT-9 has no `cbc:DueDate` on a CreditNote: it goes to `cac:PaymentMeans/cbc:PaymentDueDate`
  (or `cac:PaymentTerms/cbc:PaymentDueDate` when there are no payment means, a UBL-CR warning);
- BT-11 on a CreditNote, which has no `cac:ProjectReference`, is an AdditionalDocumentReference
  with DocumentTypeCode 50; BT-18 one with DocumentTypeCode 130;
- BT-90 (SEPA creditor id) is a seller PartyIdentification with schemeID SEPA.

What a CII document may hold and UBL cannot: several buyer identifiers (BT-46 is 0..1, UBL-SR-16: the first
with a scheme is written), and BT-83 / BT-90 without payment means (BT-81 is then written as 1, "instrument
not defined", since cac:PaymentMeans needs a code).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from gateway.errors import UnsupportedDocument
from gateway.formats.profiles import profile_of_guideline
from gateway.formats.xmltools import Vocabulary, invalid
from gateway.model.invoice import (
    Address,
    AllowanceCharge,
    AttachedDocument,
    Classification,
    Contact,
    CreditTransfer,
    Delivery,
    DirectDebit,
    Identifier,
    Invoice,
    InvoiceLine,
    ItemAttribute,
    LineAllowanceCharge,
    Note,
    Party,
    Payee,
    PaymentCard,
    PaymentInstructions,
    Period,
    PrecedingInvoice,
    TaxRepresentative,
    Totals,
    VatBreakdown,
)

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS = {"cbc": CBC, "cac": CAC}
UBL = Vocabulary(NS)  # the shared XML primitives (gateway.formats.xmltools), bound to this syntax's prefixes
_sub, _el, _all, _decimal = UBL.sub, UBL.find, UBL.all, UBL.decimal

DEFAULT_CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017"
VAT = "VAT"
OTHER_TAX_SCHEME = "FC"  # BT-32: any TaxScheme other than VAT; FC (fiscal code) as in XRechnung
SEPA = "SEPA"  # schemeID of the BT-90 creditor identifier
INVOICED_OBJECT = "130"  # DocumentTypeCode of BT-18 / BT-128
CREDIT_NOTE_PROJECT = "50"  # DocumentTypeCode of BT-11 on a CreditNote
NOT_DEFINED = "1"  # UNTDID 4461 "instrument not defined": BT-81 for a CII document with BT-83 or BT-90 but no payment means
PLACEHOLDER = "NA"  # XSD-mandatory values without an EN 16931 term (order id beside a sales order, card network)
NOTE_SUBJECT = re.compile(r"#([A-Z]{3})#(.*)", re.DOTALL)
ISO_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(Z|[+-]\d{2}:\d{2})?")

# Root children in the UBL 2.1 XSD sequence (the subset written here); the two roots differ.
ROOT_ORDER = {
    "Invoice": (
        "CustomizationID", "ProfileID", "ID", "IssueDate", "DueDate", "InvoiceTypeCode", "Note", "TaxPointDate",
        "DocumentCurrencyCode", "TaxCurrencyCode", "AccountingCost", "BuyerReference", "InvoicePeriod", "OrderReference",
        "BillingReference", "DespatchDocumentReference", "ReceiptDocumentReference", "OriginatorDocumentReference",
        "ContractDocumentReference", "AdditionalDocumentReference", "ProjectReference", "AccountingSupplierParty",
        "AccountingCustomerParty", "PayeeParty", "TaxRepresentativeParty", "Delivery", "PaymentMeans", "PaymentTerms",
        "AllowanceCharge", "TaxTotal", "LegalMonetaryTotal", "InvoiceLine",
    ),
    "CreditNote": (
        "CustomizationID", "ProfileID", "ID", "IssueDate", "TaxPointDate", "CreditNoteTypeCode", "Note",
        "DocumentCurrencyCode", "TaxCurrencyCode", "AccountingCost", "BuyerReference", "InvoicePeriod", "OrderReference",
        "BillingReference", "DespatchDocumentReference", "ReceiptDocumentReference", "ContractDocumentReference",
        "AdditionalDocumentReference", "OriginatorDocumentReference", "AccountingSupplierParty", "AccountingCustomerParty",
        "PayeeParty", "TaxRepresentativeParty", "Delivery", "PaymentMeans", "PaymentTerms", "AllowanceCharge", "TaxTotal",
        "LegalMonetaryTotal", "CreditNoteLine",
    ),
}  # fmt: skip


# --------------------------------------------------------------------------- writer


def customization_id(invoice: Invoice) -> str:
    """BT-24 for UBL: the invoice's own specification, unless it names a Factur-X (CII) profile."""
    spec = invoice.specification_id
    if spec and profile_of_guideline(spec) is None:
        return spec
    return DEFAULT_CUSTOMIZATION_ID


def write_ubl(invoice: Invoice, *, customization: str | None = None, profile: str | None = None) -> bytes:
    """The UBL 2.1 Invoice (or CreditNote) of a completed invoice (`model.totals.complete` was run).

    `customization` and `profile` replace BT-24 and BT-23 when a network prescribes them (Peppol BIS
    Billing 3.0 does both): the same invoice, declared under that network's specification."""
    kind = "CreditNote" if invoice.is_credit_note else "Invoice"
    namespace = CREDIT_NOTE_NS if kind == "CreditNote" else INVOICE_NS
    root = etree.Element(f"{{{namespace}}}{kind}", nsmap={None: namespace, "cac": CAC, "cbc": CBC})
    currency = invoice.currency
    _sub(root, "cbc:CustomizationID", customization or customization_id(invoice))
    _opt(root, "cbc:ProfileID", profile or invoice.business_process)
    _sub(root, "cbc:ID", invoice.number)
    _sub(root, "cbc:IssueDate", invoice.issue_date.isoformat())
    if kind == "Invoice":
        _opt(root, "cbc:DueDate", invoice.due_date)
    _sub(root, f"cbc:{kind}TypeCode", invoice.type_code)
    for note in invoice.notes:
        _sub(root, "cbc:Note", f"#{note.subject_code}#{note.text}" if note.subject_code else note.text)
    _opt(root, "cbc:TaxPointDate", invoice.tax_point_date)
    _sub(root, "cbc:DocumentCurrencyCode", currency)
    _opt(root, "cbc:TaxCurrencyCode", invoice.tax_currency)
    _opt(root, "cbc:AccountingCost", invoice.buyer_accounting_reference)
    _opt(root, "cbc:BuyerReference", invoice.buyer_reference)
    _write_period(root, invoice.invoicing_period, invoice.vat_due_date_code)
    _write_references(root, invoice, kind)
    seller_ids = [*invoice.seller.identifiers, _creditor_identifier(invoice)]
    _write_party(_sub(_sub(root, "cac:AccountingSupplierParty"), "cac:Party"), invoice.seller, seller_ids, invoice.seller.tax_registration_id)
    _write_party(_sub(_sub(root, "cac:AccountingCustomerParty"), "cac:Party"), invoice.buyer, [buyer_identifier(invoice.buyer)])
    _write_payee(root, invoice.payee)
    _write_tax_representative(root, invoice.tax_representative)
    _write_delivery(root, invoice.delivery)
    _write_payment(root, invoice, kind)
    _write_allowance_charges(root, invoice.allowances, invoice.charges, currency)
    _write_tax_totals(root, invoice)
    _write_monetary_total(root, invoice.totals or Totals(), currency)
    for line in invoice.lines:
        _write_line(root, line, kind, currency)
    order = ROOT_ORDER[kind]
    root[:] = sorted(root, key=lambda el: order.index(etree.QName(el).localname))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _opt(parent: etree._Element, tag: str, value: str | Decimal | date | None, /, **attrs: str | None) -> None:
    """Append the child only when the value is present (UBL leaves empty strings out too); dates as YYYY-MM-DD."""
    if value is not None and value != "":
        _sub(parent, tag, value.isoformat() if isinstance(value, date) else value, **attrs)


def _write_identifier(parent: etree._Element, name: str, identifier: Identifier | None, wrapper: str | None = None) -> None:
    """An identifier with its schemeID, optionally inside a wrapper aggregate (cac:PartyIdentification …)."""
    if identifier is None or not identifier.value:
        return
    if wrapper:
        parent = _sub(parent, wrapper)
    _sub(parent, name, identifier.value, schemeID=identifier.scheme)


def _write_id_in(parent: etree._Element, wrapper: str, value: str | None) -> None:
    """`wrapper/cbc:ID` for a plain reference (order line, despatch advice, seller item id …)."""
    if value:
        _sub(_sub(parent, wrapper), "cbc:ID", value)


def _write_period(parent: etree._Element, period: Period | None, description_code: str | None = None) -> None:
    """BG-14 / BG-26 in cac:InvoicePeriod; BT-8 is the period's DescriptionCode."""
    if period is None and description_code is None:
        return
    element = _sub(parent, "cac:InvoicePeriod")
    if period is not None:
        _opt(element, "cbc:StartDate", period.start)
        _opt(element, "cbc:EndDate", period.end)
    _opt(element, "cbc:DescriptionCode", description_code)


def _write_references(root: etree._Element, invoice: Invoice, kind: str) -> None:
    """BT-13/14 order, BG-3 preceding invoices, BT-15/16/17/12 document references, BT-18, BG-24, BT-11."""
    if invoice.purchase_order_reference or invoice.sales_order_reference:
        order = _sub(root, "cac:OrderReference")
        _sub(order, "cbc:ID", invoice.purchase_order_reference or PLACEHOLDER)
        _opt(order, "cbc:SalesOrderID", invoice.sales_order_reference)
    for preceding in invoice.preceding_invoices:
        reference = _sub(_sub(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        _sub(reference, "cbc:ID", preceding.number)
        _opt(reference, "cbc:IssueDate", preceding.issue_date)
    _write_id_in(root, "cac:DespatchDocumentReference", invoice.despatch_advice_reference)
    _write_id_in(root, "cac:ReceiptDocumentReference", invoice.receiving_advice_reference)
    _write_id_in(root, "cac:OriginatorDocumentReference", invoice.tender_reference)
    _write_id_in(root, "cac:ContractDocumentReference", invoice.contract_reference)
    if invoice.invoiced_object_identifier is not None:
        reference = _sub(root, "cac:AdditionalDocumentReference")
        _write_identifier(reference, "cbc:ID", invoice.invoiced_object_identifier)
        _sub(reference, "cbc:DocumentTypeCode", INVOICED_OBJECT)
    for attachment in invoice.attachments:
        _write_attachment(root, attachment)
    if invoice.project_reference and kind == "CreditNote":
        reference = _sub(root, "cac:AdditionalDocumentReference")
        _sub(reference, "cbc:ID", invoice.project_reference)
        _sub(reference, "cbc:DocumentTypeCode", CREDIT_NOTE_PROJECT)
    elif invoice.project_reference:
        _write_id_in(root, "cac:ProjectReference", invoice.project_reference)


def _write_attachment(root: etree._Element, attachment: AttachedDocument) -> None:
    """BG-24.  No DocumentTypeCode: UBL-SR-43 reserves it for BT-18 (130) and the credit-note BT-11 (50)."""
    reference = _sub(root, "cac:AdditionalDocumentReference")
    _sub(reference, "cbc:ID", attachment.id)
    _opt(reference, "cbc:DocumentDescription", attachment.description)
    embedded = attachment.content_base64 is not None or attachment.mime_code is not None or attachment.filename is not None
    if embedded or attachment.external_uri:
        holder = _sub(reference, "cac:Attachment")
        if embedded:
            _sub(holder, "cbc:EmbeddedDocumentBinaryObject", attachment.content_base64, mimeCode=attachment.mime_code, filename=attachment.filename)
        if attachment.external_uri:
            _sub(_sub(holder, "cac:ExternalReference"), "cbc:URI", attachment.external_uri)


def _creditor_identifier(invoice: Invoice) -> Identifier | None:
    """BT-90 is written as a seller PartyIdentification with schemeID SEPA."""
    debit = invoice.payment.direct_debit if invoice.payment else None
    return Identifier(debit.creditor_id, SEPA) if debit and debit.creditor_id else None


def buyer_identifier(buyer: Party) -> Identifier | None:
    """BT-46 is 0..1 (UBL-SR-16), but CII documents may list several: the first with a scheme, else the first."""
    return next((i for i in buyer.identifiers if i.scheme), next(iter(buyer.identifiers), None))


def _write_party(party_element: etree._Element, party: Party, identifiers: list[Identifier | None], tax_registration_id: str | None = None) -> None:
    """BG-4 / BG-7 inside cac:Party; BT-32 (another tax scheme than VAT) exists for the seller only."""
    _write_identifier(party_element, "cbc:EndpointID", party.electronic_address)
    for identifier in identifiers:
        _write_identifier(party_element, "cbc:ID", identifier, "cac:PartyIdentification")
    if party.trading_name:
        _sub(_sub(party_element, "cac:PartyName"), "cbc:Name", party.trading_name)
    _write_address(party_element, "cac:PostalAddress", party.address)
    _write_party_tax_scheme(party_element, party.vat_id, VAT)
    _write_party_tax_scheme(party_element, tax_registration_id, OTHER_TAX_SCHEME)
    legal = _sub(party_element, "cac:PartyLegalEntity")
    _sub(legal, "cbc:RegistrationName", party.name)
    _write_identifier(legal, "cbc:CompanyID", party.legal_registration_id)
    _opt(legal, "cbc:CompanyLegalForm", party.legal_info)
    if party.contact is not None:
        contact = _sub(party_element, "cac:Contact")
        _opt(contact, "cbc:Name", party.contact.name)
        _opt(contact, "cbc:Telephone", party.contact.phone)
        _opt(contact, "cbc:ElectronicMail", party.contact.email)


def _write_party_tax_scheme(parent: etree._Element, company_id: str | None, scheme: str) -> None:
    if company_id:
        tax_scheme = _sub(parent, "cac:PartyTaxScheme")
        _sub(tax_scheme, "cbc:CompanyID", company_id)
        _sub(_sub(tax_scheme, "cac:TaxScheme"), "cbc:ID", scheme)


def _write_address(parent: etree._Element, name: str, address: Address | None) -> None:
    """BG-5/8/12/15: lines 1-2 as street names, line 3 as cac:AddressLine."""
    if address is None:
        return
    element = _sub(parent, name)
    _opt(element, "cbc:StreetName", address.line1)
    _opt(element, "cbc:AdditionalStreetName", address.line2)
    _opt(element, "cbc:CityName", address.city)
    _opt(element, "cbc:PostalZone", address.postal_code)
    _opt(element, "cbc:CountrySubentity", address.country_subdivision)
    if address.line3:
        _sub(_sub(element, "cac:AddressLine"), "cbc:Line", address.line3)
    if address.country_code:
        _sub(_sub(element, "cac:Country"), "cbc:IdentificationCode", address.country_code)


def _write_payee(root: etree._Element, payee: Payee | None) -> None:
    """BG-10."""
    if payee is None:
        return
    element = _sub(root, "cac:PayeeParty")
    _write_identifier(element, "cbc:ID", payee.identifier, "cac:PartyIdentification")
    _sub(_sub(element, "cac:PartyName"), "cbc:Name", payee.name)
    _write_identifier(element, "cbc:CompanyID", payee.legal_registration_id, "cac:PartyLegalEntity")


def _write_tax_representative(root: etree._Element, representative: TaxRepresentative | None) -> None:
    """BG-11."""
    if representative is None:
        return
    element = _sub(root, "cac:TaxRepresentativeParty")
    _sub(_sub(element, "cac:PartyName"), "cbc:Name", representative.name)
    _write_address(element, "cac:PostalAddress", representative.address)
    _write_party_tax_scheme(element, representative.vat_id, VAT)


def _write_delivery(root: etree._Element, delivery: Delivery | None) -> None:
    """BG-13: BT-72 date, BT-71 location id and BG-15 address, BT-70 party name."""
    if delivery is None:
        return
    element = _sub(root, "cac:Delivery")
    _opt(element, "cbc:ActualDeliveryDate", delivery.date)
    if delivery.location_id is not None or delivery.address is not None:
        location = _sub(element, "cac:DeliveryLocation")
        _write_identifier(location, "cbc:ID", delivery.location_id)
        _write_address(location, "cac:Address", delivery.address)
    if delivery.party_name:
        _sub(_sub(_sub(element, "cac:DeliveryParty"), "cac:PartyName"), "cbc:Name", delivery.party_name)


def _write_payment(root: etree._Element, invoice: Invoice, kind: str) -> None:
    """BG-16: one cac:PaymentMeans per credit-transfer account (BG-17); card (BG-18), mandate (BG-19),
    means text (UBL-SR-46) and the CreditNote due date (UBL-SR-45) only once, on the first.  BT-20 in PaymentTerms."""
    payment = invoice.payment
    credit_due_date = invoice.due_date if kind == "CreditNote" else None
    if payment is not None:
        for i, account in enumerate(payment.credit_transfers or [None]):
            first = i == 0
            means = _sub(root, "cac:PaymentMeans")
            _sub(means, "cbc:PaymentMeansCode", payment.means_code or NOT_DEFINED, name=payment.means_text if first else None)
            if first:
                _opt(means, "cbc:PaymentDueDate", credit_due_date)
            _opt(means, "cbc:PaymentID", payment.remittance_information)
            if first and payment.card is not None:
                card = _sub(means, "cac:CardAccount")
                _sub(card, "cbc:PrimaryAccountNumberID", payment.card.primary_account_number)
                _sub(card, "cbc:NetworkID", PLACEHOLDER)
                _opt(card, "cbc:HolderName", payment.card.holder_name)
            if account is not None:
                financial = _sub(means, "cac:PayeeFinancialAccount")
                _sub(financial, "cbc:ID", account.account_id)
                _opt(financial, "cbc:Name", account.account_name)
                _write_id_in(financial, "cac:FinancialInstitutionBranch", account.bank_id)
            debit = payment.direct_debit
            if first and debit is not None and (debit.mandate_id or debit.debited_account_id):
                mandate = _sub(means, "cac:PaymentMandate")
                _opt(mandate, "cbc:ID", debit.mandate_id)
                _write_id_in(mandate, "cac:PayerFinancialAccount", debit.debited_account_id)
        credit_due_date = None
    if invoice.payment_terms or credit_due_date:
        terms = _sub(root, "cac:PaymentTerms")
        _opt(terms, "cbc:Note", invoice.payment_terms)
        _opt(terms, "cbc:PaymentDueDate", credit_due_date)


def _write_allowance_charges(
    parent: etree._Element,
    allowances: Sequence[AllowanceCharge | LineAllowanceCharge],
    charges: Sequence[AllowanceCharge | LineAllowanceCharge],
    currency: str,
) -> None:
    """BG-20/21 or BG-27/28: the allowances, then the charges."""
    for allowance in allowances:
        _write_allowance_charge(parent, allowance, False, currency)
    for charge in charges:
        _write_allowance_charge(parent, charge, True, currency)


def _write_allowance_charge(parent: etree._Element, item: AllowanceCharge | LineAllowanceCharge, is_charge: bool, currency: str) -> None:
    """BG-20/21 (with their VAT category) and BG-27/28."""
    element = _sub(parent, "cac:AllowanceCharge")
    _sub(element, "cbc:ChargeIndicator", "true" if is_charge else "false")
    _opt(element, "cbc:AllowanceChargeReasonCode", item.reason_code)
    _opt(element, "cbc:AllowanceChargeReason", item.reason)
    _opt(element, "cbc:MultiplierFactorNumeric", item.percentage)
    _sub(element, "cbc:Amount", item.amount, currencyID=currency)
    _opt(element, "cbc:BaseAmount", item.base_amount, currencyID=currency)
    if isinstance(item, AllowanceCharge):
        _write_tax_category(element, "cac:TaxCategory", item.vat_category, item.vat_rate)


def _write_tax_category(
    parent: etree._Element, name: str, category: str, rate: Decimal | None, reason_code: str | None = None, reason: str | None = None
) -> None:
    """A VAT category (TaxScheme VAT): BT-95/102/118/151, rate, and the BT-121/120 exemption reason."""
    element = _sub(parent, name)
    _sub(element, "cbc:ID", category)
    _opt(element, "cbc:Percent", rate)
    _opt(element, "cbc:TaxExemptionReasonCode", reason_code)
    _opt(element, "cbc:TaxExemptionReason", reason)
    _sub(_sub(element, "cac:TaxScheme"), "cbc:ID", VAT)


def _write_tax_totals(root: etree._Element, invoice: Invoice) -> None:
    """BT-110 with the BG-23 breakdown; BT-111 in a second TaxTotal in the VAT accounting currency (BT-6)."""
    totals = invoice.totals or Totals()
    tax_total = _sub(root, "cac:TaxTotal")
    _sub(tax_total, "cbc:TaxAmount", totals.tax_amount, currencyID=invoice.currency)
    for entry in invoice.vat_breakdown:
        subtotal = _sub(tax_total, "cac:TaxSubtotal")
        _sub(subtotal, "cbc:TaxableAmount", entry.taxable_amount, currencyID=invoice.currency)
        _sub(subtotal, "cbc:TaxAmount", entry.tax_amount, currencyID=invoice.currency)
        _write_tax_category(subtotal, "cac:TaxCategory", entry.category, entry.rate, entry.exemption_reason_code, entry.exemption_reason)
    if invoice.tax_currency and totals.tax_amount_accounting is not None:
        _sub(_sub(root, "cac:TaxTotal"), "cbc:TaxAmount", totals.tax_amount_accounting, currencyID=invoice.tax_currency)


def _write_monetary_total(root: etree._Element, totals: Totals, currency: str) -> None:
    """BG-22."""
    element = _sub(root, "cac:LegalMonetaryTotal")
    for name, value in (
        ("cbc:LineExtensionAmount", totals.line_net_total),
        ("cbc:TaxExclusiveAmount", totals.tax_exclusive_amount),
        ("cbc:TaxInclusiveAmount", totals.tax_inclusive_amount),
        ("cbc:AllowanceTotalAmount", totals.allowance_total),
        ("cbc:ChargeTotalAmount", totals.charge_total),
        ("cbc:PrepaidAmount", totals.paid_amount),
        ("cbc:PayableRoundingAmount", totals.rounding_amount),
        ("cbc:PayableAmount", totals.amount_due),
    ):
        _opt(element, name, value, currencyID=currency)


def _write_line(root: etree._Element, line: InvoiceLine, kind: str, currency: str) -> None:
    """BG-25: cac:InvoiceLine with InvoicedQuantity, or cac:CreditNoteLine with CreditedQuantity."""
    element = _sub(root, f"cac:{kind}Line")
    _sub(element, "cbc:ID", line.id)
    _opt(element, "cbc:Note", line.note)
    _sub(element, "cbc:CreditedQuantity" if kind == "CreditNote" else "cbc:InvoicedQuantity", line.quantity, unitCode=line.unit_code)
    _sub(element, "cbc:LineExtensionAmount", line.net_amount, currencyID=currency)
    _opt(element, "cbc:AccountingCost", line.accounting_reference)
    _write_period(element, line.period)
    if line.order_line_reference:
        _sub(_sub(element, "cac:OrderLineReference"), "cbc:LineID", line.order_line_reference)
    if line.object_identifier is not None:
        reference = _sub(element, "cac:DocumentReference")
        _write_identifier(reference, "cbc:ID", line.object_identifier)
        _sub(reference, "cbc:DocumentTypeCode", INVOICED_OBJECT)
    _write_allowance_charges(element, line.allowances, line.charges, currency)
    _write_item(element, line)
    _write_price(element, line, currency)


def _write_item(line_element: etree._Element, line: InvoiceLine) -> None:
    """BG-31 item information, BG-30 line VAT (cac:ClassifiedTaxCategory), BG-32 attributes."""
    item = _sub(line_element, "cac:Item")
    _opt(item, "cbc:Description", line.item_description)
    _sub(item, "cbc:Name", line.item_name)
    _write_id_in(item, "cac:BuyersItemIdentification", line.buyer_item_id)
    _write_id_in(item, "cac:SellersItemIdentification", line.seller_item_id)
    _write_identifier(item, "cbc:ID", line.standard_item_id, "cac:StandardItemIdentification")
    if line.origin_country:
        _sub(_sub(item, "cac:OriginCountry"), "cbc:IdentificationCode", line.origin_country)
    for classification in line.classifications:
        _sub(
            _sub(item, "cac:CommodityClassification"), "cbc:ItemClassificationCode", classification.value,
            listID=classification.scheme, listVersionID=classification.version,
        )  # fmt: skip
    _write_tax_category(item, "cac:ClassifiedTaxCategory", line.vat_category, line.vat_rate)
    for attribute in line.attributes:
        prop = _sub(item, "cac:AdditionalItemProperty")
        _sub(prop, "cbc:Name", attribute.name)
        _sub(prop, "cbc:Value", attribute.value)


def _write_price(line_element: etree._Element, line: InvoiceLine, currency: str) -> None:
    """BG-29: net price, base quantity, and the gross price with its discount as the price's allowance."""
    price = _sub(line_element, "cac:Price")
    _sub(price, "cbc:PriceAmount", line.net_price, currencyID=currency)
    _opt(price, "cbc:BaseQuantity", line.base_quantity, unitCode=line.base_quantity_unit_code)
    discount = line.price_discount
    if discount is None and line.gross_price is not None:
        discount = line.gross_price - line.net_price  # BT-147 = BT-148 − BT-146; UBL requires the amount
    if discount is not None:
        allowance = _sub(price, "cac:AllowanceCharge")
        _sub(allowance, "cbc:ChargeIndicator", "false")
        _sub(allowance, "cbc:Amount", discount, currencyID=currency)
        _opt(allowance, "cbc:BaseAmount", line.gross_price, currencyID=currency)


# --------------------------------------------------------------------------- reader


def read_ubl(tree: etree._ElementTree | etree._Element) -> Invoice:
    """The canonical invoice of a UBL 2.1 Invoice or CreditNote (a tree from `xmlparse.parse_untrusted`)."""
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    qname = etree.QName(root)
    if (qname.namespace, qname.localname) not in ((INVOICE_NS, "Invoice"), (CREDIT_NOTE_NS, "CreditNote")):
        raise UnsupportedDocument(f"Not a UBL 2.1 Invoice or CreditNote: root element {qname.localname!r} in {qname.namespace!r}.")
    credit_note = qname.localname == "CreditNote"
    references = root.findall("cac:AdditionalDocumentReference", NS)
    invoiced_object = next((r for r in references if _text(r, "cbc:DocumentTypeCode") == INVOICED_OBJECT), None)
    project = next((r for r in references if credit_note and _text(r, "cbc:DocumentTypeCode") == CREDIT_NOTE_PROJECT), None)
    seller = _el(root, "cac:AccountingSupplierParty/cac:Party")
    buyer = _el(root, "cac:AccountingCustomerParty/cac:Party")
    period = _el(root, "cac:InvoicePeriod")
    tax_total, accounting_tax_total = _tax_totals(root)
    return Invoice(
        **_given(
            number=_text(root, "cbc:ID"),
            issue_date=_date(root, "cbc:IssueDate"),
            type_code=_text(root, "cbc:CreditNoteTypeCode" if credit_note else "cbc:InvoiceTypeCode"),
            currency=_text(root, "cbc:DocumentCurrencyCode"),
            seller=_read_party(seller, is_seller=True),
            buyer=_read_party(buyer, is_seller=False),
            lines=[_read_line(line) for line in root.findall("cac:CreditNoteLine" if credit_note else "cac:InvoiceLine", NS)],
            tax_currency=_text(root, "cbc:TaxCurrencyCode"),
            tax_point_date=_date(root, "cbc:TaxPointDate"),
            vat_due_date_code=_text(period, "cbc:DescriptionCode"),
            due_date=_date(root, "cbc:DueDate")
            or _date(root, "cac:PaymentMeans/cbc:PaymentDueDate")
            or _date(root, "cac:PaymentTerms/cbc:PaymentDueDate"),
            buyer_reference=_text(root, "cbc:BuyerReference"),
            project_reference=_text(root, "cac:ProjectReference/cbc:ID") or _text(project, "cbc:ID"),
            contract_reference=_text(root, "cac:ContractDocumentReference/cbc:ID"),
            purchase_order_reference=_purchase_order(root),
            sales_order_reference=_text(root, "cac:OrderReference/cbc:SalesOrderID"),
            receiving_advice_reference=_text(root, "cac:ReceiptDocumentReference/cbc:ID"),
            despatch_advice_reference=_text(root, "cac:DespatchDocumentReference/cbc:ID"),
            tender_reference=_text(root, "cac:OriginatorDocumentReference/cbc:ID"),
            invoiced_object_identifier=_identifier(invoiced_object, "cbc:ID"),
            buyer_accounting_reference=_text(root, "cbc:AccountingCost"),
            payment_terms=_text(root, "cac:PaymentTerms/cbc:Note"),
            notes=[_read_note(note) for note in root.findall("cbc:Note", NS) if note.text and note.text.strip()],
            business_process=_text(root, "cbc:ProfileID"),
            specification_id=_text(root, "cbc:CustomizationID"),
            preceding_invoices=[
                PrecedingInvoice(**_given(number=_text(ref, "cbc:ID"), issue_date=_date(ref, "cbc:IssueDate")))
                for ref in root.findall("cac:BillingReference/cac:InvoiceDocumentReference", NS)
            ],
            payee=_read_payee(_el(root, "cac:PayeeParty")),
            tax_representative=_read_tax_representative(_el(root, "cac:TaxRepresentativeParty")),
            delivery=_read_delivery(_el(root, "cac:Delivery")),
            invoicing_period=_read_period(period),
            payment=_read_payment(root, seller, _el(root, "cac:PayeeParty")),
            allowances=[_read_document_allowance_charge(ac) for ac in _allowance_charges(root, False)],
            charges=[_read_document_allowance_charge(ac) for ac in _allowance_charges(root, True)],
            totals=_read_totals(_el(root, "cac:LegalMonetaryTotal"), tax_total, accounting_tax_total),
            vat_breakdown=[_read_vat_breakdown(subtotal) for subtotal in _all(tax_total, "cac:TaxSubtotal")],
            attachments=[_read_attachment(ref) for ref in references if ref is not invoiced_object and ref is not project],
        )
    )


def _given(**values: Any) -> dict[str, Any]:
    """The keyword arguments found in the document; the absent ones keep the model defaults."""
    return {key: value for key, value in values.items() if value is not None}


def _text(parent: etree._Element | None, path: str) -> str | None:
    """The text of the first `path` under `parent`, without surrounding whitespace; None when absent or empty."""
    return UBL.stripped(parent, path) or None


def _date(parent: etree._Element | None, path: str) -> date | None:
    """An xs:date (YYYY-MM-DD, optionally with a time zone, which is dropped)."""
    text = _text(parent, path)
    if text is None:
        return None
    match = ISO_DATE.fullmatch(text)
    if match:
        try:
            return date.fromisoformat(match.group(1))
        except ValueError:
            pass
    raise invalid(_el(parent, path), "not a date (YYYY-MM-DD)", text)


def _identifier(parent: etree._Element | None, path: str) -> Identifier | None:
    """An identifier with its schemeID; None when absent or empty."""
    identifier = UBL.identifier(parent, path)
    return identifier if identifier is not None and identifier.value else None


def _read_note(note: etree._Element) -> Note:
    """`#CODE#text` carries the BT-21 subject code (EN 16931 UBL binding)."""
    text = note.text.strip()
    match = NOTE_SUBJECT.fullmatch(text)
    return Note(text=match.group(2), subject_code=match.group(1)) if match else Note(text=text)


def _purchase_order(root: etree._Element) -> str | None:
    """BT-13; the placeholder the XSD forces beside a lone sales order reference (BT-14) is not one."""
    order = _text(root, "cac:OrderReference/cbc:ID")
    if order == PLACEHOLDER and _text(root, "cac:OrderReference/cbc:SalesOrderID"):
        return None
    return order


def _read_address(element: etree._Element | None) -> Address | None:
    if element is None:
        return None
    return Address(
        **_given(
            line1=_text(element, "cbc:StreetName"),
            line2=_text(element, "cbc:AdditionalStreetName"),
            line3=_text(element, "cac:AddressLine/cbc:Line"),
            city=_text(element, "cbc:CityName"),
            postal_code=_text(element, "cbc:PostalZone"),
            country_subdivision=_text(element, "cbc:CountrySubentity"),
            country_code=_text(element, "cac:Country/cbc:IdentificationCode"),
        )
    )


def _party_identifiers(party: etree._Element | None) -> list[Identifier]:
    """BT-29/46/60 identifiers; the SEPA creditor id (BT-90) is not one of them."""
    identifiers = [_identifier(element, "cbc:ID") for element in _all(party, "cac:PartyIdentification")]
    return [i for i in identifiers if i is not None and (i.scheme or "").upper() != SEPA]


def _read_party(party: etree._Element | None, is_seller: bool) -> Party | None:
    """BG-4 / BG-7 from cac:Party (the registration name is the legal name; cac:PartyName the trading name); BT-32 is the seller's only."""
    if party is None:
        return None
    legal = _el(party, "cac:PartyLegalEntity")
    registration_name = _text(legal, "cbc:RegistrationName")
    party_name = _text(party, "cac:PartyName/cbc:Name")
    tax_schemes = [(_text(s, "cac:TaxScheme/cbc:ID"), _text(s, "cbc:CompanyID")) for s in _all(party, "cac:PartyTaxScheme")]
    return Party(
        **_given(
            name=registration_name or party_name,
            trading_name=party_name if registration_name else None,
            identifiers=_party_identifiers(party),
            legal_registration_id=_identifier(legal, "cbc:CompanyID"),
            vat_id=next((cid for scheme, cid in tax_schemes if scheme == VAT and cid), None),
            tax_registration_id=next((cid for scheme, cid in tax_schemes if scheme != VAT and cid), None) if is_seller else None,
            legal_info=_text(legal, "cbc:CompanyLegalForm"),
            electronic_address=_identifier(party, "cbc:EndpointID"),
            address=_read_address(_el(party, "cac:PostalAddress")),
            contact=_read_contact(_el(party, "cac:Contact")),
        )
    )


def _read_contact(contact: etree._Element | None) -> Contact | None:
    if contact is None:
        return None
    return Contact(name=_text(contact, "cbc:Name"), phone=_text(contact, "cbc:Telephone"), email=_text(contact, "cbc:ElectronicMail"))


def _read_payee(element: etree._Element | None) -> Payee | None:
    if element is None:
        return None
    identifiers = _party_identifiers(element)
    return Payee(
        **_given(
            name=_text(element, "cac:PartyName/cbc:Name"),
            identifier=identifiers[0] if identifiers else None,
            legal_registration_id=_identifier(element, "cac:PartyLegalEntity/cbc:CompanyID"),
        )
    )


def _read_tax_representative(element: etree._Element | None) -> TaxRepresentative | None:
    if element is None:
        return None
    return TaxRepresentative(
        **_given(
            name=_text(element, "cac:PartyName/cbc:Name"),
            vat_id=_text(element, "cac:PartyTaxScheme/cbc:CompanyID"),
            address=_read_address(_el(element, "cac:PostalAddress")),
        )
    )


def _read_delivery(element: etree._Element | None) -> Delivery | None:
    if element is None:
        return None
    return Delivery(
        party_name=_text(element, "cac:DeliveryParty/cac:PartyName/cbc:Name"),
        location_id=_identifier(element, "cac:DeliveryLocation/cbc:ID"),
        date=_date(element, "cbc:ActualDeliveryDate"),
        address=_read_address(_el(element, "cac:DeliveryLocation/cac:Address")),
    )


def _read_period(element: etree._Element | None) -> Period | None:
    if element is None:
        return None
    start, end = _date(element, "cbc:StartDate"), _date(element, "cbc:EndDate")
    return Period(start=start, end=end) if start or end else None


def _read_payment(root: etree._Element, seller: etree._Element | None, payee: etree._Element | None) -> PaymentInstructions | None:
    """BG-16 from every cac:PaymentMeans (one per BG-17 account); BT-90 from the seller's or the payee's SEPA identifier."""
    means = root.findall("cac:PaymentMeans", NS)
    if not means:
        return None
    codes = [code for m in means if (code := _el(m, "cbc:PaymentMeansCode")) is not None]
    card = _first(means, "cac:CardAccount")
    mandate = _first(means, "cac:PaymentMandate")
    creditor_id = _creditor_id(seller) or _creditor_id(payee)
    debit = DirectDebit(
        mandate_id=_text(mandate, "cbc:ID"), creditor_id=creditor_id, debited_account_id=_text(mandate, "cac:PayerFinancialAccount/cbc:ID")
    )
    return PaymentInstructions(
        **_given(
            means_code=_text(means[0], "cbc:PaymentMeansCode"),
            means_text=next((code.get("name") for code in codes if code.get("name")), None),
            remittance_information=next((ref for m in means if (ref := _text(m, "cbc:PaymentID"))), None),
            credit_transfers=[_read_credit_transfer(account) for m in means for account in _all(m, "cac:PayeeFinancialAccount")],
            card=_read_card(card) if card is not None else None,
            direct_debit=debit if mandate is not None or creditor_id is not None else None,
        )
    )


def _read_card(card: etree._Element) -> PaymentCard:
    return PaymentCard(**_given(primary_account_number=_text(card, "cbc:PrimaryAccountNumberID"), holder_name=_text(card, "cbc:HolderName")))


def _first(parents: list[etree._Element], path: str) -> etree._Element | None:
    """The first `path` found under any of `parents`."""
    return next((element for parent in parents if (element := _el(parent, path)) is not None), None)


def _creditor_id(party: etree._Element | None) -> str | None:
    """BT-90: the party identifier with schemeID SEPA."""
    return next((_text(e, ".") for e in _all(party, "cac:PartyIdentification/cbc:ID") if (e.get("schemeID") or "").upper() == SEPA), None)


def _read_credit_transfer(account: etree._Element) -> CreditTransfer:
    return CreditTransfer(
        **_given(
            account_id=_text(account, "cbc:ID"),
            account_name=_text(account, "cbc:Name"),
            bank_id=_text(account, "cac:FinancialInstitutionBranch/cbc:ID"),
        )
    )


def _allowance_charges(parent: etree._Element | None, is_charge: bool) -> list[etree._Element]:
    return UBL.flagged(parent, "cac:AllowanceCharge", "cbc:ChargeIndicator", is_charge)


def _allowance_charge_terms(element: etree._Element) -> dict[str, Any]:
    """The terms shared by document (BG-20/21) and line (BG-27/28) allowances and charges."""
    return _given(
        amount=_decimal(element, "cbc:Amount"),
        base_amount=_decimal(element, "cbc:BaseAmount"),
        percentage=_decimal(element, "cbc:MultiplierFactorNumeric"),
        reason=_text(element, "cbc:AllowanceChargeReason"),
        reason_code=_text(element, "cbc:AllowanceChargeReasonCode"),
    )


def _read_document_allowance_charge(element: etree._Element) -> AllowanceCharge:
    return AllowanceCharge(
        **_allowance_charge_terms(element),
        **_given(vat_category=_text(element, "cac:TaxCategory/cbc:ID"), vat_rate=_decimal(element, "cac:TaxCategory/cbc:Percent")),
    )


def _tax_totals(root: etree._Element) -> tuple[etree._Element | None, etree._Element | None]:
    """The TaxTotal with the breakdown in the invoice currency (BT-110), and the other one, in the VAT accounting currency (BT-111)."""
    totals = root.findall("cac:TaxTotal", NS)
    currency = _text(root, "cbc:DocumentCurrencyCode")

    def rank(tax_total: etree._Element) -> tuple[bool, bool]:
        amount = _el(tax_total, "cbc:TaxAmount")
        return _el(tax_total, "cac:TaxSubtotal") is None, amount is None or amount.get("currencyID") != currency

    main = min(totals, key=rank, default=None)
    return main, next((t for t in totals if t is not main), None)


def _read_totals(monetary: etree._Element | None, tax_total: etree._Element | None, accounting: etree._Element | None) -> Totals | None:
    if monetary is None and tax_total is None:
        return None
    return Totals(
        line_net_total=_decimal(monetary, "cbc:LineExtensionAmount"),
        allowance_total=_decimal(monetary, "cbc:AllowanceTotalAmount"),
        charge_total=_decimal(monetary, "cbc:ChargeTotalAmount"),
        tax_exclusive_amount=_decimal(monetary, "cbc:TaxExclusiveAmount"),
        tax_amount=_decimal(tax_total, "cbc:TaxAmount"),
        tax_amount_accounting=_decimal(accounting, "cbc:TaxAmount"),
        tax_inclusive_amount=_decimal(monetary, "cbc:TaxInclusiveAmount"),
        paid_amount=_decimal(monetary, "cbc:PrepaidAmount"),
        rounding_amount=_decimal(monetary, "cbc:PayableRoundingAmount"),
        amount_due=_decimal(monetary, "cbc:PayableAmount"),
    )


def _read_vat_breakdown(subtotal: etree._Element) -> VatBreakdown:
    category = _el(subtotal, "cac:TaxCategory")
    return VatBreakdown(
        **_given(
            category=_text(category, "cbc:ID"),
            rate=_decimal(category, "cbc:Percent"),
            taxable_amount=_decimal(subtotal, "cbc:TaxableAmount"),
            tax_amount=_decimal(subtotal, "cbc:TaxAmount"),
            exemption_reason=_text(category, "cbc:TaxExemptionReason"),
            exemption_reason_code=_text(category, "cbc:TaxExemptionReasonCode"),
        )
    )


def _read_attachment(reference: etree._Element) -> AttachedDocument:
    binary = _el(reference, "cac:Attachment/cbc:EmbeddedDocumentBinaryObject")
    return AttachedDocument(
        **_given(
            id=_text(reference, "cbc:ID"),
            description=_text(reference, "cbc:DocumentDescription"),
            external_uri=_text(reference, "cac:Attachment/cac:ExternalReference/cbc:URI"),
            content_base64=_text(binary, "."),
            mime_code=binary.get("mimeCode") if binary is not None else None,
            filename=binary.get("filename") if binary is not None else None,
            type_code=_text(reference, "cbc:DocumentTypeCode"),
        )
    )


def _read_line(element: etree._Element) -> InvoiceLine:
    """BG-25 from cac:InvoiceLine or cac:CreditNoteLine."""
    quantity = _el(element, "cbc:InvoicedQuantity")
    if quantity is None:
        quantity = _el(element, "cbc:CreditedQuantity")
    item = _el(element, "cac:Item")
    price = _el(element, "cac:Price")
    discount = next(iter(_allowance_charges(price, False)), None) if price is not None else None
    tax = _el(item, "cac:ClassifiedTaxCategory")
    # BT-128 is the line's DocumentReference typed 130; the CEN examples also leave the type out.
    object_reference = next((r for r in _all(element, "cac:DocumentReference") if _text(r, "cbc:DocumentTypeCode") in (INVOICED_OBJECT, None)), None)
    base_quantity = _el(price, "cbc:BaseQuantity")
    return InvoiceLine(
        **_given(
            id=_text(element, "cbc:ID"),
            quantity=_decimal(quantity, "."),
            unit_code=quantity.get("unitCode") if quantity is not None else None,
            net_price=_decimal(price, "cbc:PriceAmount"),
            item_name=_text(item, "cbc:Name"),
            vat_category=_text(tax, "cbc:ID"),
            vat_rate=_decimal(tax, "cbc:Percent"),
            net_amount=_decimal(element, "cbc:LineExtensionAmount"),
            note=_text(element, "cbc:Note"),
            object_identifier=_identifier(object_reference, "cbc:ID"),
            order_line_reference=_text(element, "cac:OrderLineReference/cbc:LineID"),
            accounting_reference=_text(element, "cbc:AccountingCost"),
            period=_read_period(_el(element, "cac:InvoicePeriod")),
            allowances=[LineAllowanceCharge(**_allowance_charge_terms(ac)) for ac in _allowance_charges(element, False)],
            charges=[LineAllowanceCharge(**_allowance_charge_terms(ac)) for ac in _allowance_charges(element, True)],
            price_discount=_decimal(discount, "cbc:Amount"),
            gross_price=_decimal(discount, "cbc:BaseAmount"),
            base_quantity=_decimal(base_quantity, "."),
            base_quantity_unit_code=base_quantity.get("unitCode") if base_quantity is not None else None,
            item_description=_text(item, "cbc:Description"),
            seller_item_id=_text(item, "cac:SellersItemIdentification/cbc:ID"),
            buyer_item_id=_text(item, "cac:BuyersItemIdentification/cbc:ID"),
            standard_item_id=_identifier(item, "cac:StandardItemIdentification/cbc:ID"),
            classifications=[
                Classification(**_given(value=_text(code, "."), scheme=code.get("listID"), version=code.get("listVersionID")))
                for code in _all(item, "cac:CommodityClassification/cbc:ItemClassificationCode")
            ],
            origin_country=_text(item, "cac:OriginCountry/cbc:IdentificationCode"),
            attributes=[
                ItemAttribute(**_given(name=_text(prop, "cbc:Name"), value=_text(prop, "cbc:Value")))
                for prop in _all(item, "cac:AdditionalItemProperty")
            ],
        )
    )

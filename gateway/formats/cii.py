"""UN/CEFACT Cross Industry Invoice (D22B, as Factur-X 1.07+ uses it) ⇄ the canonical invoice.

`write_cii` builds the full EN 16931 document in the XSD element order, then drops
what the chosen Factur-X profile does not allow (MINIMUM and BASIC WL have no lines,
BASIC no attachments …).  The official artefacts are the list of what stays: the
profile's XSD content models, and the contexts its own stylesheet reports as "not
used" (e.g. a buyer address in MINIMUM).  Decimals are written exactly as held.

`read_cii` reads any EN 16931 CII (D16B/D22B, every Factur-X profile, XRechnung)
and keeps values as written: decimals from the text, codes untouched.  Two codes
are translated on the way: BT-8 (CII UNTDID 2475 ⇄ canonical UNTDID 2005) and, when
writing, VATEX exemption codes are upper-cased (Factur-X checks the list case-sensitively).

What a UBL document may hold and CII cannot: BT-147 without BT-148 (CII holds the discount inside the gross
price, so BT-148 = BT-146 + BT-147 is written), and BT-6 equal to BT-5 (left out: CII's BR-53 wants another
currency).  BT-83 or BT-90 alone writes no payment means element.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from lxml import etree

from gateway.errors import InputError
from gateway.formats.profiles import get_profile
from gateway.formats.xmltools import Vocabulary, content, identifier_of, number
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
from gateway.validation.artefacts import XSD, XSLT

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
NS = {"rsm": RSM, "qdt": QDT, "ram": RAM, "udt": UDT}
CII = Vocabulary(NS)  # the shared XML primitives (gateway.formats.xmltools), bound to this syntax's prefixes
_qname, _sub, _opt = CII.qname, CII.sub, CII.opt
_find, _all, _text, _code, _decimal, _read_identifier = CII.find, CII.all, CII.text, CII.stripped, CII.decimal, CII.identifier

# BT-8: the canonical model holds UNTDID 2005 codes (as UBL does); CII uses UNTDID 2475 (REGULATION §3.6).
VAT_DUE_DATE_TO_CII = {"3": "5", "35": "29", "432": "72"}
VAT_DUE_DATE_FROM_CII = {cii: ubl for ubl, cii in VAT_DUE_DATE_TO_CII.items()}

# Document type codes of AdditionalReferencedDocument that carry BT-17 and BT-18 rather than BG-24.
TENDER_TYPE = "50"
INVOICED_OBJECT_TYPE = "130"
SUPPORTING_DOCUMENT_TYPE = "916"

SVRL = "http://purl.oclc.org/dsdl/svrl"
IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
DATE_102 = re.compile(r"^([0-9]{4})([0-9]{2})([0-9]{2})$")


# ---------------------------------------------------------------------------- writing helpers


def _date(parent: etree._Element, path: str, value: date | None, kind: str = "udt:DateTimeString") -> None:
    """A date as format 102 (YYYYMMDD) inside its CII date-time wrapper."""
    if value is not None:
        _sub(parent, f"{path}/{kind}", value.strftime("%Y%m%d"), format="102")


def _identifier(parent: etree._Element, path: str, ident: Identifier | None) -> None:
    if ident is not None:
        _sub(parent, path, ident.value, schemeID=ident.scheme)


def _party_ids(parent: etree._Element, ids: list[Identifier]) -> None:
    """Party identifiers: without scheme as ram:ID, with a scheme (ISO 6523 ICD) as ram:GlobalID (the XSD puts IDs first)."""
    for ident in ids:
        if not ident.scheme:
            _sub(parent, "ram:ID", ident.value)
    for ident in ids:
        if ident.scheme:
            _sub(parent, "ram:GlobalID", ident.value, schemeID=ident.scheme)


def _tax_category(parent: etree._Element, category: str, rate: Decimal | None) -> None:
    _sub(parent, "ram:TypeCode", "VAT")
    _sub(parent, "ram:CategoryCode", category)
    _opt(parent, "ram:RateApplicablePercent", rate)


def _period(parent: etree._Element, period: Period | None) -> None:
    if period is not None:
        element = _sub(parent, "ram:BillingSpecifiedPeriod")
        _date(element, "ram:StartDateTime", period.start)
        _date(element, "ram:EndDateTime", period.end)


def _allowance_charges(
    parent: etree._Element, allowances: Sequence[AllowanceCharge | LineAllowanceCharge], charges: Sequence[AllowanceCharge | LineAllowanceCharge]
) -> None:
    """BG-20/21 or BG-27/28: the allowances, then the charges."""
    for allowance in allowances:
        _allowance_charge(parent, False, allowance)
    for charge in charges:
        _allowance_charge(parent, True, charge)


def _allowance_charge(parent: etree._Element, charge: bool, item: AllowanceCharge | LineAllowanceCharge) -> None:
    """BG-20/21 (with their VAT category) and BG-27/28: one ram:SpecifiedTradeAllowanceCharge."""
    element = _sub(parent, "ram:SpecifiedTradeAllowanceCharge")
    _sub(element, "ram:ChargeIndicator/udt:Indicator", "true" if charge else "false")
    _opt(element, "ram:CalculationPercent", item.percentage)
    _opt(element, "ram:BasisAmount", item.base_amount)
    _sub(element, "ram:ActualAmount", item.amount)
    _opt(element, "ram:ReasonCode", item.reason_code)
    _opt(element, "ram:Reason", item.reason)
    if isinstance(item, AllowanceCharge):
        _tax_category(_sub(element, "ram:CategoryTradeTax"), item.vat_category, item.vat_rate)


def _address(parent: etree._Element, address: Address | None) -> None:
    if address is None:
        return
    element = _sub(parent, "ram:PostalTradeAddress")
    _opt(element, "ram:PostcodeCode", address.postal_code)
    _opt(element, "ram:LineOne", address.line1)
    _opt(element, "ram:LineTwo", address.line2)
    _opt(element, "ram:LineThree", address.line3)
    _opt(element, "ram:CityName", address.city)
    _sub(element, "ram:CountryID", address.country_code)
    _opt(element, "ram:CountrySubDivisionName", address.country_subdivision)


def _contact(parent: etree._Element, contact: Contact | None) -> None:
    if contact is None:
        return
    element = _sub(parent, "ram:DefinedTradeContact")
    _opt(element, "ram:PersonName", contact.name)
    _opt(element, "ram:TelephoneUniversalCommunication/ram:CompleteNumber", contact.phone)
    _opt(element, "ram:EmailURIUniversalCommunication/ram:URIID", contact.email)


# ---------------------------------------------------------------------------- writing, one function per group


def _write_party(parent: etree._Element, tag: str, party: Party, seller: bool) -> None:
    """BG-4 seller / BG-7 buyer; BT-32 and BT-33 exist for the seller only."""
    element = _sub(parent, tag)
    _party_ids(element, party.identifiers)
    _sub(element, "ram:Name", party.name)
    _opt(element, "ram:Description", party.legal_info if seller else None)
    if party.legal_registration_id is not None or party.trading_name is not None:
        legal = _sub(element, "ram:SpecifiedLegalOrganization")
        _identifier(legal, "ram:ID", party.legal_registration_id)
        _opt(legal, "ram:TradingBusinessName", party.trading_name)
    _contact(element, party.contact)
    _address(element, party.address)
    if party.electronic_address is not None:
        _identifier(element, "ram:URIUniversalCommunication/ram:URIID", party.electronic_address)
    _opt(element, "ram:SpecifiedTaxRegistration/ram:ID", party.vat_id, schemeID="VA")
    _opt(element, "ram:SpecifiedTaxRegistration/ram:ID", party.tax_registration_id if seller else None, schemeID="FC")


def _write_tax_representative(parent: etree._Element, rep: TaxRepresentative | None) -> None:
    """BG-11."""
    if rep is not None:
        element = _sub(parent, "ram:SellerTaxRepresentativeTradeParty")
        _sub(element, "ram:Name", rep.name)
        _address(element, rep.address)
        _sub(element, "ram:SpecifiedTaxRegistration/ram:ID", rep.vat_id, schemeID="VA")


def _write_payee(parent: etree._Element, payee: Payee | None) -> None:
    """BG-10."""
    if payee is None:
        return
    element = _sub(parent, "ram:PayeeTradeParty")
    _party_ids(element, [payee.identifier] if payee.identifier else [])
    _sub(element, "ram:Name", payee.name)
    if payee.legal_registration_id is not None:
        _identifier(element, "ram:SpecifiedLegalOrganization/ram:ID", payee.legal_registration_id)


def _write_line(parent: etree._Element, line: InvoiceLine) -> None:
    """BG-25 with BG-26 … BG-32."""
    item = _sub(parent, "ram:IncludedSupplyChainTradeLineItem")
    doc = _sub(item, "ram:AssociatedDocumentLineDocument")
    _sub(doc, "ram:LineID", line.id)
    _opt(doc, "ram:IncludedNote/ram:Content", line.note)

    product = _sub(item, "ram:SpecifiedTradeProduct")
    _identifier(product, "ram:GlobalID", line.standard_item_id)
    _opt(product, "ram:SellerAssignedID", line.seller_item_id)
    _opt(product, "ram:BuyerAssignedID", line.buyer_item_id)
    _sub(product, "ram:Name", line.item_name)
    _opt(product, "ram:Description", line.item_description)
    for attribute in line.attributes:
        characteristic = _sub(product, "ram:ApplicableProductCharacteristic")
        _sub(characteristic, "ram:Description", attribute.name)
        _sub(characteristic, "ram:Value", attribute.value)
    for classification in line.classifications:
        _sub(
            product,
            "ram:DesignatedProductClassification/ram:ClassCode",
            classification.value,
            listID=classification.scheme,
            listVersionID=classification.version,
        )
    _opt(product, "ram:OriginTradeCountry/ram:ID", line.origin_country)

    agreement = _sub(item, "ram:SpecifiedLineTradeAgreement")
    _opt(agreement, "ram:BuyerOrderReferencedDocument/ram:LineID", line.order_line_reference)
    gross_price = line.gross_price
    if gross_price is None and line.price_discount is not None:
        gross_price = line.net_price + line.price_discount  # BT-148 = BT-146 + BT-147: CII holds the discount inside the gross price
    if gross_price is not None:
        gross = _sub(agreement, "ram:GrossPriceProductTradePrice")
        _sub(gross, "ram:ChargeAmount", gross_price)
        _opt(gross, "ram:BasisQuantity", line.base_quantity, unitCode=line.base_quantity_unit_code)
        if line.price_discount is not None:
            discount = _sub(gross, "ram:AppliedTradeAllowanceCharge")
            _sub(discount, "ram:ChargeIndicator/udt:Indicator", "false")
            _sub(discount, "ram:ActualAmount", line.price_discount)
    net = _sub(agreement, "ram:NetPriceProductTradePrice")
    _sub(net, "ram:ChargeAmount", line.net_price)
    _opt(net, "ram:BasisQuantity", line.base_quantity, unitCode=line.base_quantity_unit_code)

    _sub(item, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity", line.quantity, unitCode=line.unit_code)

    settlement = _sub(item, "ram:SpecifiedLineTradeSettlement")
    _tax_category(_sub(settlement, "ram:ApplicableTradeTax"), line.vat_category, line.vat_rate)
    _period(settlement, line.period)
    _allowance_charges(settlement, line.allowances, line.charges)
    _opt(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount", line.net_amount)
    obj = line.object_identifier
    if obj is not None:
        _write_referenced(settlement, obj.value, INVOICED_OBJECT_TYPE, reference_type=obj.scheme)
    _opt(settlement, "ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID", line.accounting_reference)


def _write_referenced(parent: etree._Element, issuer_id: str, type_code: str, reference_type: str | None = None) -> None:
    """A ram:AdditionalReferencedDocument that is an identifier, not an attachment (BT-17, BT-18, BT-128)."""
    element = _sub(parent, "ram:AdditionalReferencedDocument")
    _sub(element, "ram:IssuerAssignedID", issuer_id)
    _sub(element, "ram:TypeCode", type_code)
    _opt(element, "ram:ReferenceTypeCode", reference_type)


def _write_attachment(parent: etree._Element, doc: AttachedDocument) -> None:
    """BG-24 (the XSD order: IssuerAssignedID, URIID, TypeCode, Name, AttachmentBinaryObject)."""
    element = _sub(parent, "ram:AdditionalReferencedDocument")
    _sub(element, "ram:IssuerAssignedID", doc.id)
    _opt(element, "ram:URIID", doc.external_uri)
    _sub(element, "ram:TypeCode", doc.type_code or SUPPORTING_DOCUMENT_TYPE)
    _opt(element, "ram:Name", doc.description)
    if doc.content_base64 is not None or doc.mime_code is not None or doc.filename is not None:
        _sub(element, "ram:AttachmentBinaryObject", doc.content_base64 or "", mimeCode=doc.mime_code, filename=doc.filename)


def _write_agreement(parent: etree._Element, inv: Invoice) -> None:
    """Header trade agreement: BT-10, BG-4, BG-7, BG-11, BT-12…BT-14, BT-17, BT-18, BG-24, BT-11."""
    agreement = _sub(parent, "ram:ApplicableHeaderTradeAgreement")
    _opt(agreement, "ram:BuyerReference", inv.buyer_reference)
    _write_party(agreement, "ram:SellerTradeParty", inv.seller, seller=True)
    _write_party(agreement, "ram:BuyerTradeParty", inv.buyer, seller=False)
    _write_tax_representative(agreement, inv.tax_representative)
    _opt(agreement, "ram:SellerOrderReferencedDocument/ram:IssuerAssignedID", inv.sales_order_reference)
    _opt(agreement, "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID", inv.purchase_order_reference)
    _opt(agreement, "ram:ContractReferencedDocument/ram:IssuerAssignedID", inv.contract_reference)
    if inv.tender_reference is not None:
        _write_referenced(agreement, inv.tender_reference, TENDER_TYPE)
    if inv.invoiced_object_identifier is not None:
        obj = inv.invoiced_object_identifier
        _write_referenced(agreement, obj.value, INVOICED_OBJECT_TYPE, reference_type=obj.scheme)
    for doc in inv.attachments:  # after BT-17 and BT-18: a reader takes the first TypeCode 50 / 130 as those
        _write_attachment(agreement, doc)
    if inv.project_reference is not None:
        project = _sub(agreement, "ram:SpecifiedProcuringProject")
        _sub(project, "ram:ID", inv.project_reference)
        _sub(project, "ram:Name", "Project reference")  # mandatory in CII, no business term behind it


def _write_delivery(parent: etree._Element, inv: Invoice) -> None:
    """Header trade delivery: BG-13 (BT-70, BT-71, BT-72, BG-15), BT-16, BT-15."""
    delivery = _sub(parent, "ram:ApplicableHeaderTradeDelivery")
    d = inv.delivery
    if d is not None and (d.party_name is not None or d.location_id is not None or d.address is not None):
        ship_to = _sub(delivery, "ram:ShipToTradeParty")
        _party_ids(ship_to, [d.location_id] if d.location_id else [])
        _opt(ship_to, "ram:Name", d.party_name)
        _address(ship_to, d.address)
    if d is not None:
        _date(delivery, "ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime", d.date)
    _opt(delivery, "ram:DespatchAdviceReferencedDocument/ram:IssuerAssignedID", inv.despatch_advice_reference)
    _opt(delivery, "ram:ReceivingAdviceReferencedDocument/ram:IssuerAssignedID", inv.receiving_advice_reference)


def _write_payment_means(parent: etree._Element, payment: PaymentInstructions) -> None:
    """BG-16: one ram:SpecifiedTradeSettlementPaymentMeans per credit transfer account (at least one)."""
    for i, account in enumerate(payment.credit_transfers or [None]):
        means = _sub(parent, "ram:SpecifiedTradeSettlementPaymentMeans")
        _sub(means, "ram:TypeCode", payment.means_code)
        _opt(means, "ram:Information", payment.means_text)
        if i == 0 and payment.card is not None:
            card = _sub(means, "ram:ApplicableTradeSettlementFinancialCard")
            _sub(card, "ram:ID", payment.card.primary_account_number)
            _opt(card, "ram:CardholderName", payment.card.holder_name)
        if i == 0 and payment.direct_debit is not None:
            _opt(means, "ram:PayerPartyDebtorFinancialAccount/ram:IBANID", payment.direct_debit.debited_account_id)
        if account is not None:
            creditor = _sub(means, "ram:PayeePartyCreditorFinancialAccount")
            is_iban = IBAN.match(account.account_id) is not None
            _opt(creditor, "ram:IBANID", account.account_id if is_iban else None)
            _opt(creditor, "ram:AccountName", account.account_name)
            _opt(creditor, "ram:ProprietaryID", None if is_iban else account.account_id)
            _opt(means, "ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID", account.bank_id)


def _write_vat_breakdown(parent: etree._Element, inv: Invoice) -> None:
    """BG-23, with BT-7 and BT-8 carried on each VAT breakdown."""
    due_date_code = VAT_DUE_DATE_TO_CII.get(inv.vat_due_date_code or "", inv.vat_due_date_code)
    for entry in inv.vat_breakdown:
        tax = _sub(parent, "ram:ApplicableTradeTax")
        _opt(tax, "ram:CalculatedAmount", entry.tax_amount)
        _sub(tax, "ram:TypeCode", "VAT")
        _opt(tax, "ram:ExemptionReason", entry.exemption_reason)
        _opt(tax, "ram:BasisAmount", entry.taxable_amount)
        _sub(tax, "ram:CategoryCode", entry.category)
        # The VATEX list is upper case and CEN compares it case-insensitively; Factur-X does not.
        _opt(tax, "ram:ExemptionReasonCode", entry.exemption_reason_code.upper() if entry.exemption_reason_code else None)
        _date(tax, "ram:TaxPointDate", inv.tax_point_date, kind="udt:DateString")
        _opt(tax, "ram:DueDateTypeCode", due_date_code)
        _opt(tax, "ram:RateApplicablePercent", entry.rate)


def _tax_currency(inv: Invoice) -> str | None:
    """BT-6, unless it repeats BT-5: CII's BR-53 requires a VAT accounting currency other than the invoice currency."""
    return inv.tax_currency if inv.tax_currency != inv.currency else None


def _write_totals(parent: etree._Element, inv: Invoice) -> None:
    """BG-22 (BT-111 is a second TaxTotalAmount in the VAT accounting currency)."""
    t = inv.totals or Totals()
    summation = _sub(parent, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _opt(summation, "ram:LineTotalAmount", t.line_net_total)
    _opt(summation, "ram:ChargeTotalAmount", t.charge_total)
    _opt(summation, "ram:AllowanceTotalAmount", t.allowance_total)
    _opt(summation, "ram:TaxBasisTotalAmount", t.tax_exclusive_amount)
    _opt(summation, "ram:TaxTotalAmount", t.tax_amount, currencyID=inv.currency)
    if _tax_currency(inv) is not None:
        _opt(summation, "ram:TaxTotalAmount", t.tax_amount_accounting, currencyID=inv.tax_currency)
    _opt(summation, "ram:RoundingAmount", t.rounding_amount)
    _opt(summation, "ram:GrandTotalAmount", t.tax_inclusive_amount)
    _opt(summation, "ram:TotalPrepaidAmount", t.paid_amount)
    _opt(summation, "ram:DuePayableAmount", t.amount_due)


def _write_settlement(parent: etree._Element, inv: Invoice) -> None:
    """Header trade settlement: BT-90, BT-83, BT-6, BT-5, BG-10, BG-16, BG-23, BG-14, BG-20/21, BT-20/9/89, BG-22, BG-3, BT-19."""
    settlement = _sub(parent, "ram:ApplicableHeaderTradeSettlement")
    payment = inv.payment
    direct_debit = payment.direct_debit if payment is not None else None
    _opt(settlement, "ram:CreditorReferenceID", direct_debit.creditor_id if direct_debit else None)
    _opt(settlement, "ram:PaymentReference", payment.remittance_information if payment else None)
    _opt(settlement, "ram:TaxCurrencyCode", _tax_currency(inv))
    _sub(settlement, "ram:InvoiceCurrencyCode", inv.currency)
    _write_payee(settlement, inv.payee)
    if payment is not None and (payment.means_code or payment.credit_transfers or payment.card is not None):
        _write_payment_means(settlement, payment)  # not for a remittance reference (BT-83) or creditor id (BT-90) alone
    _write_vat_breakdown(settlement, inv)
    _period(settlement, inv.invoicing_period)
    _allowance_charges(settlement, inv.allowances, inv.charges)
    mandate = direct_debit.mandate_id if direct_debit else None
    if inv.payment_terms is not None or inv.due_date is not None or mandate is not None:
        terms = _sub(settlement, "ram:SpecifiedTradePaymentTerms")
        _opt(terms, "ram:Description", inv.payment_terms)
        _date(terms, "ram:DueDateDateTime", inv.due_date)
        _opt(terms, "ram:DirectDebitMandateID", mandate)
    _write_totals(settlement, inv)
    for preceding in inv.preceding_invoices:
        ref = _sub(settlement, "ram:InvoiceReferencedDocument")
        _sub(ref, "ram:IssuerAssignedID", preceding.number)
        _date(ref, "ram:FormattedIssueDateTime", preceding.issue_date, kind="qdt:DateTimeString")
    _opt(settlement, "ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID", inv.buyer_accounting_reference)


def write_cii(invoice: Invoice, profile: str = "en16931") -> bytes:
    """The CrossIndustryInvoice of `invoice` for a Factur-X profile; `complete()` is assumed to have run."""
    prof = get_profile(profile)
    root = etree.Element(_qname("rsm:CrossIndustryInvoice"), nsmap=NS)
    context = _sub(root, "rsm:ExchangedDocumentContext")
    _opt(context, "ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID", invoice.business_process)
    _sub(context, "ram:GuidelineSpecifiedDocumentContextParameter/ram:ID", prof.guideline_id)

    document = _sub(root, "rsm:ExchangedDocument")
    _sub(document, "ram:ID", invoice.number)
    _sub(document, "ram:TypeCode", invoice.type_code)
    _date(document, "ram:IssueDateTime", invoice.issue_date)
    for note in invoice.notes:
        element = _sub(document, "ram:IncludedNote")
        _sub(element, "ram:Content", note.text)
        _opt(element, "ram:SubjectCode", note.subject_code)

    transaction = _sub(root, "rsm:SupplyChainTradeTransaction")
    for line in invoice.lines:
        _write_line(transaction, line)
    _write_agreement(transaction, invoice)
    _write_delivery(transaction, invoice)
    _write_settlement(transaction, invoice)

    _prune(root, "CrossIndustryInvoiceType", _content_models(prof.name))
    for not_used in _not_used(prof.name):
        for element in not_used(root):
            element.getparent().remove(element)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# ---------------------------------------------------------------------------- profile pruning


@cache
def _content_models(profile: str) -> dict[str, dict[str, tuple[str, int | None]]]:
    """Per complex type of the profile's XSD: allowed child element → (its type's local name, maxOccurs or None)."""
    xs = "{http://www.w3.org/2001/XMLSchema}"
    main = XSD[f"cii-{profile}"]
    schemas = [(etree.parse(str(main)), RSM)]
    for imp in schemas[0][0].getroot().iter(f"{xs}import"):
        if imp.get("namespace") == RAM:
            schemas.append((etree.parse(str(main.parent / imp.get("schemaLocation"))), RAM))
    models: dict[str, dict[str, tuple[str, int | None]]] = {}
    for schema, namespace in schemas:
        for complex_type in schema.getroot().iter(f"{xs}complexType"):
            children = {}
            for el in complex_type.iter(f"{xs}element"):
                occurs = el.get("maxOccurs", "1")
                children[f"{{{namespace}}}{el.get('name')}"] = (el.get("type").split(":")[-1], None if occurs == "unbounded" else int(occurs))
            models[complex_type.get("name")] = children
    return models


def _prune(element: etree._Element, type_name: str, models: dict[str, dict[str, tuple[str, int | None]]]) -> None:
    """Remove the children (and the repetitions beyond maxOccurs) that the profile's content model does not allow."""
    model = models.get(type_name)
    if model is None:  # a data type (udt/qdt): text and attributes only
        return
    seen: dict[str, int] = {}
    for child in list(element):
        spec = model.get(child.tag)
        seen[child.tag] = seen.get(child.tag, 0) + 1
        if spec is None or (spec[1] is not None and seen[child.tag] > spec[1]):
            element.remove(child)
        else:
            _prune(child, spec[0], models)


@cache
def _not_used(profile: str) -> tuple[etree.XPath, ...]:
    """The contexts the profile's own stylesheet reports as "not used" although the XSD's shared types allow them.

    E.g. MINIMUM allows a postal address for the seller but not for the buyer; BASIC
    has no base amount or percentage on line allowances.
    """
    stylesheet = etree.parse(str(XSLT[f"FACTURX-{profile}"]))
    paths = []
    for template in stylesheet.getroot().iter("{http://www.w3.org/1999/XSL/Transform}template"):
        for report in template.iter(f"{{{SVRL}}}successful-report"):
            if report.get("test") == "true()" and "not used" in "".join(report.itertext()):
                paths.append(etree.XPath(template.get("match"), namespaces=NS))
    return tuple(paths)


# ---------------------------------------------------------------------------- reading helpers


def _amount(element: etree._Element | None, path: str) -> Decimal:
    """A mandatory decimal: as written ("0.00" stays "0.00"), 0 when absent from a partial document."""
    value = _decimal(element, path)
    return Decimal(0) if value is None else value


def _read_date(element: etree._Element | None, path: str) -> date | None:
    """A CII date (format 102, YYYYMMDD) in its wrapper (udt:DateTimeString, qdt:DateTimeString or udt:DateString)."""
    wrapper = _find(element, path)
    if wrapper is None:
        return None
    holder = next(wrapper.iterchildren(etree.Element), wrapper)
    text = content(holder).strip()
    if not text:
        return None
    fmt = holder.get("format", "102")
    match = DATE_102.match(text) if fmt == "102" else None
    try:
        if match is None:
            raise ValueError(text)
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        raise InputError(f"CII {path}: unsupported date {text!r} (format {fmt}); expected format 102, YYYYMMDD.") from None


def _read_party_ids(party: etree._Element | None) -> list[Identifier]:
    return [identifier_of(el) for el in _all(party, "ram:ID") + _all(party, "ram:GlobalID")]


def _read_address(element: etree._Element | None) -> Address | None:
    address = _find(element, "ram:PostalTradeAddress")
    if address is None:
        return None
    return Address(
        line1=_text(address, "ram:LineOne"),
        line2=_text(address, "ram:LineTwo"),
        line3=_text(address, "ram:LineThree"),
        city=_text(address, "ram:CityName"),
        postal_code=_code(address, "ram:PostcodeCode"),
        country_subdivision=_text(address, "ram:CountrySubDivisionName"),
        country_code=_code(address, "ram:CountryID") or "",
    )


def _read_period(element: etree._Element | None) -> Period | None:
    period = _find(element, "ram:BillingSpecifiedPeriod")
    if period is None:
        return None
    return Period(start=_read_date(period, "ram:StartDateTime"), end=_read_date(period, "ram:EndDateTime"))


def _tax_registration(party: etree._Element | None, scheme: str) -> str | None:
    for ident in _all(party, "ram:SpecifiedTaxRegistration/ram:ID"):
        if ident.get("schemeID") == scheme:
            return content(ident).strip()
    return None


# ---------------------------------------------------------------------------- reading, one function per group


def _read_party(party: etree._Element | None, seller: bool) -> Party:
    """BG-4 seller / BG-7 buyer; BT-32 and BT-33 exist for the seller only."""
    contact = _find(party, "ram:DefinedTradeContact")
    return Party(
        name=_text(party, "ram:Name") or "",
        trading_name=_text(party, "ram:SpecifiedLegalOrganization/ram:TradingBusinessName"),
        identifiers=_read_party_ids(party),
        legal_registration_id=_read_identifier(party, "ram:SpecifiedLegalOrganization/ram:ID"),
        vat_id=_tax_registration(party, "VA"),
        tax_registration_id=_tax_registration(party, "FC") if seller else None,
        legal_info=_text(party, "ram:Description") if seller else None,
        electronic_address=_read_identifier(party, "ram:URIUniversalCommunication/ram:URIID"),
        address=_read_address(party) or Address(country_code=""),
        contact=None
        if contact is None
        else Contact(
            name=_text(contact, "ram:PersonName") or _text(contact, "ram:DepartmentName"),
            phone=_text(contact, "ram:TelephoneUniversalCommunication/ram:CompleteNumber"),
            email=_code(contact, "ram:EmailURIUniversalCommunication/ram:URIID"),
        ),
    )


def _read_allowance_charges(parent: etree._Element | None, charge: bool) -> list[etree._Element]:
    """The ram:SpecifiedTradeAllowanceCharge children that are charges (or allowances)."""
    return CII.flagged(parent, "ram:SpecifiedTradeAllowanceCharge", "ram:ChargeIndicator/udt:Indicator", charge)


def _allowance_charge_terms(element: etree._Element) -> dict[str, Any]:
    """The terms shared by document (BG-20/21) and line (BG-27/28) allowances and charges."""
    return dict(
        amount=_amount(element, "ram:ActualAmount"),
        base_amount=_decimal(element, "ram:BasisAmount"),
        percentage=_decimal(element, "ram:CalculationPercent"),
        reason=_text(element, "ram:Reason"),
        reason_code=_code(element, "ram:ReasonCode"),
    )


def _read_document_allowance_charge(element: etree._Element) -> AllowanceCharge:
    """BG-20 / BG-21."""
    tax = _find(element, "ram:CategoryTradeTax")
    return AllowanceCharge(
        **_allowance_charge_terms(element), vat_category=_code(tax, "ram:CategoryCode") or "", vat_rate=_decimal(tax, "ram:RateApplicablePercent")
    )


def _read_line(item: etree._Element) -> InvoiceLine:
    """BG-25 with BG-26 … BG-32."""
    product = _find(item, "ram:SpecifiedTradeProduct")
    agreement = _find(item, "ram:SpecifiedLineTradeAgreement")
    gross = _find(agreement, "ram:GrossPriceProductTradePrice")
    net = _find(agreement, "ram:NetPriceProductTradePrice")
    settlement = _find(item, "ram:SpecifiedLineTradeSettlement")
    tax = _find(settlement, "ram:ApplicableTradeTax")
    quantity = _find(item, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity")
    basis = _find(net, "ram:BasisQuantity")
    if basis is None:
        basis = _find(gross, "ram:BasisQuantity")
    object_ref = next((d for d in _all(settlement, "ram:AdditionalReferencedDocument") if _code(d, "ram:TypeCode") == INVOICED_OBJECT_TYPE), None)
    return InvoiceLine(
        id=_code(item, "ram:AssociatedDocumentLineDocument/ram:LineID") or "",
        note=_text(item, "ram:AssociatedDocumentLineDocument/ram:IncludedNote/ram:Content"),
        quantity=_amount(item, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity"),
        unit_code=(quantity.get("unitCode") or "") if quantity is not None else "",
        net_price=_amount(net, "ram:ChargeAmount"),
        gross_price=_decimal(gross, "ram:ChargeAmount"),
        price_discount=_decimal(gross, "ram:AppliedTradeAllowanceCharge/ram:ActualAmount"),
        base_quantity=number(basis),
        base_quantity_unit_code=basis.get("unitCode") if basis is not None else None,
        item_name=_text(product, "ram:Name") or "",
        item_description=_text(product, "ram:Description"),
        seller_item_id=_code(product, "ram:SellerAssignedID"),
        buyer_item_id=_code(product, "ram:BuyerAssignedID"),
        standard_item_id=_read_identifier(product, "ram:GlobalID"),
        classifications=[
            Classification(value=content(c).strip(), scheme=c.get("listID") or "", version=c.get("listVersionID"))
            for c in _all(product, "ram:DesignatedProductClassification/ram:ClassCode")
        ],
        origin_country=_code(product, "ram:OriginTradeCountry/ram:ID"),
        attributes=[
            ItemAttribute(name=_text(c, "ram:Description") or "", value=_text(c, "ram:Value") or "")
            for c in _all(product, "ram:ApplicableProductCharacteristic")
        ],
        order_line_reference=_code(agreement, "ram:BuyerOrderReferencedDocument/ram:LineID"),
        vat_category=_code(tax, "ram:CategoryCode") or "",
        vat_rate=_decimal(tax, "ram:RateApplicablePercent"),
        period=_read_period(settlement),
        allowances=[LineAllowanceCharge(**_allowance_charge_terms(el)) for el in _read_allowance_charges(settlement, charge=False)],
        charges=[LineAllowanceCharge(**_allowance_charge_terms(el)) for el in _read_allowance_charges(settlement, charge=True)],
        net_amount=_decimal(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"),
        object_identifier=None
        if object_ref is None
        else Identifier(value=_code(object_ref, "ram:IssuerAssignedID") or "", scheme=_code(object_ref, "ram:ReferenceTypeCode")),
        accounting_reference=_code(settlement, "ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID"),
    )


def _read_references(agreement: etree._Element | None, invoice: Invoice) -> None:
    """AdditionalReferencedDocument: TypeCode 50 is BT-17, 130 is BT-18, anything else (916) an attachment of BG-24."""
    for doc in _all(agreement, "ram:AdditionalReferencedDocument"):
        type_code = _code(doc, "ram:TypeCode")
        issuer_id = _code(doc, "ram:IssuerAssignedID") or ""
        if type_code == TENDER_TYPE and invoice.tender_reference is None:
            invoice.tender_reference = issuer_id
        elif type_code == INVOICED_OBJECT_TYPE and invoice.invoiced_object_identifier is None:
            invoice.invoiced_object_identifier = Identifier(value=issuer_id, scheme=_code(doc, "ram:ReferenceTypeCode"))
        else:
            binary = _find(doc, "ram:AttachmentBinaryObject")
            invoice.attachments.append(
                AttachedDocument(
                    id=issuer_id,
                    description=_text(doc, "ram:Name"),
                    external_uri=_code(doc, "ram:URIID"),
                    content_base64=None if binary is None else "".join(content(binary).split()),
                    mime_code=None if binary is None else binary.get("mimeCode"),
                    filename=None if binary is None else binary.get("filename"),
                    type_code=type_code,
                )
            )


def _read_agreement(agreement: etree._Element | None, invoice: Invoice) -> None:
    """Header trade agreement: BT-10, BG-4, BG-7, BG-11, BT-11…BT-14, BT-17, BT-18, BG-24."""
    invoice.buyer_reference = _text(agreement, "ram:BuyerReference")
    invoice.seller = _read_party(_find(agreement, "ram:SellerTradeParty"), seller=True)
    invoice.buyer = _read_party(_find(agreement, "ram:BuyerTradeParty"), seller=False)
    rep = _find(agreement, "ram:SellerTaxRepresentativeTradeParty")
    if rep is not None:
        invoice.tax_representative = TaxRepresentative(
            name=_text(rep, "ram:Name") or "", vat_id=_tax_registration(rep, "VA") or "", address=_read_address(rep) or Address(country_code="")
        )
    invoice.sales_order_reference = _code(agreement, "ram:SellerOrderReferencedDocument/ram:IssuerAssignedID")
    invoice.purchase_order_reference = _code(agreement, "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID")
    invoice.contract_reference = _code(agreement, "ram:ContractReferencedDocument/ram:IssuerAssignedID")
    invoice.project_reference = _code(agreement, "ram:SpecifiedProcuringProject/ram:ID")
    _read_references(agreement, invoice)


def _read_delivery(delivery: etree._Element | None, invoice: Invoice) -> None:
    """Header trade delivery: BG-13 (BT-70, BT-71, BT-72, BG-15), BT-15, BT-16."""
    ship_to = _find(delivery, "ram:ShipToTradeParty")
    when = _read_date(delivery, "ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime")
    if ship_to is not None or when is not None:
        ids = _read_party_ids(ship_to)
        invoice.delivery = Delivery(
            party_name=_text(ship_to, "ram:Name"), location_id=ids[0] if ids else None, date=when, address=_read_address(ship_to)
        )
    invoice.despatch_advice_reference = _code(delivery, "ram:DespatchAdviceReferencedDocument/ram:IssuerAssignedID")
    invoice.receiving_advice_reference = _code(delivery, "ram:ReceivingAdviceReferencedDocument/ram:IssuerAssignedID")


def _read_payment(settlement: etree._Element | None, terms: list[etree._Element]) -> PaymentInstructions | None:
    """BG-16 … BG-19 from every ram:SpecifiedTradeSettlementPaymentMeans, BT-83, BT-89 and BT-90."""
    all_means = _all(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
    mandate = next((m for t in terms if (m := _code(t, "ram:DirectDebitMandateID"))), None)
    creditor_id = _code(settlement, "ram:CreditorReferenceID")
    debited = next((a for m in all_means if (a := _code(m, "ram:PayerPartyDebtorFinancialAccount/ram:IBANID"))), None)
    card = next((c for m in all_means if (c := _find(m, "ram:ApplicableTradeSettlementFinancialCard")) is not None), None)
    remittance = _text(settlement, "ram:PaymentReference")
    if not all_means and mandate is None and creditor_id is None and remittance is None:
        return None
    transfers = []
    for means in all_means:
        account = _find(means, "ram:PayeePartyCreditorFinancialAccount")
        if account is not None:
            transfers.append(
                CreditTransfer(
                    account_id=_code(account, "ram:IBANID") or _code(account, "ram:ProprietaryID") or "",
                    account_name=_text(account, "ram:AccountName"),
                    bank_id=_code(means, "ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID"),
                )
            )
    first = all_means[0] if all_means else None
    return PaymentInstructions(
        means_code=_code(first, "ram:TypeCode") or "",
        means_text=_text(first, "ram:Information"),
        remittance_information=remittance,
        credit_transfers=transfers,
        card=None if card is None else PaymentCard(primary_account_number=_code(card, "ram:ID") or "", holder_name=_text(card, "ram:CardholderName")),
        direct_debit=None
        if mandate is None and creditor_id is None and debited is None
        else DirectDebit(mandate_id=mandate, creditor_id=creditor_id, debited_account_id=debited),
    )


def _read_vat_breakdown(settlement: etree._Element | None, invoice: Invoice) -> None:
    """BG-23, and BT-7 / BT-8 from the first VAT breakdown that carries them."""
    for tax in _all(settlement, "ram:ApplicableTradeTax"):
        invoice.vat_breakdown.append(
            VatBreakdown(
                category=_code(tax, "ram:CategoryCode") or "",
                rate=_decimal(tax, "ram:RateApplicablePercent"),
                taxable_amount=_decimal(tax, "ram:BasisAmount"),
                tax_amount=_decimal(tax, "ram:CalculatedAmount"),
                exemption_reason=_text(tax, "ram:ExemptionReason"),
                exemption_reason_code=_code(tax, "ram:ExemptionReasonCode"),
            )
        )
        invoice.tax_point_date = invoice.tax_point_date or _read_date(tax, "ram:TaxPointDate")
        code = _code(tax, "ram:DueDateTypeCode")
        if invoice.vat_due_date_code is None and code:
            invoice.vat_due_date_code = VAT_DUE_DATE_FROM_CII.get(code, code)


def _read_totals(settlement: etree._Element | None, invoice: Invoice) -> Totals | None:
    """BG-22; of the TaxTotalAmounts, the one in the invoice currency is BT-110, the other BT-111."""
    summation = _find(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    if summation is None:
        return None
    totals = Totals(
        line_net_total=_decimal(summation, "ram:LineTotalAmount"),
        charge_total=_decimal(summation, "ram:ChargeTotalAmount"),
        allowance_total=_decimal(summation, "ram:AllowanceTotalAmount"),
        tax_exclusive_amount=_decimal(summation, "ram:TaxBasisTotalAmount"),
        rounding_amount=_decimal(summation, "ram:RoundingAmount"),
        tax_inclusive_amount=_decimal(summation, "ram:GrandTotalAmount"),
        paid_amount=_decimal(summation, "ram:TotalPrepaidAmount"),
        amount_due=_decimal(summation, "ram:DuePayableAmount"),
    )
    for amount in _all(summation, "ram:TaxTotalAmount"):
        if totals.tax_amount is None and amount.get("currencyID") in (None, invoice.currency):
            totals.tax_amount = number(amount)
        else:
            totals.tax_amount_accounting = number(amount)
    return totals


def _read_settlement(settlement: etree._Element | None, invoice: Invoice) -> None:
    """Header trade settlement: BT-5, BT-6, BG-10, BG-16, BG-23, BG-14, BG-20/21, BT-9, BT-20, BG-22, BG-3, BT-19."""
    invoice.currency = _code(settlement, "ram:InvoiceCurrencyCode") or ""
    invoice.tax_currency = _code(settlement, "ram:TaxCurrencyCode")
    payee = _find(settlement, "ram:PayeeTradeParty")
    if payee is not None:
        ids = _read_party_ids(payee)
        invoice.payee = Payee(
            name=_text(payee, "ram:Name") or "",
            identifier=ids[0] if ids else None,
            legal_registration_id=_read_identifier(payee, "ram:SpecifiedLegalOrganization/ram:ID"),
        )
    terms = _all(settlement, "ram:SpecifiedTradePaymentTerms")
    invoice.payment = _read_payment(settlement, terms)
    _read_vat_breakdown(settlement, invoice)
    invoice.invoicing_period = _read_period(settlement)
    invoice.allowances = [_read_document_allowance_charge(el) for el in _read_allowance_charges(settlement, charge=False)]
    invoice.charges = [_read_document_allowance_charge(el) for el in _read_allowance_charges(settlement, charge=True)]
    invoice.payment_terms = next((d for t in terms if (d := _text(t, "ram:Description")) is not None), None)
    invoice.due_date = next((d for t in terms if (d := _read_date(t, "ram:DueDateDateTime")) is not None), None)
    invoice.totals = _read_totals(settlement, invoice)
    invoice.preceding_invoices = [
        PrecedingInvoice(number=_code(ref, "ram:IssuerAssignedID") or "", issue_date=_read_date(ref, "ram:FormattedIssueDateTime"))
        for ref in _all(settlement, "ram:InvoiceReferencedDocument")
    ]
    invoice.buyer_accounting_reference = _code(settlement, "ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID")


def read_cii(tree: etree._ElementTree | etree._Element) -> Invoice:
    """The canonical invoice of a CrossIndustryInvoice tree (any EN 16931 CII); partial documents give partial invoices."""
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    if root.tag != _qname("rsm:CrossIndustryInvoice"):
        raise InputError(f"Not a CII CrossIndustryInvoice: root element is {root.tag}.")
    context = _find(root, "rsm:ExchangedDocumentContext")
    document = _find(root, "rsm:ExchangedDocument")
    transaction = _find(root, "rsm:SupplyChainTradeTransaction")
    invoice = Invoice(
        number=_code(document, "ram:ID") or "",
        type_code=_code(document, "ram:TypeCode") or "",
        business_process=_code(context, "ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID"),
        specification_id=_code(context, "ram:GuidelineSpecifiedDocumentContextParameter/ram:ID"),
        notes=[
            Note(text=_text(note, "ram:Content") or "", subject_code=_code(note, "ram:SubjectCode")) for note in _all(document, "ram:IncludedNote")
        ],
        lines=[_read_line(item) for item in _all(transaction, "ram:IncludedSupplyChainTradeLineItem")],
    )
    issue_date = _read_date(document, "ram:IssueDateTime")
    if issue_date is not None:
        invoice.issue_date = issue_date
    _read_agreement(_find(transaction, "ram:ApplicableHeaderTradeAgreement"), invoice)
    _read_delivery(_find(transaction, "ram:ApplicableHeaderTradeDelivery"), invoice)
    _read_settlement(_find(transaction, "ram:ApplicableHeaderTradeSettlement"), invoice)
    return invoice

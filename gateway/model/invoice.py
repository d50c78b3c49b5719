"""The canonical invoice: the EN 16931 semantic model as plain dataclasses.

This is the only structure the format mappers (JSON intake, CII, UBL, Factur-X)
share.  Every field names its business term (BT-/BG-) in its metadata; the intake
JSON Schema (`schemas/invoice.schema.json`) is generated from these fields, so the
JSON names an ERP sends are exactly the attribute names below.

Money, quantities, prices and rates are `Decimal`; dates are `datetime.date`.
Values are kept as given: totals are computed or checked by `model.totals`,
never silently rewritten here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any


def term(bt: str, doc: str, default: Any = None, **extra: Any) -> Any:
    """A dataclass field documented with its EN 16931 business term."""
    meta = {"bt": bt, "doc": doc, **extra}
    if isinstance(default, list):
        return field(default_factory=list, metadata=meta)
    if callable(default):
        return field(default_factory=default, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class Identifier:
    """An identifier with its optional scheme (ISO 6523 ICD, EAS, or another list)."""

    value: str = term("", "The identifier itself.", required=True)
    scheme: str | None = term("", "Scheme identifier (e.g. 0002 SIREN, 0009 SIRET, 0225 French e-address, 0088 GLN).")


@dataclass
class Address:
    """A postal address (BG-5, BG-8, BG-12, BG-15)."""

    line1: str | None = term("BT-35/50/64/75", "Address line 1.")
    line2: str | None = term("BT-36/51/65/76", "Address line 2.")
    line3: str | None = term("BT-162/163/164/165", "Address line 3.")
    city: str | None = term("BT-37/52/66/77", "City.")
    postal_code: str | None = term("BT-38/53/67/78", "Post code.")
    country_subdivision: str | None = term("BT-39/54/68/79", "Country subdivision (region, department).")
    country_code: str = term("BT-40/55/69/80", "ISO 3166-1 alpha-2 country code.", "FR", required=True)


@dataclass
class Contact:
    """A contact person or department (BG-6, BG-9)."""

    name: str | None = term("BT-41/56", "Contact point (person or department).")
    phone: str | None = term("BT-42/57", "Telephone number.")
    email: str | None = term("BT-43/58", "E-mail address.")


@dataclass
class Party:
    """Seller (BG-4) or buyer (BG-7).

    Business terms by role — seller / buyer: name BT-27/BT-44, trading name BT-28/BT-45,
    identifiers BT-29/BT-46, legal registration (SIREN, scheme 0002) BT-30/BT-47,
    VAT identifier BT-31/BT-48, electronic address BT-34/BT-49.
    """

    name: str = term("BT-27/44", "Legal name.", "", required=True)
    trading_name: str | None = term("BT-28/45", "Trading name, if different from the legal name.")
    identifiers: list[Identifier] = term("BT-29/46", "Other identifiers (e.g. SIRET with scheme 0009, GLN with 0088).", [])
    legal_registration_id: Identifier | None = term("BT-30/47", "Legal registration identifier; in France the SIREN with scheme 0002.")
    vat_id: str | None = term("BT-31/48", "VAT identifier with its country prefix (e.g. FR32123456789).")
    tax_registration_id: str | None = term("BT-32", "Seller's local tax registration identifier (scheme FC).")
    legal_info: str | None = term("BT-33", "Additional legal information (legal form, share capital, RCS).")
    electronic_address: Identifier | None = term(
        "BT-34/49", "Electronic address with its EAS scheme (0225 for the French directory address, 0009 SIRET, EM e-mail)."
    )
    address: Address = term("BG-5/8", "Postal address.", Address)
    contact: Contact | None = term("BG-6/9", "Contact.")


@dataclass
class Payee:
    """Payee, when different from the seller (BG-10)."""

    name: str = term("BT-59", "Payee name.", "", required=True)
    identifier: Identifier | None = term("BT-60", "Payee identifier.")
    legal_registration_id: Identifier | None = term("BT-61", "Payee legal registration identifier.")


@dataclass
class TaxRepresentative:
    """Seller's tax representative (BG-11)."""

    name: str = term("BT-62", "Tax representative name.", "", required=True)
    vat_id: str = term("BT-63", "Tax representative VAT identifier.", "", required=True)
    address: Address = term("BG-12", "Tax representative postal address.", Address)


@dataclass
class Delivery:
    """Delivery information (BG-13)."""

    party_name: str | None = term("BT-70", "Name of the party to which goods and services are delivered.")
    location_id: Identifier | None = term("BT-71", "Deliver-to location identifier.")
    date: date | None = term("BT-72", "Actual delivery date.")
    address: Address | None = term("BG-15", "Deliver-to address.")


@dataclass
class Period:
    """A period (BG-14 invoicing period, BG-26 line period)."""

    start: date | None = term("BT-73/134", "Start date.")
    end: date | None = term("BT-74/135", "End date.")


@dataclass
class Note:
    """An invoice note (BG-1); French mandatory notes use the subject codes PMT, PMD and AAB."""

    text: str = term("BT-22", "Note text.", "", required=True)
    subject_code: str | None = term("BT-21", "Subject code (UNTDID 4451), e.g. PMT, PMD, AAB, REG, TXD.")


@dataclass
class PrecedingInvoice:
    """Reference to a preceding invoice (BG-3), mandatory on credit notes."""

    number: str = term("BT-25", "Preceding invoice number.", "", required=True)
    issue_date: date | None = term("BT-26", "Preceding invoice issue date.")


@dataclass
class CreditTransfer:
    """A credit transfer account (BG-17)."""

    account_id: str = term("BT-84", "Payment account identifier (IBAN for SEPA).", "", required=True)
    account_name: str | None = term("BT-85", "Payment account name.")
    bank_id: str | None = term("BT-86", "Payment service provider identifier (BIC).")


@dataclass
class PaymentCard:
    """Payment card information (BG-18)."""

    primary_account_number: str = term("BT-87", "Last 4-6 digits of the card number.", "", required=True)
    holder_name: str | None = term("BT-88", "Card holder name.")


@dataclass
class DirectDebit:
    """Direct debit (BG-19)."""

    mandate_id: str | None = term("BT-89", "Mandate reference identifier.")
    creditor_id: str | None = term("BT-90", "Bank assigned creditor identifier (SEPA creditor id).")
    debited_account_id: str | None = term("BT-91", "Debited account identifier (IBAN).")


@dataclass
class PaymentInstructions:
    """Payment instructions (BG-16)."""

    means_code: str = term("BT-81", "Payment means type code (UNTDID 4461): 30/58 transfer, 49/59 direct debit, 48 card.", "58", required=True)
    means_text: str | None = term("BT-82", "Payment means text.")
    remittance_information: str | None = term("BT-83", "Remittance information (payment reference).")
    credit_transfers: list[CreditTransfer] = term("BG-17", "Credit transfer accounts.", [])
    card: PaymentCard | None = term("BG-18", "Payment card.")
    direct_debit: DirectDebit | None = term("BG-19", "Direct debit.")
    link: str | None = term(
        "",
        "A page where the buyer pays online (https), printed on the readable page and offered in reminders. No EN 16931 term "
        "carries it: it is not written in the CII or the UBL.",
        schema={"pattern": r"^https://[^\s/?#]+[^\s]*$", "maxLength": 2000},
    )


@dataclass
class AllowanceCharge:
    """A document-level allowance (BG-20) or charge (BG-21)."""

    amount: Decimal = term("BT-92/99", "Amount, without VAT.", Decimal("0"), required=True)
    base_amount: Decimal | None = term("BT-93/100", "Base amount the percentage applies to.")
    percentage: Decimal | None = term("BT-94/101", "Percentage.")
    vat_category: str = term("BT-95/102", "VAT category code of the allowance or charge.", "S", required=True)
    vat_rate: Decimal | None = term("BT-96/103", "VAT rate (percent).")
    reason: str | None = term("BT-97/104", "Reason.")
    reason_code: str | None = term("BT-98/105", "Reason code (UNTDID 5189 for allowances, 7161 for charges).")


@dataclass
class LineAllowanceCharge:
    """A line-level allowance (BG-27) or charge (BG-28)."""

    amount: Decimal = term("BT-136/141", "Amount, without VAT.", Decimal("0"), required=True)
    base_amount: Decimal | None = term("BT-137/142", "Base amount the percentage applies to.")
    percentage: Decimal | None = term("BT-138/143", "Percentage.")
    reason: str | None = term("BT-139/144", "Reason.")
    reason_code: str | None = term("BT-140/145", "Reason code.")


@dataclass
class ItemAttribute:
    """An item attribute (BG-32)."""

    name: str = term("BT-160", "Attribute name.", "", required=True)
    value: str = term("BT-161", "Attribute value.", "", required=True)


@dataclass
class Classification:
    """An item classification identifier (BT-158)."""

    value: str = term("BT-158", "Classification code.", "", required=True)
    scheme: str = term("BT-158-1", "Classification scheme (UNTDID 7143, e.g. STI, CV).", "", required=True)
    version: str | None = term("BT-158-2", "Scheme version.")


@dataclass
class InvoiceLine:
    """An invoice line (BG-25)."""

    id: str = term("BT-126", "Line identifier, unique within the invoice.", "", required=True)
    quantity: Decimal = term("BT-129", "Invoiced quantity.", Decimal("0"), required=True)
    unit_code: str = term("BT-130", "Unit of measure (UN/ECE Rec 20/21), e.g. C62 unit, HUR hour, KGM kilogram.", "C62", required=True)
    net_price: Decimal = term("BT-146", "Item net price (after price discount), per base quantity.", Decimal("0"), required=True)
    item_name: str = term("BT-153", "Item name.", "", required=True)
    vat_category: str = term("BT-151", "VAT category code (UNTCL 5305): S, Z, E, AE, K, G, O, L, M.", "S", required=True)
    vat_rate: Decimal | None = term("BT-152", "VAT rate (percent).")
    net_amount: Decimal | None = term("BT-131", "Line net amount; computed as quantity × price / base quantity − allowances + charges when absent.")
    note: str | None = term("BT-127", "Line note.")
    object_identifier: Identifier | None = term("BT-128", "Invoiced object identifier (with scheme).")
    order_line_reference: str | None = term("BT-132", "Referenced purchase order line.")
    accounting_reference: str | None = term("BT-133", "Buyer accounting reference.")
    period: Period | None = term("BG-26", "Line period.")
    allowances: list[LineAllowanceCharge] = term("BG-27", "Line allowances.", [])
    charges: list[LineAllowanceCharge] = term("BG-28", "Line charges.", [])
    price_discount: Decimal | None = term("BT-147", "Price discount (gross price − net price).")
    gross_price: Decimal | None = term("BT-148", "Item gross price.")
    base_quantity: Decimal | None = term("BT-149", "Price base quantity (default 1).")
    base_quantity_unit_code: str | None = term("BT-150", "Unit of the price base quantity.")
    item_description: str | None = term("BT-154", "Item description.")
    seller_item_id: str | None = term("BT-155", "Seller's item identifier.")
    buyer_item_id: str | None = term("BT-156", "Buyer's item identifier.")
    standard_item_id: Identifier | None = term("BT-157", "Item standard identifier (e.g. GTIN, scheme 0160).")
    classifications: list[Classification] = term("BT-158", "Item classification identifiers.", [])
    origin_country: str | None = term("BT-159", "Item country of origin.")
    attributes: list[ItemAttribute] = term("BG-32", "Item attributes.", [])


@dataclass
class VatBreakdown:
    """One VAT breakdown per (category, rate) (BG-23).

    An ERP may send an entry with only category, rate and exemption reason: the
    amounts are then computed from the lines.
    """

    category: str = term("BT-118", "VAT category code.", "S", required=True)
    rate: Decimal | None = term("BT-119", "VAT category rate (percent).")
    taxable_amount: Decimal | None = term("BT-116", "VAT category taxable amount; computed from the lines when absent.")
    tax_amount: Decimal | None = term("BT-117", "VAT category tax amount; computed when absent.")
    exemption_reason: str | None = term("BT-120", "VAT exemption reason text.")
    exemption_reason_code: str | None = term("BT-121", "VAT exemption reason code (VATEX list).")


@dataclass
class Totals:
    """Document totals (BG-22); each one is computed when absent and checked when given."""

    line_net_total: Decimal | None = term("BT-106", "Sum of invoice line net amounts.")
    allowance_total: Decimal | None = term("BT-107", "Sum of allowances on document level.")
    charge_total: Decimal | None = term("BT-108", "Sum of charges on document level.")
    tax_exclusive_amount: Decimal | None = term("BT-109", "Invoice total amount without VAT.")
    tax_amount: Decimal | None = term("BT-110", "Invoice total VAT amount, in the invoice currency.")
    tax_amount_accounting: Decimal | None = term("BT-111", "Invoice total VAT amount in the VAT accounting currency (BT-6).")
    tax_inclusive_amount: Decimal | None = term("BT-112", "Invoice total amount with VAT.")
    paid_amount: Decimal | None = term("BT-113", "Paid amount (prepayments).")
    rounding_amount: Decimal | None = term("BT-114", "Rounding amount.")
    amount_due: Decimal | None = term("BT-115", "Amount due for payment.")


@dataclass
class AttachedDocument:
    """An additional supporting document (BG-24)."""

    id: str = term("BT-122", "Supporting document reference.", "", required=True)
    description: str | None = term("BT-123", "Supporting document description.")
    external_uri: str | None = term("BT-124", "External document location (URL).")
    content_base64: str | None = term("BT-125", "Attached document, base64-encoded.")
    mime_code: str | None = term("BT-125-1", "MIME code of the attached document (application/pdf, image/png, text/csv …).")
    filename: str | None = term("BT-125-2", "File name of the attached document.")
    type_code: str | None = term("", "Document type code (UNTDID 1001): 130 invoiced object, 50 tender/lot, 916 supporting document.")


@dataclass
class Invoice:
    """An invoice or credit note (EN 16931 BG-0)."""

    number: str = term("BT-1", "Invoice number: ≤35 characters, letters, digits, space, - + _ /.", "", required=True)
    issue_date: date = term("BT-2", "Invoice issue date (ISO 8601).", date(2000, 1, 1), required=True)
    type_code: str = term(
        "BT-3",
        "Invoice type code (UNTDID 1001): 380 invoice, 381 credit note, 384 corrective, 386 down payment, "
        "389 self-billed, 393 factored, 261, 396, 471-473, 500-503.",
        "380",
        required=True,
    )
    currency: str = term("BT-5", "Invoice currency (ISO 4217).", "EUR", required=True)
    seller: Party = term("BG-4", "Seller.", Party, required=True)
    buyer: Party = term("BG-7", "Buyer.", Party, required=True)
    lines: list[InvoiceLine] = term("BG-25", "Invoice lines (at least one).", [], required=True)
    tax_currency: str | None = term("BT-6", "VAT accounting currency, when different from the invoice currency (EUR in France).")
    tax_point_date: date | None = term("BT-7", "Value added tax point date.")
    vat_due_date_code: str | None = term(
        "BT-8", "VAT point date code (UNTDID 2005): 3 invoice date (French option for VAT on debits), 35 delivery date, 432 payment date."
    )
    due_date: date | None = term("BT-9", "Payment due date.")
    buyer_reference: str | None = term("BT-10", "Buyer reference (Chorus Pro service code, Leitweg-ID …).")
    project_reference: str | None = term("BT-11", "Project reference.")
    contract_reference: str | None = term("BT-12", "Contract reference.")
    purchase_order_reference: str | None = term("BT-13", "Purchase order reference (Chorus Pro legal commitment number).")
    sales_order_reference: str | None = term("BT-14", "Sales order reference.")
    receiving_advice_reference: str | None = term("BT-15", "Receiving advice reference.")
    despatch_advice_reference: str | None = term("BT-16", "Despatch advice reference.")
    tender_reference: str | None = term("BT-17", "Tender or lot reference.")
    invoiced_object_identifier: Identifier | None = term("BT-18", "Invoiced object identifier.")
    buyer_accounting_reference: str | None = term("BT-19", "Buyer accounting reference.")
    payment_terms: str | None = term("BT-20", "Payment terms (text).")
    notes: list[Note] = term("BG-1", "Invoice notes; French invoices carry PMT, PMD and AAB notes.", [])
    business_process: str | None = term(
        "BT-23", "Business process type; in France the billing frame (cadre de facturation) B1, S1, M1, B2, S2, M2, B4, S4, M4, S5, S6, B7, S7."
    )
    specification_id: str | None = term("BT-24", "Specification identifier (profile); set by the writer when absent.")
    preceding_invoices: list[PrecedingInvoice] = term("BG-3", "Preceding invoice references (credit notes, corrective invoices).", [])
    payee: Payee | None = term("BG-10", "Payee, when different from the seller.")
    tax_representative: TaxRepresentative | None = term("BG-11", "Seller's tax representative.")
    delivery: Delivery | None = term("BG-13", "Delivery information.")
    invoicing_period: Period | None = term("BG-14", "Invoicing period.")
    payment: PaymentInstructions | None = term("BG-16", "Payment instructions.")
    allowances: list[AllowanceCharge] = term("BG-20", "Document-level allowances.", [])
    charges: list[AllowanceCharge] = term("BG-21", "Document-level charges.", [])
    totals: Totals | None = term("BG-22", "Document totals; computed when absent, checked (BR-CO-10…16) when given.")
    vat_breakdown: list[VatBreakdown] = term("BG-23", "VAT breakdown; computed when absent, checked (BR-CO-17) when given.", [])
    attachments: list[AttachedDocument] = term("BG-24", "Additional supporting documents.", [])

    @property
    def is_credit_note(self) -> bool:
        """UNTDID 1001 credit-note codes: written as a UBL CreditNote."""
        return self.type_code in CREDIT_NOTE_TYPE_CODES


CREDIT_NOTE_TYPE_CODES = frozenset({"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532", "502", "503"})
"""Type codes that UBL carries in a CreditNote document (the UBL CreditNote code list)."""

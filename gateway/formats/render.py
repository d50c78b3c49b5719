"""The readable view of an invoice: an A4 PDF/A-3B laid out with fpdf2.

This is the human half of a Factur-X (`formats.facturx` embeds the CII, the machine
half).  In France a tax auditor asks for the readable view, so it shows every
mandatory mention (art. 242 nonies A ann. II CGI) the canonical invoice carries.

PDF/A-3 asks for embedded fonts (DejaVu Sans and a fallback chain for the scripts it lacks ship in
`fonts/`, see `formats.typefaces`; fpdf2 subset-embeds them), an sRGB OutputIntent (fpdf2 adds its built-in sRGB2014 profile when PDF/A
compliance is enforced), opaque colours only, a file ID and pdfaid XMP.

Text is wrapped and placed by this module with `FPDF.text()` rather than
`multi_cell()`: fpdf2's line breaker costs ~2 ms a call, which made a 5,000-line
invoice take half a minute.  Text that DejaVu Sans draws as it is (nearly all) takes that path; text
with characters from the fallback fonts, or in a script that needs shaping (Arabic, Hebrew …), is
measured and drawn by fpdf2 with its fallback fonts and HarfBuzz shaping, line by line.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from fontTools import ttLib
from fpdf import FPDF
from fpdf.enums import TextEmphasis
from fpdf.fonts import SubsetMap

from gateway.formats.payment_code import modules, transfer_request
from gateway.formats.typefaces import FALLBACKS, FONT_DIR, PRIMARY, check_drawable, fallback_face, parsed_font, plain_chars
from gateway.model.invoice import (
    Address,
    AllowanceCharge,
    Delivery,
    Identifier,
    Invoice,
    InvoiceLine,
    LineAllowanceCharge,
    Party,
    PaymentInstructions,
    Totals,
    VatBreakdown,
)

FAMILY = PRIMARY.family

Colour = tuple[int, int, int]
INK: Colour = (33, 37, 41)
MUTED: Colour = (104, 112, 120)
ACCENT: Colour = (22, 60, 110)
RULE: Colour = (214, 219, 224)
SHADE: Colour = (239, 242, 246)
WHITE: Colour = (255, 255, 255)

BODY = 8.5  # points
SMALL = 7.2
TINY = 6.5
MARGIN = 15.0  # millimetres
PAD = 1.4  # vertical padding of table rows and boxes
PADX = 1.2  # horizontal padding inside cells
GAP = 4.5  # space between sections
FOOTER_HEIGHT = 14.0
FOOTER_LINES = 3
PT = 25.4 / 72  # millimetres per point


def line_height(size: float) -> float:
    """Line height in millimetres for a font size in points."""
    return size * PT * 1.32


# ---------------------------------------------------------------- wording

LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "number": "N°",
        "date": "Date",
        "due_date": "Échéance",
        "page": "Page {page} / {pages}",
        "continued": "{title} {number} du {date} (suite)",
        "bill_to": "FACTURÉ À",
        "deliver_to": "LIVRAISON",
        "vat_id": "N° TVA",
        "tax_registration": "N° fiscal",
        "e_address": "Adresse électronique",
        "phone": "Tél.",
        "location": "Lieu",
        "delivery_date": "Date de livraison",
        "buyer_reference": "Référence acheteur",
        "purchase_order": "Bon de commande",
        "contract": "Contrat",
        "project": "Projet",
        "sales_order": "Commande vendeur",
        "receiving_advice": "Avis de réception",
        "despatch_advice": "Avis d'expédition",
        "tender": "Appel d'offres / lot",
        "invoiced_object": "Objet facturé",
        "accounting_reference": "Imputation comptable",
        "invoicing_period": "Période de facturation",
        "period": "{start} – {end}",
        "period_from": "à partir du {start}",
        "period_until": "jusqu'au {end}",
        "tax_point_date": "Date d'exigibilité de la TVA",
        "preceding": "Facture d'origine",
        "preceding_dated": "{number} du {date}",
        "attachments": "Pièces jointes",
        "currency": "Devise",
        "tax_currency": "Devise de TVA",
        "col_id": "N°",
        "col_description": "Désignation",
        "col_quantity": "Qté",
        "col_unit": "Unité",
        "col_price": "Prix unit. HT",
        "col_vat": "TVA",
        "col_net": "Montant HT",
        "seller_item": "Réf.",
        "buyer_item": "Réf. acheteur",
        "standard_item": "Code article",
        "classification": "Classification",
        "origin": "Origine",
        "order_line": "Ligne de commande",
        "object": "Objet",
        "gross_price": "Prix brut {gross}, remise sur prix {discount}",
        "gross_only": "Prix brut {gross}",
        "base_quantity": "Prix pour {quantity} {unit}",
        "allowance": "Remise",
        "charge": "Frais",
        "percent_of": "{percent} de {base}",
        "vat_breakdown": "Récapitulatif de la TVA",
        "col_category": "Catégorie",
        "col_rate": "Taux",
        "col_taxable": "Base HT",
        "col_tax": "TVA",
        "line_total": "Total des lignes HT",
        "totals": "Totaux",
        "total_ht": "Total HT",
        "total_vat": "Total TVA",
        "total_vat_in": "Total TVA en {currency}",
        "total_ttc": "Total TTC",
        "paid": "Déjà payé",
        "rounding": "Arrondi",
        "amount_due": "Net à payer",
        "payment": "Règlement",
        "payment_means": "Mode de paiement",
        "iban": "IBAN",
        "account": "Compte",
        "bic": "BIC",
        "account_name": "Titulaire du compte",
        "card": "Carte",
        "card_holder": "Titulaire de la carte",
        "mandate": "Référence du mandat",
        "creditor_id": "Identifiant créancier SEPA",
        "debited_account": "Compte débité",
        "remittance": "Référence à rappeler",
        "pay_online": "Payer en ligne",
        "pay_by_code": "Payer par virement SEPA : scannez ce code avec l'application de votre banque (IBAN, montant et référence remplis)",
        "payment_terms": "Conditions de paiement",
        "payee": "Bénéficiaire du paiement",
        "mentions": "Mentions et conditions",
        "debit_option": "Option pour le paiement de la taxe d'après les débits",
        "vat_on_delivery": "TVA exigible à la livraison",
        "vat_on_payment": "TVA exigible à l'encaissement",
        "operation_category": "Catégorie de l'opération",
        "billing_frame": "Cadre de facturation",
        "business_process": "Processus",
        "reverse_charge": "Autoliquidation",
        "tax_representative": "Représentant fiscal",
    },
    "en": {
        "number": "No.",
        "date": "Date",
        "due_date": "Due date",
        "page": "Page {page} / {pages}",
        "continued": "{title} {number} of {date} (continued)",
        "bill_to": "BILL TO",
        "deliver_to": "DELIVER TO",
        "vat_id": "VAT",
        "tax_registration": "Tax registration",
        "e_address": "Electronic address",
        "phone": "Tel.",
        "location": "Location",
        "delivery_date": "Delivery date",
        "buyer_reference": "Buyer reference",
        "purchase_order": "Purchase order",
        "contract": "Contract",
        "project": "Project",
        "sales_order": "Sales order",
        "receiving_advice": "Receiving advice",
        "despatch_advice": "Despatch advice",
        "tender": "Tender / lot",
        "invoiced_object": "Invoiced object",
        "accounting_reference": "Accounting reference",
        "invoicing_period": "Invoicing period",
        "period": "{start} – {end}",
        "period_from": "from {start}",
        "period_until": "until {end}",
        "tax_point_date": "VAT point date",
        "preceding": "Preceding invoice",
        "preceding_dated": "{number} of {date}",
        "attachments": "Attachments",
        "currency": "Currency",
        "tax_currency": "VAT currency",
        "col_id": "#",
        "col_description": "Description",
        "col_quantity": "Qty",
        "col_unit": "Unit",
        "col_price": "Unit price",
        "col_vat": "VAT",
        "col_net": "Net amount",
        "seller_item": "Ref.",
        "buyer_item": "Buyer ref.",
        "standard_item": "Item code",
        "classification": "Classification",
        "origin": "Origin",
        "order_line": "Order line",
        "object": "Object",
        "gross_price": "Gross price {gross}, price discount {discount}",
        "gross_only": "Gross price {gross}",
        "base_quantity": "Price per {quantity} {unit}",
        "allowance": "Allowance",
        "charge": "Charge",
        "percent_of": "{percent} of {base}",
        "vat_breakdown": "VAT breakdown",
        "col_category": "Category",
        "col_rate": "Rate",
        "col_taxable": "Tax base",
        "col_tax": "VAT",
        "line_total": "Sum of line amounts",
        "totals": "Totals",
        "total_ht": "Total excl. VAT",
        "total_vat": "Total VAT",
        "total_vat_in": "Total VAT in {currency}",
        "total_ttc": "Total incl. VAT",
        "paid": "Paid",
        "rounding": "Rounding",
        "amount_due": "Amount due",
        "payment": "Payment",
        "payment_means": "Payment means",
        "iban": "IBAN",
        "account": "Account",
        "bic": "BIC",
        "account_name": "Account name",
        "card": "Card",
        "card_holder": "Card holder",
        "mandate": "Mandate reference",
        "creditor_id": "SEPA creditor identifier",
        "debited_account": "Debited account",
        "remittance": "Payment reference",
        "pay_online": "Pay online",
        "pay_by_code": "Pay by SEPA credit transfer: scan this code with your banking app (IBAN, amount and reference filled in)",
        "payment_terms": "Payment terms",
        "payee": "Payee",
        "mentions": "Terms and legal mentions",
        "debit_option": "VAT paid on debits (option pour le paiement de la taxe d'après les débits)",
        "vat_on_delivery": "VAT due on delivery",
        "vat_on_payment": "VAT due on payment",
        "operation_category": "Category of operation",
        "billing_frame": "Billing frame",
        "business_process": "Business process",
        "reverse_charge": "Reverse charge (autoliquidation)",
        "tax_representative": "Tax representative",
    },
}

# Document titles by type code (UNTDID 1001, French subset A7 G1.01).
TITLES: dict[str, dict[str, str]] = {
    "fr": {
        "380": "Facture",
        "389": "Facture autofacturée",
        "393": "Facture affacturée",
        "501": "Facture autofacturée affacturée",
        "386": "Facture d'acompte",
        "500": "Facture d'acompte autofacturée",
        "384": "Facture rectificative",
        "471": "Facture rectificative autofacturée",
        "472": "Facture rectificative affacturée",
        "473": "Facture rectificative autofacturée affacturée",
        "381": "Avoir",
        "261": "Avoir autofacturé",
        "262": "Avoir pour remise globale",
        "396": "Avoir affacturé",
        "502": "Avoir autofacturé affacturé",
        "503": "Avoir sur facture d'acompte",
        "invoice": "Facture",
        "credit_note": "Avoir",
    },
    "en": {
        "380": "Invoice",
        "389": "Self-billed invoice",
        "393": "Factored invoice",
        "501": "Self-billed factored invoice",
        "386": "Prepayment invoice",
        "500": "Self-billed prepayment invoice",
        "384": "Corrective invoice",
        "471": "Self-billed corrective invoice",
        "472": "Factored corrective invoice",
        "473": "Self-billed factored corrective invoice",
        "381": "Credit note",
        "261": "Self-billed credit note",
        "262": "Credit note for global discount",
        "396": "Factored credit note",
        "502": "Self-billed factored credit note",
        "503": "Credit note for prepayment invoice",
        "invoice": "Invoice",
        "credit_note": "Credit note",
    },
}

# VAT category codes (UNTDID 5305) as printed in the VAT breakdown.
VAT_CATEGORIES: dict[str, dict[str, str]] = {
    "fr": {
        "S": "Soumis à la TVA",
        "Z": "Taux zéro",
        "E": "Exonération",
        "AE": "Autoliquidation",
        "K": "Livraison intracommunautaire",
        "G": "Exportation hors UE",
        "O": "Hors champ de la TVA",
        "L": "IGIC (Canaries)",
        "M": "IPSI (Ceuta et Melilla)",
    },
    "en": {
        "S": "Standard rated",
        "Z": "Zero rated",
        "E": "Exempt",
        "AE": "Reverse charge",
        "K": "Intra-community supply",
        "G": "Export outside the EU",
        "O": "Not subject to VAT",
        "L": "IGIC (Canary Islands)",
        "M": "IPSI (Ceuta and Melilla)",
    },
}

# Payment means (UNTDID 4461), the codes French invoices use.
PAYMENT_MEANS: dict[str, dict[str, str]] = {
    "fr": {
        "1": "Non défini",
        "10": "Espèces",
        "20": "Chèque",
        "30": "Virement",
        "31": "Virement",
        "42": "Paiement sur compte bancaire",
        "48": "Carte bancaire",
        "49": "Prélèvement",
        "57": "Ordre permanent",
        "58": "Virement SEPA",
        "59": "Prélèvement SEPA",
        "97": "Compensation",
        "ZZZ": "Autre",
    },
    "en": {
        "1": "Not defined",
        "10": "Cash",
        "20": "Cheque",
        "30": "Credit transfer",
        "31": "Debit transfer",
        "42": "Payment to bank account",
        "48": "Bank card",
        "49": "Direct debit",
        "57": "Standing agreement",
        "58": "SEPA credit transfer",
        "59": "SEPA direct debit",
        "97": "Clearing between partners",
        "ZZZ": "Other",
    },
}

# Units of measure (UN/ECE Rec 20/21) printed in words; other codes are printed as they are.
UNITS: dict[str, tuple[str, str]] = {
    "C62": ("unité", "unit"),
    "H87": ("pièce", "piece"),
    "EA": ("unité", "each"),
    "XPP": ("pièce", "piece"),
    "HUR": ("heure", "hour"),
    "MIN": ("minute", "minute"),
    "DAY": ("jour", "day"),
    "WEE": ("semaine", "week"),
    "MON": ("mois", "month"),
    "ANN": ("an", "year"),
    "KGM": ("kg", "kg"),
    "GRM": ("g", "g"),
    "TNE": ("t", "t"),
    "MTR": ("m", "m"),
    "CMT": ("cm", "cm"),
    "KMT": ("km", "km"),
    "MTK": ("m²", "m²"),
    "MTQ": ("m³", "m³"),
    "LTR": ("l", "l"),
    "KWH": ("kWh", "kWh"),
    "SET": ("lot", "set"),
    "LS": ("forfait", "lump sum"),
    "PR": ("paire", "pair"),
    "XBX": ("boîte", "box"),
    "P1": ("%", "%"),
}

# Billing frame (BT-23, A7 G1.02): the letter gives the category of operation, the digit the case.
OPERATION_CATEGORIES = {
    "fr": {"B": "Livraison de biens", "S": "Prestation de services", "M": "Livraison de biens et prestation de services"},
    "en": {"B": "Supply of goods", "S": "Supply of services", "M": "Supply of goods and services"},
}
BILLING_CASES = {
    "fr": {
        "2": "facture déjà payée",
        "3": "demande de paiement direct de sous-traitant",
        "4": "facture définitive après acompte",
        "5": "facture de sous-traitant",
        "6": "facture de cotraitant",
        "7": "opération déjà e-reportée, TVA déjà collectée",
    },
    "en": {
        "2": "invoice already paid",
        "3": "subcontractor direct payment request",
        "4": "final invoice after down payment",
        "5": "subcontractor invoice",
        "6": "co-contractor invoice",
        "7": "already e-reported, VAT already collected",
    },
}
BILLING_FRAME = re.compile(r"^([BSM])([1-7])$")

IDENTIFIER_SCHEMES = {"0002": "SIREN", "0009": "SIRET", "0088": "GLN", "0060": "DUNS", "0160": "GTIN"}
MANDATORY_NOTE_CODES = ("PMT", "PMD", "AAB")  # recovery fee, late-payment penalties, early-payment discount
HIDDEN_NOTE_CODES = frozenset({"BAR"})  # B2B/B2C processing flag for platforms, not a mention for readers
CURRENCY_SYMBOLS = {"EUR": "€", "GBP": "£"}  # unambiguous ones only: "$" could be USD, CAD, AUD …
MINUS = "\u2212"
NBSP = "\u00a0"  # keeps a label with its value, and grouped digits together, when lines wrap


# ---------------------------------------------------------------- formatting


def format_number(value: Decimal, language: str, min_decimals: int = 2) -> str:
    """Grouped thousands, at least `min_decimals` decimals and all the ones the value has (nothing hidden)."""
    exponent = value.normalize().as_tuple().exponent
    decimals = max(min_decimals, -exponent if isinstance(exponent, int) else 0)
    text = f"{abs(value):,.{decimals}f}"
    text = text.replace(",", "\u202f").replace(".", ",") if language == "fr" else text
    return f"{MINUS}{text}" if value < 0 else text


def format_money(value: Decimal, currency: str, language: str) -> str:
    """1 234,56 € in French, €1,234.56 in English; the ISO code when there is no common symbol."""
    number = format_number(value, language)
    symbol = CURRENCY_SYMBOLS.get(currency)
    if language == "fr":
        return f"{number}\u00a0{symbol or currency}"
    if symbol:
        return f"{MINUS}{symbol}{number[1:]}" if value < 0 else f"{symbol}{number}"
    return f"{currency}\u00a0{number}"


def format_percent(value: Decimal, language: str) -> str:
    """20 %, 5,5 % in French; 20%, 5.5% in English."""
    number = format_number(value, language, min_decimals=0)
    return f"{number}\u00a0%" if language == "fr" else f"{number}%"


def format_date(value: date, language: str) -> str:
    """DD/MM/YYYY in French, ISO 8601 otherwise."""
    return value.strftime("%d/%m/%Y") if language == "fr" else value.isoformat()


def format_identifier(value: str, scheme: str | None) -> str:
    """SIREN 123 456 789, SIRET 123 456 789 00012: grouped the way they are printed in France."""
    if scheme == "0002" and re.fullmatch(r"\d{9}", value):
        return NBSP.join((value[:3], value[3:6], value[6:]))
    if scheme == "0009" and re.fullmatch(r"\d{14}", value):
        return NBSP.join((value[:3], value[3:6], value[6:9], value[9:]))
    return value


def format_iban(value: str) -> str:
    """IBAN in groups of four characters."""
    compact = value.replace(" ", "")
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


# ---------------------------------------------------------------- layout primitives


@dataclass(frozen=True)
class Run:
    """Text in one style; a block or a table cell is a list of runs, each starting on a new line."""

    text: str
    bold: bool = False
    size: float = BODY
    colour: Colour = INK
    link: str | None = None  # a URI the text opens (a link annotation over each of its lines)


@dataclass(frozen=True)
class Column:
    """A table column; the one column that `wraps` holds runs, the others one line that shrinks to fit."""

    title: str
    width: float
    align: str = "L"
    wraps: bool = False


@dataclass(frozen=True)
class Block:
    """Runs placed in a rectangle; a row of blocks is laid out side by side (header, parties, grids)."""

    x: float
    width: float
    runs: Sequence[Run]
    align: str = "L"


@dataclass(frozen=True)
class TotalRow:
    """One line of the totals box; `due` is the amount due, printed on the accent band."""

    label: str
    amount: str
    strong: bool = False
    due: bool = False


Line = tuple[Run, str, float]  # one visual line: its style, its text and its width
Cell = str | Run | Sequence[Run]
TITLE_SIZE = 9.5
GRID_GAP = 1.2  # between rows of label-over-value items
PAIR_GAP = 0.4  # between rows of label-beside-value items
LABEL_SHARE = 0.64  # of the totals box width


class InvoiceDocument(FPDF):
    """An fpdf2 document that knows its invoice and language, and lays out runs, blocks, tables and page furniture."""

    def __init__(self, invoice: Invoice, language: str) -> None:
        if language not in LABELS:
            raise ValueError(f"Unsupported language {language!r}; use one of: {', '.join(LABELS)}.")
        super().__init__(orientation="P", unit="mm", format="A4", enforce_compliance="PDF/A-3B")
        self.invoice = invoice
        self.language = language
        self.labels = LABELS[language]
        for style, file in PRIMARY.files:
            self.add_parsed_font(PRIMARY.family, style, file)
        self._fallbacks: list[str] = []  # families of the chain this document uses so far, in chain order
        self.set_text_shaping(True)
        self._shaping, self.text_shaping = self.text_shaping, None  # on only around text that needs it (fpdf2 shapes slowly)
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN + FOOTER_HEIGHT)
        self.c_margin = PADX
        self.set_line_width(0.2)
        self.allow_images_transparency = False  # everything is opaque: no page transparency group is declared
        self._widths: dict[tuple[str, bool, float], float] = {}
        self._style: tuple[bool, float, Colour] | None = None
        self._table: tuple[float, Sequence[Column]] | None = None  # the open table, whose header repeats on new pages

    def add_parsed_font(self, family: str, style: str, file: str) -> None:
        """`add_font`, without parsing the font file again for each document (it was ~40 % of a Factur-X build).

        The metrics parsed once per process are shared read-only; what a document changes is its own: the
        fontTools font that output subsets in place (opened lazily from the file), the glyph subset, the
        character widths (a defaultdict that grows on lookups) and the font descriptor (named at output).
        """
        font = copy.copy(parsed_font(file))
        font.i = len(self.fonts) + 1
        font.fontkey = f"{family.lower()}{style}"
        font.emphasis = TextEmphasis.coerce(style)
        font.ttfont = ttLib.TTFont(FONT_DIR / file, recalcTimestamp=False, lazy=True)
        font.cw = copy.copy(font.cw)
        font.desc = copy.copy(font.desc)
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font.subset = SubsetMap(font)
        self.fonts[font.fontkey] = font

    # ---- fonts for text DejaVu Sans does not draw as it is

    @staticmethod
    def is_plain(text: str, bold: bool) -> bool:
        """Whether the primary face draws `text` as it is (no fallback font, no shaping)."""
        return plain_chars("B" if bold else "").issuperset(text)

    @contextmanager
    def fallback(self, text: str, drawing: bool = False) -> Iterator[None]:
        """fpdf2's fallback fonts and shaping, on for `text`; a character no font has is refused, never dropped."""
        check_drawable(text)
        for char in dict.fromkeys(text):
            face = fallback_face(char)
            if face is not None and face.family not in self._fallbacks:
                if face.family.lower() not in self.fonts:
                    for style, file in face.files:
                        self.add_parsed_font(face.family, style, file)
                self._fallbacks = [f.family for f in FALLBACKS if f.family in (*self._fallbacks, face.family)]
        self.set_fallback_fonts(self._fallbacks, exact_match=False)
        self.text_shaping, auto_page_break = self._shaping, self.auto_page_break
        self.auto_page_break = False  # the layout breaks pages itself, before it draws
        try:
            yield
        finally:
            self.text_shaping, self.auto_page_break = None, auto_page_break
            self.set_fallback_fonts([])
            if drawing:  # fpdf2 leaves the last fallback font selected in the content stream without saying so
                self.current_font_is_set_on_page = False

    def measure(self, text: str, run: Run) -> float:
        """String width in mm in the run's style, through the fallback fonts when needed."""
        self.use(run)
        return self.get_string_width(text) if self.is_plain(text, run.bold) else self._shaped_width(text)

    # ---- text: measure, wrap, draw

    def use(self, run: Run) -> None:
        """Select the run's font and colour (skipped when unchanged: a 5,000-line invoice calls this a lot)."""
        style = (run.bold, run.size, run.colour)
        if style != self._style:
            self.set_font(FAMILY, "B" if run.bold else "", run.size)
            self.set_text_color(*run.colour)
            self._style = style

    def width_of(self, text: str, run: Run) -> float:
        """String width in mm, cached per word and style."""
        key = (text, run.bold, run.size)
        width = self._widths.get(key)
        if width is None:
            width = self._widths[key] = self.measure(text, run)
        return width

    def wrap(self, run: Run, width: float) -> list[Line]:
        """Greedy word wrap into `width` less padding; a word longer than a line is cut between characters."""
        available = width - 2 * PADX
        space = self.width_of(" ", run)
        lines: list[Line] = []
        for paragraph in run.text.splitlines() or [""]:
            current, current_width = "", 0.0
            for word in paragraph.replace("\t", " ").split(" "):  # only ordinary spaces: no-break spaces hold "12 000,00" together
                if not word:
                    continue
                word_width = self.width_of(word, run)
                if current and current_width + space + word_width <= available:
                    current, current_width = f"{current} {word}", current_width + space + word_width
                    continue
                if current:
                    lines.append((run, current, current_width))
                while word_width > available and len(word) > 1:
                    cut = self._longest_prefix(word, run, available)
                    lines.append((run, word[:cut], self.width_of(word[:cut], run)))
                    word = word[cut:]
                    word_width = self.width_of(word, run)
                current, current_width = word, word_width
            lines.append((run, current, current_width))
        return lines

    def _longest_prefix(self, word: str, run: Run, available: float) -> int:
        """How many leading characters of `word` fit in `available` (at least one)."""
        cut = 1
        while cut < len(word) and self.measure(word[: cut + 1], run) <= available:
            cut += 1
        return cut

    def wrap_runs(self, runs: Sequence[Run], width: float) -> list[Line]:
        """All runs wrapped, blank runs left out."""
        return [line for run in runs if run.text.strip() for line in self.wrap(run, width)]

    def single(self, run: Run) -> Line:
        """The run as one line (it may be too wide: `draw_line` then shrinks it)."""
        return run, run.text, self.width_of(run.text, run)

    def draw_line(self, x: float, top: float, width: float, line: Line, align: str = "L") -> None:
        """One line of text inside [x, x + width], shrunk when it would not fit (long numbers)."""
        run, text, text_width = line
        self.use(run)
        available = width - 2 * PADX
        plain = self.is_plain(text, run.bold)
        if text_width > available:
            self.set_font_size(run.size * available / text_width)
            self._style = None
            text_width = self.get_string_width(text) if plain else self._shaped_width(text)
        height = line_height(run.size)
        left = x + width - PADX - text_width if align == "R" else x + PADX
        if run.link:
            self.link(left, top, text_width, height, run.link)
        if plain:
            self.text(left, top + 0.5 * height + 0.3 * self.font_size, text)
            return
        with self.fallback(text, drawing=True):  # cell() draws the same baseline: 0.5 h + 0.3 font size
            self.set_xy(left - self.c_margin, top)
            self.cell(text_width + 2 * self.c_margin, height, text)

    def _shaped_width(self, text: str) -> float:
        """Width in the current font and size, with fallback fonts and shaping."""
        with self.fallback(text):
            return self.get_string_width(text)

    @staticmethod
    def lines_height(lines: Sequence[Line]) -> float:
        return sum(line_height(line[0].size) for line in lines)

    def room(self) -> float:
        """Height left on the current page."""
        return self.page_break_trigger - self.y

    def page_room(self) -> float:
        """Height of the body of a fresh page (below the running header)."""
        return self.page_break_trigger - self.t_margin - running_header_height()

    def flow(self, lines: Sequence[Line], x: float, width: float, align: str = "L") -> None:
        """Lines one below the other from the current y, breaking pages where needed."""
        for line in lines:
            height = line_height(line[0].size)
            if self.y + height > self.page_break_trigger:
                self.add_page()
            self.draw_line(x, self.y, width, line, align)
            self.y += height

    # ---- rows of blocks (header, parties, grids)

    def blocks_height(self, blocks: Sequence[Block], boxed: bool = False) -> float:
        inset = 2 * PAD if boxed else 0.0
        return max(self.lines_height(self.wrap_runs(b.runs, b.width - 2 * inset)) for b in blocks) + 2 * inset

    def blocks(self, blocks: Sequence[Block], boxed: bool = False) -> None:
        """Blocks side by side, kept on one page; stacked when together they are taller than a page."""
        inset = 2 * PAD if boxed else 0.0
        wrapped = [self.wrap_runs(block.runs, block.width - 2 * inset) for block in blocks]
        height = max(self.lines_height(lines) for lines in wrapped) + 2 * inset
        if height > self.room() and height <= self.page_room():
            self.add_page()
        if height > self.room():
            for block, lines in zip(blocks, wrapped, strict=True):
                self.flow(lines, block.x + inset, block.width - 2 * inset, block.align)
            return
        top = self.y
        for block, lines in zip(blocks, wrapped, strict=True):
            if boxed:
                self.set_draw_color(*RULE)
                self.rect(block.x, top, block.width, height, style="D", round_corners=True, corner_radius=1.5)
            self.y = top + inset
            self.flow(lines, block.x + inset, block.width - 2 * inset, block.align)
        self.y = top + height

    def grid_rows(self, items: Sequence[tuple[str, str]], columns: int, x: float, width: float) -> list[list[Block]]:
        """Label-over-value items in `columns` columns (references)."""
        cell = width / columns
        return [
            [
                Block(x + i * cell, cell, [Run(label, size=SMALL, colour=MUTED), Run(value)])
                for i, (label, value) in enumerate(items[start : start + columns])
            ]
            for start in range(0, len(items), columns)
        ]

    def pair_rows(self, items: Sequence[tuple[str, str | Run]], x: float, width: float, label_width: float) -> list[list[Block]]:
        """Label-beside-value items (payment details)."""
        return [
            [Block(x, label_width, [Run(label, size=SMALL, colour=MUTED)]),
             Block(x + label_width, width - label_width, [value if isinstance(value, Run) else Run(value)])]
            for label, value in items
        ]  # fmt: skip

    def rows_height(self, rows: Sequence[Sequence[Block]], gap: float) -> float:
        return sum(self.blocks_height(row) + gap for row in rows)

    def rows(self, rows: Sequence[Sequence[Block]], gap: float) -> None:
        for row in rows:
            self.blocks(row)
            self.y += gap

    @staticmethod
    def section_title_height() -> float:
        return GAP + line_height(TITLE_SIZE) + 2.4

    def section_title(self, title: str, x: float | None = None, width: float | None = None, keep: float = 25.0) -> None:
        """A section heading over a rule; starts a new page unless `keep` mm are left for what follows."""
        if self.room() < keep:
            self.add_page()
        x = self.l_margin if x is None else x
        width = self.epw if width is None else width
        self.y += GAP
        self.draw_line(x, self.y, width, self.single(Run(title, bold=True, size=TITLE_SIZE, colour=ACCENT)))
        self.y += line_height(TITLE_SIZE) + 0.6
        self.set_draw_color(*ACCENT)
        self.line(x + PADX, self.y, x + width - PADX, self.y)
        self.y += 1.8

    # ---- tables

    def table(self, columns: Sequence[Column], rows: Sequence[Sequence[Cell]], x: float | None = None) -> None:
        """A table whose header repeats on every page it spans; a row taller than a page is split."""
        left = self.l_margin if x is None else x
        if self.room() < table_header_height() + 2 * line_height(BODY) + 2 * PAD:
            self.add_page()
        self._table = (left, columns)
        self.table_header()
        for row in rows:
            self.table_row(left, columns, row)
        self._table = None

    def table_height(self, columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> float:
        """Height of the table on one page."""
        wide = wrapping_column(columns)
        return table_header_height() + sum(row_height(self.wrap_runs(as_runs(row[wide]), columns[wide].width)) for row in rows)

    def table_header(self) -> None:
        assert self._table is not None
        left, columns = self._table
        self.set_fill_color(*SHADE)
        self.rect(left, self.y, sum(c.width for c in columns), table_header_height(), style="F")
        x = left
        for column in columns:
            self.draw_line(x, self.y + PAD, column.width, self.single(Run(column.title, bold=True, size=SMALL, colour=ACCENT)), column.align)
            x += column.width
        self.y += table_header_height()

    def table_row(self, left: float, columns: Sequence[Column], row: Sequence[Cell]) -> None:
        wide = wrapping_column(columns)
        lines = self.wrap_runs(as_runs(row[wide]), columns[wide].width)
        height = row_height(lines)
        if height > self.room() and height <= self.page_room():
            self.add_page()
        top = self.y
        x = left
        for column, cell in zip(columns, row, strict=True):
            if not column.wraps:
                run = cell if isinstance(cell, Run) else Run(str(cell))
                self.draw_line(x, top + PAD, column.width, self.single(run), column.align)
            x += column.width
        self.y = top + PAD
        self.flow(lines, left + sum(c.width for c in columns[:wide]), columns[wide].width)
        self.y = max(self.y, top + PAD + line_height(BODY)) + PAD
        self.set_draw_color(*RULE)
        self.line(left, self.y, left + sum(c.width for c in columns), self.y)

    # ---- page furniture (called by fpdf2 on every page)

    def header(self) -> None:
        """From page 2 on: which document this is, then the header of the open table."""
        if self.page_no() > 1:
            invoice = self.invoice
            text = self.labels["continued"].format(
                title=document_title(invoice, self.language), number=invoice.number, date=format_date(invoice.issue_date, self.language)
            )
            self.draw_line(self.l_margin, self.t_margin, self.epw, self.single(Run(invoice.seller.name, bold=True, size=SMALL, colour=MUTED)))
            self.draw_line(self.l_margin, self.t_margin, self.epw, self.single(Run(text, size=SMALL, colour=MUTED)), "R")
            self.y = self.t_margin + running_header_height()
            if self._table is not None:
                self.table_header()
        self._style = None  # fpdf2 restores the font and colours of before the page break: `use` must set them again

    def footer(self) -> None:
        """The seller's legal identity and "Page x / y" on every page."""
        top = self.h - MARGIN - FOOTER_HEIGHT + 4
        self.set_draw_color(*RULE)
        self.line(self.l_margin, top, self.w - self.r_margin, top)
        page = self.labels["page"].format(page=self.page_no(), pages=self.str_alias_nb_pages)
        self.use(Run(page, size=TINY, colour=MUTED))
        self.set_xy(self.w - self.r_margin - 30, top + 1)
        self.cell(30, line_height(TINY), page, align="R")  # cell(), not text(): fpdf2 fills in the page count only there
        identity = " · ".join(seller_legal_identity(self.invoice.seller, self.labels))
        self.y = top + 1
        lines = self.wrap(Run(identity, size=TINY, colour=MUTED), self.epw - 32)
        if len(lines) > FOOTER_LINES:  # the header of page 1 prints it all
            run, text, _ = lines[FOOTER_LINES - 1]
            lines[FOOTER_LINES - 1] = (run, f"{text} …", self.width_of(f"{text} …", run))
        for line in lines[:FOOTER_LINES]:
            self.draw_line(self.l_margin, self.y, self.epw - 32, line)
            self.y += line_height(TINY)


def running_header_height() -> float:
    return line_height(SMALL) + 4


def table_header_height() -> float:
    return line_height(SMALL) + 2 * PAD


def row_height(lines: Sequence[Line]) -> float:
    return max(InvoiceDocument.lines_height(lines), line_height(BODY)) + 2 * PAD


def wrapping_column(columns: Sequence[Column]) -> int:
    return next(i for i, column in enumerate(columns) if column.wraps)


def as_runs(cell: Cell) -> Sequence[Run]:
    if isinstance(cell, str):
        return [Run(cell)]
    if isinstance(cell, Run):
        return [cell]
    return cell


# ---------------------------------------------------------------- texts built from the model


def document_title(invoice: Invoice, language: str) -> str:
    titles = TITLES[language]
    return titles.get(invoice.type_code) or titles["credit_note" if invoice.is_credit_note else "invoice"]


def address_lines(address: Address | None) -> list[str]:
    """Postal lines; the country is printed when it is not France."""
    if address is None:
        return []
    city = " ".join(part for part in (address.postal_code, address.city) if part)
    lines = [address.line1, address.line2, address.line3, city, address.country_subdivision]
    if address.country_code and address.country_code != "FR":
        lines.append(address.country_code)
    return [line for line in lines if line]


def identifier_text(identifier: Identifier) -> str:
    """'SIRET 123 456 789 00012' for known schemes, 'value (scheme)' otherwise."""
    scheme = identifier.scheme or ""
    name = IDENTIFIER_SCHEMES.get(scheme)
    value = format_identifier(identifier.value, identifier.scheme)
    if name:
        return f"{name}{NBSP}{value}"
    return f"{value} ({scheme})" if scheme else value


def registration_lines(party: Party, labels: dict[str, str]) -> list[str]:
    """SIREN, SIRET and other identifiers; VAT and tax numbers: the identity the reform makes mandatory for both parties."""
    ids = [identifier_text(party.legal_registration_id)] if party.legal_registration_id else []
    ids += [identifier_text(identifier) for identifier in party.identifiers]
    taxes = [f"{labels['vat_id']}{NBSP}{party.vat_id}" if party.vat_id else None]
    taxes.append(f"{labels['tax_registration']}{NBSP}{party.tax_registration_id}" if party.tax_registration_id else None)
    return [line for line in (" · ".join(ids), " · ".join(t for t in taxes if t)) if line]


def seller_legal_identity(seller: Party, labels: dict[str, str]) -> list[str]:
    """Footer: name, legal form and capital (BT-33), registrations."""
    return [part for part in (seller.name, seller.legal_info, *registration_lines(seller, labels)) if part]


def contact_text(party: Party, labels: dict[str, str]) -> str:
    contact = party.contact
    if contact is None:
        return ""
    phone = f"{labels['phone']} {contact.phone}" if contact.phone else None
    return " · ".join(part for part in (contact.name, phone, contact.email) if part)


# ---------------------------------------------------------------- the invoice, group by group


class InvoiceRenderer:
    """Writes the invoice's groups (BG-*) into an `InvoiceDocument`, top to bottom."""

    def __init__(self, invoice: Invoice, language: str) -> None:
        self.invoice = invoice
        self.language = language
        self.pdf = InvoiceDocument(invoice, language)
        self.labels = self.pdf.labels
        self.totals = invoice.totals or Totals()

    def t(self, key: str, **values: str) -> str:
        return self.labels[key].format(**values) if values else self.labels[key]

    def pair(self, key: str, value: str) -> str:
        """'Label : value' for a label key."""
        return self.pair_text(self.t(key), value)

    def pair_text(self, label: str, value: str) -> str:
        """'Label : value' with the language's punctuation."""
        return f"{label} : {value}" if self.language == "fr" else f"{label}: {value}"

    def number(self, value: Decimal, min_decimals: int = 2) -> str:
        return format_number(value, self.language, min_decimals)

    def money(self, value: Decimal) -> str:
        return format_money(value, self.invoice.currency, self.language)

    def percent(self, value: Decimal) -> str:
        return format_percent(value, self.language)

    def date(self, value: date) -> str:
        return format_date(value, self.language)

    def unit(self, code: str) -> str:
        return UNITS.get(code, (code, code))[0 if self.language == "fr" else 1]

    def render(self) -> bytes:
        invoice, pdf = self.invoice, self.pdf
        title = document_title(invoice, self.language)
        pdf.set_title(f"{title} {invoice.number}")
        pdf.set_author(invoice.seller.name)
        pdf.set_subject(f"{title} {invoice.number} — {invoice.seller.name} → {invoice.buyer.name}")
        pdf.set_creator("pdp-gateway")
        pdf.set_lang("fr-FR" if self.language == "fr" else "en")
        pdf.add_page()
        self.seller_and_title(title)
        self.parties()
        self.references()
        self.lines()
        self.summary()
        self.mentions()
        return bytes(pdf.output())

    # BG-4 seller; BT-1, BT-2, BT-3, BT-9
    def seller_and_title(self, title: str) -> None:
        invoice, seller, pdf = self.invoice, self.invoice.seller, self.pdf
        seller_runs = [Run(seller.name, bold=True, size=13, colour=ACCENT)]
        if seller.trading_name and seller.trading_name != seller.name:
            seller_runs.append(Run(seller.trading_name, colour=MUTED))
        seller_runs += [Run(line) for line in address_lines(seller.address)]
        identity = [contact_text(seller, self.labels), seller.legal_info, *registration_lines(seller, self.labels), self.electronic_address(seller)]
        seller_runs += [Run(line, size=SMALL, colour=MUTED) for line in identity if line]
        split = pdf.epw * 0.6
        # Long titles ("Facture rectificative autofacturée affacturée") get a smaller size, down to 13 pt, before they wrap.
        natural = pdf.width_of(title, Run(title, bold=True, size=20))
        size = max(13.0, min(20.0, math.floor(200 * (pdf.epw - split - 2 * PADX) / natural) / 10))  # widths scale with the size
        title_runs = [
            Run(title, bold=True, size=size, colour=ACCENT),
            Run(f"{self.t('number')} {invoice.number}", bold=True, size=11),
            Run(self.pair("date", self.date(invoice.issue_date))),
        ]
        if invoice.due_date:
            title_runs.append(Run(self.pair("due_date", self.date(invoice.due_date)), bold=True))
        top = pdf.y
        pdf.blocks([Block(pdf.l_margin, split, seller_runs), Block(pdf.l_margin + split, pdf.epw - split, title_runs, "R")])
        if code := self.payment_code():
            self.draw_payment_code(code, split, top, title_runs)

    def draw_payment_code(self, code: PaymentCode, split: float, top: float, title_runs: list[Run]) -> None:
        """The code at the left of the title lines when they leave it room (then usually no taller than the seller's
        block), its caption under them; else under the title lines, its caption at its right."""
        pdf = self.pdf
        x, column = pdf.l_margin + split, pdf.epw - split
        widest = max(pdf.width_of(run.text, run) for run in title_runs)
        title_height = pdf.blocks_height([Block(x, column, title_runs)])
        below = pdf.y
        if column - widest - 2 * PADX >= QR_SIZE:
            code.draw(pdf, x + PADX, top + PAD)
            pdf.y = max(top + PAD + QR_SIZE, top + title_height) + PAD
            pdf.flow(pdf.wrap(code.caption, column), x, column, "R")
        else:
            code.draw(pdf, x + PADX, top + title_height + PAD)
            pdf.y = top + title_height + PAD
            caption_x = x + 2 * PADX + QR_SIZE
            width = x + column - caption_x
            pdf.flow(pdf.wrap(code.caption, width), caption_x, width, "R")
            pdf.y = top + title_height + PAD + QR_SIZE
        pdf.y = max(below, pdf.y)

    def electronic_address(self, party: Party) -> str | None:
        """BT-34 / BT-49, the address the invoice is routed to in the French directory."""
        address = party.electronic_address
        if address is None:
            return None
        return self.pair("e_address", f"{address.value} ({address.scheme})" if address.scheme else address.value)

    # BG-7 buyer, BG-13 delivery
    def parties(self) -> None:
        pdf, buyer = self.pdf, self.invoice.buyer
        pdf.y += GAP
        buyer_runs = [Run(self.t("bill_to"), bold=True, size=SMALL, colour=ACCENT), Run(buyer.name, bold=True, size=TITLE_SIZE)]
        if buyer.trading_name and buyer.trading_name != buyer.name:
            buyer_runs.append(Run(buyer.trading_name, colour=MUTED))
        buyer_runs += [Run(line) for line in address_lines(buyer.address)]
        details = [*registration_lines(buyer, self.labels), contact_text(buyer, self.labels), self.electronic_address(buyer)]
        buyer_runs += [Run(line, size=SMALL, colour=MUTED) for line in details if line]
        half = (pdf.epw - GAP) / 2
        blocks = [Block(pdf.l_margin + half + GAP, half, buyer_runs)]
        if self.invoice.delivery:
            blocks.insert(0, Block(pdf.l_margin, half, self.delivery_runs(self.invoice.delivery)))
        pdf.blocks(blocks, boxed=True)

    def delivery_runs(self, delivery: Delivery) -> list[Run]:
        runs = [Run(self.t("deliver_to"), bold=True, size=SMALL, colour=ACCENT)]
        if delivery.party_name:
            runs.append(Run(delivery.party_name, bold=True, size=TITLE_SIZE))
        runs += [Run(line) for line in address_lines(delivery.address)]
        if delivery.location_id:
            runs.append(Run(self.pair("location", identifier_text(delivery.location_id)), size=SMALL, colour=MUTED))
        if delivery.date:
            runs.append(Run(self.pair("delivery_date", self.date(delivery.date)), bold=True, size=SMALL))
        return runs

    # BT-10…19, BT-7, BG-3, BG-14, BG-24
    def references(self) -> None:
        invoice, pdf = self.invoice, self.pdf
        period = invoice.invoicing_period
        texts = [
            ("buyer_reference", invoice.buyer_reference),
            ("purchase_order", invoice.purchase_order_reference),
            ("contract", invoice.contract_reference),
            ("project", invoice.project_reference),
            ("sales_order", invoice.sales_order_reference),
            ("receiving_advice", invoice.receiving_advice_reference),
            ("despatch_advice", invoice.despatch_advice_reference),
            ("tender", invoice.tender_reference),
            ("invoiced_object", identifier_text(invoice.invoiced_object_identifier) if invoice.invoiced_object_identifier else None),
            ("accounting_reference", invoice.buyer_accounting_reference),
            ("invoicing_period", self.period(period.start, period.end) if period else None),
            ("tax_point_date", self.date(invoice.tax_point_date) if invoice.tax_point_date else None),
            ("preceding", ", ".join(self.preceding(p.number, p.issue_date) for p in invoice.preceding_invoices)),
            ("currency", invoice.currency if invoice.currency != "EUR" else None),
            ("tax_currency", invoice.tax_currency),
            ("attachments", "; ".join(" — ".join(p for p in (a.id, a.description, a.filename) if p) for a in invoice.attachments)),
        ]
        items = [(self.t(key), value) for key, value in texts if value]
        if items:
            pdf.y += GAP
            pdf.rows(pdf.grid_rows(items, 4, pdf.l_margin, pdf.epw), GRID_GAP)

    def period(self, start: date | None, end: date | None) -> str | None:
        if start and end:
            return self.t("period", start=self.date(start), end=self.date(end))
        if start:
            return self.t("period_from", start=self.date(start))
        return self.t("period_until", end=self.date(end)) if end else None

    def preceding(self, number: str, issue_date: date | None) -> str:
        return self.t("preceding_dated", number=number, date=self.date(issue_date)) if issue_date else number

    # BG-25 lines, with BG-26 period, BG-27/28 allowances and charges, BG-29 price details, BG-31/32 item
    def lines(self) -> None:
        pdf = self.pdf
        pdf.y += GAP
        widths = (9, 0, 17, 14, 24, 14, 25)
        titles = ("col_id", "col_description", "col_quantity", "col_unit", "col_price", "col_vat", "col_net")
        aligns = ("L", "L", "R", "L", "R", "R", "R")
        description = pdf.epw - sum(widths)
        columns = [
            Column(self.t(key), width or description, align, wraps=not width) for key, width, align in zip(titles, widths, aligns, strict=True)
        ]
        pdf.table(columns, [self.line_row(line) for line in self.invoice.lines])

    def line_row(self, line: InvoiceLine) -> list[Cell]:
        net = line.net_amount if line.net_amount is not None else Decimal(0)
        return [
            Run(line.id, size=SMALL, colour=MUTED),
            self.line_description(line),
            self.number(line.quantity, 0),
            self.unit(line.unit_code),
            self.number(line.net_price),
            self.vat_label(line.vat_category, line.vat_rate),
            Run(self.number(net), bold=True),
        ]

    def vat_label(self, category: str, rate: Decimal | None) -> str:
        """The rate for taxed lines; the category code (with its rate if any) for the others."""
        if category == "S" and rate is not None:
            return self.percent(rate)
        return f"{category} {self.percent(rate)}" if rate else category

    def line_description(self, line: InvoiceLine) -> list[Run]:
        detail = {"size": SMALL, "colour": MUTED}
        runs = [Run(line.item_name, bold=True)]
        if line.item_description:
            runs.append(Run(line.item_description, **detail))
        ids = [
            f"{self.t('seller_item')} {line.seller_item_id}" if line.seller_item_id else None,
            f"{self.t('buyer_item')} {line.buyer_item_id}" if line.buyer_item_id else None,
            f"{self.t('standard_item')} {identifier_text(line.standard_item_id)}" if line.standard_item_id else None,
            f"{self.t('order_line')} {line.order_line_reference}" if line.order_line_reference else None,
            f"{self.t('object')} {identifier_text(line.object_identifier)}" if line.object_identifier else None,
            f"{self.t('accounting_reference')} {line.accounting_reference}" if line.accounting_reference else None,
            f"{self.t('origin')} {line.origin_country}" if line.origin_country else None,
            *(f"{self.t('classification')} {c.value} ({c.scheme})" for c in line.classifications),
            *(self.pair_text(a.name, a.value) for a in line.attributes),
        ]
        if any(ids):
            runs.append(Run(" · ".join(i for i in ids if i), **detail))
        if line.period and (text := self.period(line.period.start, line.period.end)):
            runs.append(Run(text, **detail))
        if line.gross_price is not None:
            gross = self.number(line.gross_price)
            discount = line.price_discount
            runs.append(
                Run(self.t("gross_price", gross=gross, discount=self.number(discount)) if discount else self.t("gross_only", gross=gross), **detail)
            )
        if line.base_quantity is not None and line.base_quantity != 1:
            unit = self.unit(line.base_quantity_unit_code or line.unit_code)
            runs.append(Run(self.t("base_quantity", quantity=self.number(line.base_quantity, 0), unit=unit), **detail))
        for kind, items, sign in (("allowance", line.allowances, -1), ("charge", line.charges, 1)):
            runs += [Run(self.pair_text(self.allowance_charge_label(kind, item), self.number(sign * item.amount)), size=SMALL) for item in items]
        if line.note:
            runs.append(Run(line.note, **detail))
        return runs

    def allowance_charge_label(self, kind: str, item: AllowanceCharge | LineAllowanceCharge) -> str:
        """'Remise fidélité, 2 % de 12 000,00': the reason (or 'Remise' / 'Frais') and the percentage it was computed with."""
        basis = None
        if item.percentage is not None:
            percent = self.percent(item.percentage)
            basis = self.t("percent_of", percent=percent, base=self.number(item.base_amount)) if item.base_amount is not None else percent
        return ", ".join(p for p in (item.reason or item.reason_code or self.t(kind), basis) if p)

    # BG-23 VAT breakdown and BG-16 payment on the left, BG-22 totals (with BG-20/21) on the right
    def summary(self) -> None:
        pdf = self.pdf
        right_width = 76.0
        left_width = pdf.epw - right_width - GAP
        left, right = pdf.l_margin, pdf.l_margin + left_width + GAP
        vat_columns = [
            Column(self.t("col_category"), left_width - 59, wraps=True),
            Column(self.t("col_rate"), 13, "R"),
            Column(self.t("col_taxable"), 23, "R"),
            Column(self.t("col_tax"), 23, "R"),
        ]
        vat_rows = [self.vat_row(vat) for vat in self.invoice.vat_breakdown]
        payment_rows = pdf.pair_rows(self.payment_items(), left, left_width, 36)
        totals = self.total_rows()
        title = pdf.section_title_height()
        left_height = title + pdf.table_height(vat_columns, vat_rows) + (title + pdf.rows_height(payment_rows, PAIR_GAP) if payment_rows else 0)
        needed = max(left_height, title + self.totals_height(totals, right_width))
        if needed > pdf.room() and needed <= pdf.page_room():
            pdf.add_page()
        side_by_side = needed <= pdf.room()
        top = pdf.y
        pdf.section_title(self.t("vat_breakdown"), left, left_width, keep=0 if side_by_side else 25)
        pdf.table(vat_columns, vat_rows, left)
        if payment_rows:
            pdf.section_title(self.t("payment"), left, left_width, keep=0 if side_by_side else 25)
            pdf.rows(payment_rows, PAIR_GAP)
        bottom = pdf.y
        if side_by_side:
            pdf.y = top
        pdf.section_title(self.t("totals"), right, right_width, keep=0 if side_by_side else 25)
        self.draw_totals(right, right_width, totals)
        if side_by_side:
            pdf.y = max(pdf.y, bottom)

    def vat_row(self, vat: VatBreakdown) -> list[Cell]:
        category = VAT_CATEGORIES[self.language].get(vat.category, vat.category)
        runs = [Run(f"{vat.category} — {category}")]
        reason = " ".join(p for p in (vat.exemption_reason, f"({vat.exemption_reason_code})" if vat.exemption_reason_code else None) if p)
        if reason:
            runs.append(Run(reason, size=SMALL, colour=MUTED))
        return [
            runs,
            self.percent(vat.rate) if vat.rate is not None else "",
            self.number(vat.taxable_amount) if vat.taxable_amount is not None else "",
            self.number(vat.tax_amount) if vat.tax_amount is not None else "",
        ]

    def total_rows(self) -> list[TotalRow]:
        """BG-22, with each document-level allowance and charge (BG-20/21) between the lines total and the total without VAT."""
        totals, invoice = self.totals, self.invoice
        rows: list[TotalRow] = []
        if (invoice.allowances or invoice.charges) and totals.line_net_total is not None:
            rows.append(TotalRow(self.t("line_total"), self.money(totals.line_net_total)))
        for kind, items, sign in (("allowance", invoice.allowances, -1), ("charge", invoice.charges, 1)):
            rows += [TotalRow(self.document_allowance_charge_text(kind, item), self.money(sign * item.amount)) for item in items]
        for key, value, strong in (
            ("total_ht", totals.tax_exclusive_amount, False),
            ("total_vat", totals.tax_amount, False),
            ("total_ttc", totals.tax_inclusive_amount, True),
        ):
            if value is not None:
                rows.append(TotalRow(self.t(key), self.money(value), strong))
        if totals.tax_amount_accounting is not None and invoice.tax_currency:
            amount = format_money(totals.tax_amount_accounting, invoice.tax_currency, self.language)
            rows.append(TotalRow(self.t("total_vat_in", currency=invoice.tax_currency), amount))
        if totals.paid_amount:
            rows.append(TotalRow(self.t("paid"), self.money(-totals.paid_amount)))
        if totals.rounding_amount:
            rows.append(TotalRow(self.t("rounding"), self.money(totals.rounding_amount)))
        if totals.amount_due is not None:
            rows.append(TotalRow(self.t("amount_due"), self.money(totals.amount_due), strong=True, due=True))
        return rows

    def document_allowance_charge_text(self, kind: str, item: AllowanceCharge) -> str:
        """'Frais de transport (TVA 20 %)': BG-20/21 with their VAT category and rate."""
        return f"{self.allowance_charge_label(kind, item)} ({self.t('col_vat')}{NBSP}{self.vat_label(item.vat_category, item.vat_rate)})"

    def total_label_lines(self, row: TotalRow, width: float) -> list[Line]:
        return self.pdf.wrap(Run(row.label, bold=row.strong, colour=WHITE if row.due else INK), width * LABEL_SHARE)

    def totals_height(self, rows: Sequence[TotalRow], width: float) -> float:
        return sum(row_height(self.total_label_lines(row, width)) + (2.0 if row.due else 0.0) for row in rows)

    def draw_totals(self, x: float, width: float, rows: Sequence[TotalRow]) -> None:
        pdf = self.pdf
        for row in rows:
            lines = self.total_label_lines(row, width)
            height = row_height(lines)
            if pdf.y + height + 2 > pdf.page_break_trigger:
                pdf.add_page()
            if row.due:
                pdf.y += 2.0
                pdf.set_fill_color(*ACCENT)
                pdf.rect(x, pdf.y, width, height, style="F")
            top = pdf.y
            amount = Run(row.amount, bold=row.strong, colour=WHITE if row.due else INK)
            pdf.draw_line(x + width * LABEL_SHARE, top + PAD, width * (1 - LABEL_SHARE), pdf.single(amount), "R")
            pdf.y = top + PAD
            pdf.flow(lines, x, width * LABEL_SHARE)
            pdf.y = top + height
            if not row.due:
                pdf.set_draw_color(*RULE)
                pdf.line(x, pdf.y, x + width, pdf.y)

    def payment_code(self) -> PaymentCode | None:
        """The EPC QR code of the SEPA credit transfer that pays the invoice, with its caption (None: it cannot be paid so)."""
        request = transfer_request(self.invoice)
        if request is None:
            return None
        return PaymentCode(modules(request), Run(self.t("pay_by_code"), size=SMALL, colour=MUTED))

    # BG-16 payment instructions, BT-9, BT-20, BG-10 payee
    def payment_items(self) -> list[tuple[str, str | Run]]:
        invoice = self.invoice
        items: list[tuple[str, str | Run]] = []
        if invoice.payment:
            items += self.payment_means_items(invoice.payment)
        if invoice.due_date:
            items.append((self.t("due_date"), self.date(invoice.due_date)))
        if invoice.payee:
            payee = invoice.payee
            ids = [identifier_text(i) for i in (payee.identifier, payee.legal_registration_id) if i]
            items.append((self.t("payee"), " · ".join([payee.name, *ids])))
        if invoice.payment_terms:
            items.append((self.t("payment_terms"), invoice.payment_terms))
        return items

    def payment_means_items(self, payment: PaymentInstructions) -> list[tuple[str, str | Run]]:
        means = PAYMENT_MEANS[self.language].get(payment.means_code, payment.means_code)
        items: list[tuple[str, str | Run]] = [(self.t("payment_means"), f"{means} — {payment.means_text}" if payment.means_text else means)]
        for account in payment.credit_transfers:
            is_iban = bool(IBAN.fullmatch(account.account_id))
            items.append((self.t("iban" if is_iban else "account"), format_iban(account.account_id) if is_iban else account.account_id))
            if account.bank_id:
                items.append((self.t("bic"), account.bank_id))
            if account.account_name:
                items.append((self.t("account_name"), account.account_name))
        if payment.card:
            items.append((self.t("card"), f"•••• {payment.card.primary_account_number}"))
            if payment.card.holder_name:
                items.append((self.t("card_holder"), payment.card.holder_name))
        if payment.direct_debit:
            debit = payment.direct_debit
            if debit.mandate_id:
                items.append((self.t("mandate"), debit.mandate_id))
            if debit.creditor_id:
                items.append((self.t("creditor_id"), debit.creditor_id))
            if debit.debited_account_id:
                items.append((self.t("debited_account"), format_iban(debit.debited_account_id)))
        if payment.remittance_information:
            items.append((self.t("remittance"), payment.remittance_information))
        if payment.link:
            items.append((self.t("pay_online"), Run(payment.link, colour=ACCENT, link=payment.link)))
        return items

    # French mandatory mentions (BT-8, BT-23, reverse charge, notes PMT/PMD/AAB), BG-11, other notes
    def mentions(self) -> None:
        invoice, pdf = self.invoice, self.pdf
        texts = self.vat_mentions()
        if frame := self.billing_frame():
            texts.append(frame)
        if invoice.tax_representative:
            rep = invoice.tax_representative
            texts.append(self.pair("tax_representative", ", ".join([rep.name, rep.vat_id, *address_lines(rep.address)])))
        order = {code: i for i, code in enumerate(MANDATORY_NOTE_CODES)}
        notes = [note for note in invoice.notes if (note.subject_code or "").upper() not in HIDDEN_NOTE_CODES]
        texts += [note.text for note in sorted(notes, key=lambda note: order.get(note.subject_code or "", len(order)))]
        if texts:
            pdf.section_title(self.t("mentions"), keep=pdf.section_title_height() + 3 * line_height(BODY))
            pdf.flow(pdf.wrap_runs([Run(f"• {text}") for text in texts], pdf.epw), pdf.l_margin, pdf.epw)

    def vat_mentions(self) -> list[str]:
        """VAT on debits (BT-8 = 3), the other exigibility codes, and reverse charge (category AE) unless a note says it."""
        invoice = self.invoice
        texts = []
        code = invoice.vat_due_date_code
        if code in VAT_DUE_DATE_MENTIONS:
            texts.append(self.t(VAT_DUE_DATE_MENTIONS[code]))
        categories = {line.vat_category for line in invoice.lines} | {vat.category for vat in invoice.vat_breakdown}
        if "AE" in categories and not any("autoliquidation" in note.text.lower() for note in invoice.notes):
            texts.append(self.t("reverse_charge"))
        return texts

    def billing_frame(self) -> str | None:
        """BT-23: the category of operation (goods, services or both) and the billing frame."""
        process = (self.invoice.business_process or "").strip()
        if not process:
            return None
        match = BILLING_FRAME.match(process.upper())
        if not match:
            return self.pair("business_process", process)
        kind, case = match.groups()
        frame = process.upper()
        if case in BILLING_CASES[self.language]:
            frame = f"{frame} ({BILLING_CASES[self.language][case]})"
        return f"{self.pair('operation_category', OPERATION_CATEGORIES[self.language][kind])} · {self.pair('billing_frame', frame)}"


IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9 ]{8,}")
QR_SIZE = 20.0  # mm: a version 5–7 code (0.4–0.55 mm modules), read by phones and by ZXing at 200 dpi


@dataclass(frozen=True)
class PaymentCode:
    """The EPC QR code (drawn as vector squares, no image) and its caption."""

    rows: list[list[bool]]
    caption: Run

    def draw(self, pdf: InvoiceDocument, x: float, top: float) -> None:
        """The code with its top-left corner at (x, top)."""
        module = QR_SIZE / len(self.rows)
        pdf.set_fill_color(*INK)
        for r, row in enumerate(self.rows):
            c = 0
            while c < len(row):  # one rectangle per run of dark modules: fewer operators, no seams between squares
                if not row[c]:
                    c += 1
                    continue
                start = c
                while c < len(row) and row[c]:
                    c += 1
                pdf.rect(x + start * module, top + r * module, (c - start) * module, module, style="F")


VAT_DUE_DATE_MENTIONS = {"3": "debit_option", "35": "vat_on_delivery", "432": "vat_on_payment"}  # BT-8, UNTDID 2005


def render_pdf(invoice: Invoice, *, language: str = "fr") -> bytes:
    """The invoice as a PDF/A-3B document (A4, DejaVu Sans embedded, sRGB OutputIntent).

    Assumes `model.totals.complete()` has run: line amounts, VAT breakdown and totals are printed as held.
    """
    return InvoiceRenderer(invoice, language).render()

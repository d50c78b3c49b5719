"""What the checks read of an invoice: a few plain values taken from the canonical invoice, also what the history
keeps of it (so an assessment never re-reads earlier invoices' documents)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from gateway.model.invoice import CREDIT_NOTE_TYPE_CODES, Invoice, Party
from gateway.payments.references import name_key

GROUPS = re.compile(r"[A-Z]+|[0-9]+")


def number_key(number: str) -> str:
    """An invoice number however it is written: its runs of letters and of digits, upper case, the digits without
    leading zeros, whatever separates them ("f 2026/00042", "F2026-42" and "F-2026 042" are the same number)."""
    return "-".join(group.lstrip("0") or "0" if group.isdigit() else group for group in GROUPS.findall(number.upper()))


@dataclass(frozen=True)
class Facts:
    supplier: str  # its SIREN, else its VAT number, else its name folded
    supplier_name: str
    number: str
    issue_date: date
    total: Decimal  # BT-112, with VAT
    currency: str
    credit_note: bool
    iban: str | None  # the first account of BG-17, compacted
    document_sha256: str | None  # the bytes as received
    country: str | None  # the seller's country (BT-40)
    siren: str | None
    sirets: tuple[str, ...]
    vat_id: str | None
    address: str = ""  # the seller's postal address folded (lines, post code, city): "" when it gives none
    vat_rates: tuple[tuple[str, Decimal], ...] = ()  # (category, rate) of its VAT breakdown

    @property
    def key(self) -> str:
        return number_key(self.number)


def facts_of(invoice: Invoice, siren: str | None, document_sha256: str | None) -> Facts:
    seller, payment, totals = invoice.seller, invoice.payment, invoice.totals
    account = payment.credit_transfers[0].account_id if payment and payment.credit_transfers else None
    return Facts(
        supplier=siren or (seller.vat_id or "").replace(" ", "").upper() or name_key(seller.name),
        supplier_name=seller.name, number=invoice.number, issue_date=invoice.issue_date,
        total=totals.tax_inclusive_amount if totals and totals.tax_inclusive_amount is not None else Decimal("0"),
        currency=invoice.currency, credit_note=invoice.type_code in CREDIT_NOTE_TYPE_CODES,
        iban=account.replace(" ", "").upper() if account else None, document_sha256=document_sha256,
        country=seller.address.country_code if seller.address else None, siren=siren,
        sirets=tuple(i.value for i in seller.identifiers if i.scheme == "0009"), vat_id=seller.vat_id,
        address=address_key(seller), vat_rates=tuple((v.category, v.rate) for v in invoice.vat_breakdown if v.rate is not None),
    )  # fmt: skip


def address_key(party: Party) -> str:
    """A postal address however it is typed: its lines, post code and city folded, spaces and punctuation dropped."""
    address = party.address
    parts = (address.line1, address.line2, address.line3, address.postal_code, address.city) if address else ()
    return "".join(ch for ch in name_key(" ".join(p for p in parts if p)) if ch.isalnum())

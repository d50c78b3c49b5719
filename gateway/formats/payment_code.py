"""The EPC QR code printed on the readable page: a SEPA credit transfer a banking app fills in from a photo.

EPC069-12 ("Quick Response Code: guidelines to enable data capture for the initiation of a SEPA credit
transfer"), version 002: service tag BCD, UTF-8, identification SCT, the beneficiary's BIC (optional in 002),
name (≤ 70) and IBAN, the amount in euros, then either a structured ISO 11649 creditor reference (RF…, ≤ 35)
or an unstructured remittance text (≤ 140), never both; at most 331 bytes; error correction level M.

The code is drawn only when the invoice can be paid so: payment means SEPA credit transfer (UNTDID 4461 30
or 58), a valid IBAN in BG-17, euros, an amount due between 0.01 and 999 999 999.99.  The reference is the
invoice's payment reference (BT-83), structured when it is an RF reference, else as text; without BT-83 the
invoice number (BT-1), which is what the payer's bank statement then carries back.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import segno
from stdnum import iban, iso11649

from gateway.model.invoice import Invoice

CREDIT_TRANSFER_MEANS = frozenset({"30", "58"})  # UNTDID 4461: credit transfer, SEPA credit transfer
MAX_AMOUNT = Decimal("999999999.99")
MAX_PAYLOAD_BYTES = 331


@dataclass(frozen=True)
class TransferRequest:
    """What the EPC QR code asks the payer's bank to send."""

    name: str
    iban: str
    bic: str | None
    amount: Decimal
    reference: str | None  # ISO 11649 (RF…), structured
    text: str | None  # unstructured remittance information

    def payload(self) -> str:
        """The EPC069-12 version 002 payload, lines joined by LF, trailing empty elements left out."""
        fields = ["BCD", "002", "1", "SCT", self.bic or "", self.name, self.iban, f"EUR{self.amount:.2f}", "", self.reference or "", self.text or ""]
        return "\n".join(fields).rstrip("\n")


def transfer_request(invoice: Invoice) -> TransferRequest | None:
    """The credit transfer that pays `invoice` (completed: BT-115 known), or None when it cannot be asked by EPC QR code."""
    payment, totals = invoice.payment, invoice.totals
    if payment is None or payment.means_code not in CREDIT_TRANSFER_MEANS or invoice.currency != "EUR" or totals is None:
        return None
    amount = totals.amount_due
    if amount is None or not Decimal("0.01") <= amount <= MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")):
        return None
    account = next((a for a in payment.credit_transfers if iban.is_valid(a.account_id)), None)
    if account is None:
        return None
    bic = (account.bank_id or "").replace(" ", "").upper()
    name = (invoice.payee.name if invoice.payee else None) or account.account_name or invoice.seller.name
    remittance = (payment.remittance_information or "").strip()
    structured = iso11649.compact(remittance) if remittance and iso11649.is_valid(remittance) else None
    request = TransferRequest(
        name=" ".join(name.split())[:70],
        iban=iban.compact(account.account_id),
        bic=bic if len(bic) in (8, 11) else None,
        amount=amount,
        reference=structured,
        text=None if structured else (remittance or invoice.number)[:140],
    )
    return request if len(request.payload().encode()) <= MAX_PAYLOAD_BYTES else None


def modules(request: TransferRequest) -> list[list[bool]]:
    """The QR code's dark modules, row by row, without its quiet zone (the page leaves the room)."""
    code = segno.make_qr(request.payload(), error="m", encoding="utf-8", boost_error=False)
    return [[bool(module) for module in row] for row in code.matrix_iter(border=0)]

"""What a statement parser gives: the statement and its lines, independent of the file format.  Pure."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from gateway.errors import InputError

AMOUNT = re.compile(r"^-?[0-9]{1,18}(\.[0-9]{1,5})?$")  # ISO 20022 ActiveOrHistoricCurrencyAndAmount: 18 digits, 5 decimals


class MalformedStatement(InputError):
    """A statement file that does not parse: the message names the line or element; nothing is imported."""

    status = 422
    code = "malformed_statement"


class UnsupportedStatement(InputError):
    """Neither camt.053 / camt.054 (001.02–001.08) nor MT940."""

    status = 415
    code = "unsupported_statement"


@dataclass(frozen=True)
class Line:
    """One bank line: signed amount (credit positive), dates, references, remittance and the counterparty."""

    position: str
    amount: Decimal
    currency: str
    booking_date: date | None = None
    value_date: date | None = None
    bank_ref: str | None = None
    end_to_end_id: str | None = None
    creditor_ref: str | None = None
    remittance: str | None = None
    payer_name: str | None = None
    payer_iban: str | None = None

    def fingerprint(self, account: str) -> str:
        """The line's identity on its account: the bank's reference when it gives one, else its content (same line, same hash)."""
        if self.bank_ref and self.bank_ref.upper() not in ("NONREF", "NOTPROVIDED"):
            key = f"ref|{account}|{self.bank_ref}|{self.end_to_end_id or ''}|{self.amount}"
        else:
            parts = (account, self.booking_date, self.value_date, self.amount, self.currency, self.end_to_end_id, self.remittance, self.payer_iban)
            key = "content|" + "|".join("" if p is None else str(p) for p in parts)
        return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Statement:
    """One statement of a file (a camt file may carry several)."""

    format: str
    ref: str
    account: str
    currency: str | None
    lines: list[Line] = field(default_factory=list)


def amount_of(text: str | None, where: str) -> Decimal:
    """A decimal amount (camt: "1234.50"; MT940 uses a comma and is converted before), or `MalformedStatement` naming `where`."""
    value = Decimal(text.strip()) if text and AMOUNT.match(text.strip()) else None
    if value is None:
        raise MalformedStatement(f"{where}: {text!r} is not an amount.", where)
    return value


def date_of(text: str | None, where: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise MalformedStatement(f"{where}: {text!r} is not a date.", where) from None

"""SWIFT MT940 customer statements, read with the `mt-940` library.

A file often holds several statements (days, accounts): each, from its :20: to the next, is a statement of its own.
The library is lenient (a field it does not understand is skipped); each statement is first checked line by line so
that a malformed :61: statement line, a statement without its :20: reference, :25: account or :60F:/:60M: opening
balance, or with one of them twice (a :86: mislabelled :25: would change the account), is refused naming its line.
The :86: information, its lines joined again, is read for the usual structured keys (/EREF/, /REMI/, /NAME/, /IBAN/,
/CRF/ or ?20… subfields are kept as free text).
"""

from __future__ import annotations

import logging
import re
from datetime import date

import mt940

from gateway.payments.parsed import Line, MalformedStatement, Statement, UnsupportedStatement

# Value date, entry date, (R)C/D, funds code, amount, then the transaction type: banks write the amount without its
# comma ("C500NTRF") or the references not at all, and the mt-940 library reads them; only the structure is checked.
# The library logs each field it cannot read at ERROR, with its whole pattern; the refusal says it once, naming the file.
logging.getLogger("mt940").setLevel(logging.CRITICAL)
_STATEMENT_LINE = re.compile(r"^:61:\d{6}(\d{4})?R?[CD][A-Z]?\d{1,15}(,\d*)?[A-Z]")
_TAG = re.compile(r"/(EREF|REMI|NAME|IBAN|CRF|BENM|ORDP|KREF|MREF)/")
_ONCE = ("20", "25", "28C", "60F", "60M")  # fields a statement has once
WRAP_WIDTH = 61  # a :86: line this long was cut by width (see _unwrap)
_IBAN = re.compile(r"IBAN[ :/]*([A-Z]{2}\d{2}[A-Z0-9]{11,30})")


def is_mt940(data: bytes) -> bool:
    head = data[:4096].decode("latin-1")
    return ":20:" in head and (":25:" in head or ":61:" in head)


def _blocks(text: str) -> list[tuple[int, str]]:
    """The file's statements, each from its :20: to the next (a file often holds several days or accounts), with the
    number of its first line; what comes before the first :20: (SWIFT block headers) goes with it."""
    lines = text.splitlines()
    starts = [n for n, line in enumerate(lines) if line.strip().startswith(":20:")] or [0]
    starts[0] = 0
    return [(start + 1, "\n".join(lines[start:end])) for start, end in zip(starts, [*starts[1:], len(lines)], strict=True)]


def _check(text: str, first_line: int) -> None:
    """One statement's structure, line by line: its :61: lines, and :20:, :25:, :28C:, :60F: each once."""
    tags: list[str] = []
    for number, raw in enumerate(text.splitlines(), first_line):
        line = raw.strip()
        if line.startswith(":61:") and not _STATEMENT_LINE.match(line):
            why = "not an MT940 statement line (:61: date, C/D, amount, type)"
            raise MalformedStatement(f"line {number}: {why}: {line[:60]!r}", f"line {number}")
        if line.startswith(":") and line.count(":") >= 2:
            tag = line.split(":")[1]
            if tag in _ONCE and tag in tags:
                raise MalformedStatement(f"line {number}: a second :{tag}: field in one statement (after line {first_line}).", f"line {number}")
            tags.append(tag)
    if "34F" in tags and not {"60F", "60M"} & set(tags):
        raise UnsupportedStatement(
            "An MT942 interim transaction report: the gateway imports MT940 end-of-day statements (or camt.053 / camt.054).", "/"
        )
    missing = [tag for tag in ("20", "25") if tag not in tags] + ([] if {"60F", "60M"} & set(tags) else ["60F"])
    if missing:
        raise MalformedStatement(f"line {first_line}: the MT940 statement has no :{missing[0]}: field.", f":{missing[0]}:")


def _tags(details: str) -> dict[str, str]:
    parts = _TAG.split(details)
    found = {parts[i]: parts[i + 1].strip(" /") for i in range(1, len(parts) - 1, 2)}
    return {key: value for key, value in found.items() if value}


def _unwrap(field: str) -> str:
    """A :86: field on one line.  Banks cut it at the width of the field (65 characters, 61 on the line of the tag) in
    the middle of a word or a reference: such a line goes on without a space; a shorter line ended where the bank
    chose to, and a space joins it to the next."""
    lines = field.split("\n")
    return "".join(line + ("" if len(line) >= WRAP_WIDTH or n == len(lines) - 1 else " ") for n, line in enumerate(lines)).strip()


def _date(value: object) -> date | None:
    return date(value.year, value.month, value.day) if value is not None else None  # type: ignore[attr-defined]


def parse(data: bytes) -> list[Statement]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    blocks = _blocks(text)
    for first_line, block in blocks:
        _check(block, first_line)  # every statement, before any is read: a malformed file imports nothing
    statements = []
    for n, (first_line, block) in enumerate(blocks, 1):
        transactions = mt940.models.Transactions()
        try:
            transactions.parse(block)
        except Exception as exc:  # a third-party parser of untrusted text: whatever it raises, the file is refused
            said = str(exc).splitlines()[0][:200] if str(exc) else ""
            where = f"line {first_line}"
            raise MalformedStatement(f"{where}: the MT940 statement does not parse: {type(exc).__name__}: {said}.", where) from None
        statements.append(_statement(transactions, f":20:[{n}]/" if len(blocks) > 1 else ""))
    return statements


def _statement(transactions: mt940.models.Transactions, where: str) -> Statement:
    head = transactions.data
    ref = str(head.get("transaction_reference") or "")
    if head.get("statement_number"):
        ref = f"{ref}/{head['statement_number']}/{head.get('sequence_number') or ''}".rstrip("/")
    account = str(head.get("account_identification") or "").replace(" ", "")
    lines = []
    for index, transaction in enumerate(transactions, 1):
        values = transaction.data
        details = " ".join(_unwrap(str(values.get(k) or "")) for k in ("transaction_details", "extra_details")).strip()
        tags = _tags(details)
        iban = tags.get("IBAN") or (m.group(1) if (m := _IBAN.search(details)) else None)
        amount = values["amount"]
        customer = values.get("customer_reference")
        lines.append(
            Line(
                f"{where}:61:[{index}]",
                amount.amount,
                amount.currency or values.get("currency") or "EUR",
                _date(values.get("entry_date")),
                _date(values.get("date")),
                bank_ref=values.get("bank_reference") or (customer if customer and customer != "NONREF" else None),
                end_to_end_id=tags.get("EREF") or (customer if customer and customer != "NONREF" else None),
                creditor_ref=tags.get("CRF") or (tags["REMI"] if tags.get("REMI", "").startswith("RF") else None),
                remittance=tags.get("REMI") or details or None,
                payer_name=tags.get("NAME") or tags.get("ORDP"),
                payer_iban=iban,
            )
        )
    return Statement("mt940", ref, account, None, lines)

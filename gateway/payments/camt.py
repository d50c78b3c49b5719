"""ISO 20022 camt.053 (statement) and camt.054 (debit/credit notification), versions 001.02 to 001.08.

Parsed with the hardened parser; the version is read from the namespace.  One line per transaction detail
(TxDtls) of an entry, or per entry when it has none.  The element paths differ a little between versions
(the transaction amount under AmtDtls in 001.02, under Amt later; the debtor's name under Dbtr/Pty from 001.08):
each is looked up in both places.
"""

from __future__ import annotations

import re

from lxml import etree

from gateway.formats.xmlparse import parse_untrusted
from gateway.payments.parsed import Line, MalformedStatement, Statement, UnsupportedStatement, amount_of, date_of

NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:(camt\.05[34])\.001\.0([2-8])$")
_CONTAINERS = {"camt.053": ("BkToCstmrStmt", "Stmt"), "camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn")}


def is_camt(data: bytes) -> bool:
    return data[:512].lstrip().startswith(b"<") and b"urn:iso:std:iso:20022:tech:xsd:camt.05" in data[:4096]


def parse(data: bytes) -> list[Statement]:
    root = parse_untrusted(data).getroot()
    ns = etree.QName(root).namespace or ""
    found = NAMESPACE.match(ns)
    if not found:
        raise UnsupportedStatement(f"Namespace {ns!r} is not camt.053 or camt.054 001.02 to 001.08.", "/")
    kind, version = found.group(1), found.group(2)
    reader = _Reader(ns)
    group, item = _CONTAINERS[kind]
    body = reader.find(root, group)
    if body is None:
        raise MalformedStatement(f"/Document: no {group} element.", "/Document")
    statements = []
    for index, stmt in enumerate(reader.all(body, item), 1):
        where = f"{item}[{index}]"
        ref = reader.text(stmt, "Id")
        account = reader.text(stmt, "Acct/Id/IBAN") or reader.text(stmt, "Acct/Id/Othr/Id")
        if not ref or not account:
            raise MalformedStatement(f"{where}: the statement needs its Id and its account (Acct/Id).", where)
        lines = [line for n, entry in enumerate(reader.all(stmt, "Ntry"), 1) for line in _entry_lines(reader, entry, f"{where}/Ntry[{n}]")]
        statements.append(Statement(f"{kind}.001.0{version}", ref, account.replace(" ", ""), reader.text(stmt, "Acct/Ccy"), lines))
    if not statements:
        raise MalformedStatement(f"{group}: no {item} element.", group)
    return statements


class _Reader:
    """Paths of local names in one namespace."""

    def __init__(self, ns: str) -> None:
        self.ns = ns

    def _path(self, path: str) -> str:
        return "/".join(f"{{{self.ns}}}{part}" for part in path.split("/"))

    def find(self, element: etree._Element, path: str) -> etree._Element | None:
        return element.find(self._path(path))

    def all(self, element: etree._Element, path: str) -> list[etree._Element]:
        return element.findall(self._path(path))

    def text(self, element: etree._Element, *paths: str) -> str | None:
        for path in paths:
            found = element.find(self._path(path))
            if found is not None and found.text and found.text.strip():
                return found.text.strip()
        return None


def _amount(reader: _Reader, element: etree._Element, path: str, where: str) -> tuple[str, str] | None:
    found = reader.find(element, path)
    if found is None:
        return None
    currency = found.get("Ccy")
    if not currency or not re.fullmatch(r"[A-Z]{3}", currency):
        raise MalformedStatement(f"{where}/{path}: the amount needs its currency (Ccy).", f"{where}/{path}")
    return found.text or "", currency


def _entry_lines(reader: _Reader, entry: etree._Element, where: str) -> list[Line]:
    amount = _amount(reader, entry, "Amt", where)
    if amount is None:
        raise MalformedStatement(f"{where}: the entry has no Amt.", f"{where}/Amt")
    sign = {"CRDT": 1, "DBIT": -1}.get(reader.text(entry, "CdtDbtInd") or "")
    if sign is None:
        raise MalformedStatement(f"{where}/CdtDbtInd: CRDT or DBIT expected.", f"{where}/CdtDbtInd")
    total = amount_of(amount[0], f"{where}/Amt")
    booking = date_of(reader.text(entry, "BookgDt/Dt", "BookgDt/DtTm"), f"{where}/BookgDt")
    value = date_of(reader.text(entry, "ValDt/Dt", "ValDt/DtTm"), f"{where}/ValDt")
    entry_ref = reader.text(entry, "AcctSvcrRef", "NtryRef")
    details = [tx for block in reader.all(entry, "NtryDtls") for tx in reader.all(block, "TxDtls")]
    if not details:
        return [Line(where, sign * total, amount[1], booking, value, bank_ref=entry_ref)]
    amounts = [
        _amount(reader, tx, "Amt", f"{where}/NtryDtls/TxDtls[{n}]") or _amount(reader, tx, "AmtDtls/TxAmt/Amt", f"{where}/NtryDtls/TxDtls[{n}]")
        for n, tx in enumerate(details, 1)
    ]
    if len(details) > 1 and not all(amounts):
        # Several transactions and not each with its amount (camt.054 allows it): one line for the entry, carrying
        # what all of them say, so that the statement is imported and a person can split it.
        # Free text is joined; an identifier (a reference, the payer and its account) is kept only when all agree.
        parts = [_details(reader, tx, sign) for tx in details]
        merged = {key: _agreed([p[key] for p in parts]) for key in ("end_to_end_id", "creditor_ref", "payer_name", "payer_iban")}
        merged["remittance"] = " ".join(dict.fromkeys(p["remittance"] for p in parts if p["remittance"])) or None
        return [Line(where, sign * total, amount[1], booking, value, bank_ref=entry_ref, **merged)]
    lines = []
    for n, (tx, own) in enumerate(zip(details, amounts, strict=True), 1):
        here = f"{where}/NtryDtls/TxDtls[{n}]"
        tx_sign = {"CRDT": 1, "DBIT": -1}.get(reader.text(tx, "CdtDbtInd") or "", sign)
        value_of = amount_of(own[0], f"{here}/Amt") if own else total
        bank_ref = reader.text(tx, "Refs/AcctSvcrRef") or (f"{entry_ref}/{n}" if entry_ref else None)
        lines.append(Line(here, tx_sign * value_of, own[1] if own else amount[1], booking, value, bank_ref=bank_ref, **_details(reader, tx, tx_sign)))
    return lines


def _details(reader: _Reader, tx: etree._Element, sign: int) -> dict[str, str | None]:
    """What a transaction says of itself: its references, what the payer wrote, the payer (the creditor for a debit)."""
    party = "RltdPties/Dbtr/Pty/Nm" if sign > 0 else "RltdPties/Cdtr/Pty/Nm"
    return {
        "end_to_end_id": _given(reader.text(tx, "Refs/EndToEndId")),
        "creditor_ref": reader.text(tx, "RmtInf/Strd/CdtrRefInf/Ref"),
        "remittance": " ".join(e.text.strip() for e in reader.all(tx, "RmtInf/Ustrd") if e.text and e.text.strip()) or None,
        "payer_name": reader.text(tx, party, party.replace("/Pty", "")),
        "payer_iban": reader.text(tx, "RltdPties/DbtrAcct/Id/IBAN" if sign > 0 else "RltdPties/CdtrAcct/Id/IBAN"),
    }


def _agreed(values: list[str | None]) -> str | None:
    """The one value every transaction gives, else None (two payers' IBANs joined would be nobody's)."""
    given = set(values)
    return given.pop() if len(given) == 1 else None


def _given(value: str | None) -> str | None:
    return None if value is None or value.upper() == "NOTPROVIDED" else value

"""Statement files read: camt.053 (001.08), camt.054 (001.02), MT940; the format detected; malformed files named where."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.payments.parsed import MalformedStatement, UnsupportedStatement
from gateway.payments.service import parse
from tests.payments.conftest import data


def test_camt053_statement_lines():
    [statement] = parse(data("camt053_v08.xml"))
    assert (statement.format, statement.ref, statement.account) == ("camt.053.001.08", "STMT-2026-12-02", "FR7630006000011234567890189")
    first, grouped, fee = statement.lines
    assert (first.amount, first.creditor_ref, first.payer_name, first.payer_iban, first.end_to_end_id) == (
        Decimal("14947.54"), "RF58F2026000142", "BOULANGERIES MARTIN", "DE89370400440532013000", None,
    )  # fmt: skip
    assert first.position == "Stmt[1]/Ntry[1]/NtryDtls/TxDtls[1]" and first.bank_ref == "BQ-20261202-0001-1"
    assert (grouped.remittance, grouped.end_to_end_id, grouped.bank_ref) == ("Reglement FA2026-12, 13 et 14", "VIR-556677", "BQ-20261202-0002/1")
    assert (fee.amount, fee.position) == (Decimal("-12.00"), "Stmt[1]/Ntry[3]")


def test_camt054_version_02_amount_details_and_debtor_name():
    [notification] = parse(data("camt054_v02.xml"))
    assert (notification.format, notification.account) == ("camt.054.001.02", "FR7630006000011234567890189")
    [line] = notification.lines
    assert (line.amount, line.payer_name, line.remittance) == (Decimal("14945.04"), "MARTIN BOULANGERIES", "Facture n° F 2026-000143 (frais deduits)")


@pytest.mark.parametrize("version", ["02", "04", "06", "08"])
def test_every_camt_version_is_recognised(version):
    text = data("camt054_v02.xml").replace(b"camt.054.001.02", f"camt.054.001.{version}".encode())
    assert parse(text)[0].format == f"camt.054.001.{version}"


def test_mt940_statement():
    [statement] = parse(data("statement.mt940"))
    assert (statement.format, statement.ref, statement.account) == ("mt940", "STMT20261204/00043/001", "FR7630006000011234567890189")
    paid, deposit, fee = statement.lines
    assert (paid.amount, paid.end_to_end_id, paid.payer_name, paid.payer_iban) == (
        Decimal("14947.54"), "F2026-000144", "Boulangeries Martin SARL", "DE89370400440532013000",
    )  # fmt: skip
    assert (deposit.amount, deposit.remittance, fee.amount) == (Decimal("5000.00"), "Acompte facture FA2026-15", Decimal("-35.50"))


def test_malformed_files_name_their_element_or_line():
    with pytest.raises(MalformedStatement, match=r"Stmt\[1\]/Ntry\[2\]/Amt: 'douze' is not an amount"):
        parse(
            data("camt053_v08.xml").replace(b'<Amt Ccy="EUR">44842.62</Amt>\n        <CdtDbtInd>', b'<Amt Ccy="EUR">douze</Amt>\n        <CdtDbtInd>')
        )
    with pytest.raises(MalformedStatement, match=r"Stmt\[1\]/Ntry\[3\]/Amt: '1E\+400' is not an amount"):
        parse(data("camt053_v08.xml").replace(b'<Amt Ccy="EUR">12.00</Amt>', b'<Amt Ccy="EUR">1E+400</Amt>'))
    with pytest.raises(MalformedStatement, match=r"Ntry\[1\]/CdtDbtInd: CRDT or DBIT"):
        parse(data("camt054_v02.xml").replace(b"<CdtDbtInd>CRDT</CdtDbtInd>", b"<CdtDbtInd>PLUS</CdtDbtInd>"))
    with pytest.raises(MalformedStatement, match=r"^line 7: not an MT940 statement line"):
        parse(data("statement.mt940").replace(b"C5000,00NTRF", b"C5000.00NTRF"))
    with pytest.raises(MalformedStatement, match=r":25:"):
        parse(data("statement.mt940").replace(b":25:FR7630006000011234567890189\r\n", b""))
    with pytest.raises(UnsupportedStatement):
        parse(b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"/>')
    with pytest.raises(UnsupportedStatement):
        parse(b"date;amount\n2026-12-01;12.00\n")


def test_mt940_lines_as_banks_write_them():
    """Seen in banks' files: the amount without its comma, no reference after the type, a funds code, a reversal."""
    text = data("statement.mt940")
    for written, amount in (
        (b":61:2612041204C5000NTRFACOMPTE15//BQ0002", Decimal("5000")),  # no comma
        (b":61:2612041204C5000,00NTRF", Decimal("5000.00")),  # no reference at all
        (b":61:2612041204CF5000,00NTRFACOMPTE15//BQ0002", Decimal("5000.00")),  # funds code (3rd letter of the currency)
    ):
        [statement] = parse(text.replace(b":61:2612041204C5000,00NTRFACOMPTE15//BQ0002", written))
        assert statement.lines[1].amount == amount and statement.lines[1].remittance == "Acompte facture FA2026-15", written


def test_an_mt942_interim_report_is_refused_as_such():
    interim = data("statement.mt940").replace(b":60F:C261203EUR25000,00", b":34F:EUR0,00")
    with pytest.raises(UnsupportedStatement, match="MT942 interim transaction report"):
        parse(interim)


def test_a_camt054_entry_with_several_transactions_without_amounts_is_one_line():
    """camt.054 lets the transactions of an entry go without their amounts: one line for the entry, with what each says."""
    one = b"<TxDtls><Refs><EndToEndId>E2E-1</EndToEndId></Refs><RmtInf><Ustrd>FA2026-12</Ustrd></RmtInf></TxDtls>"
    two = b"<TxDtls><Refs><EndToEndId>E2E-1</EndToEndId></Refs><RmtInf><Ustrd>FA2026-13</Ustrd></RmtInf></TxDtls>"
    camt = data("camt054_v02.xml")
    start, end = camt.index(b"<NtryDtls>"), camt.index(b"</NtryDtls>")
    [notification] = parse(camt[:start] + b"<NtryDtls>" + one + two + camt[end:])
    [line] = notification.lines
    assert (line.position, line.amount, line.remittance, line.end_to_end_id) == (
        "Ntfctn[1]/Ntry[1]",
        Decimal("14945.04"),
        "FA2026-12 FA2026-13",
        "E2E-1",
    )
    # An identifier is kept only when every transaction gives the same: two end-to-end ids are nobody's.
    [other] = parse(camt[:start] + b"<NtryDtls>" + one + two.replace(b"E2E-1", b"E2E-2") + camt[end:])
    assert (other.lines[0].end_to_end_id, other.lines[0].remittance) == (None, "FA2026-12 FA2026-13")


def test_an_mt940_file_of_several_statements_gives_each_its_own_account():
    """Banks send a day's statements of all accounts, or a month of days, in one file: each :20: starts a statement."""
    first = data("statement.mt940")
    second = first.replace(b"FR7630006000011234567890189", b"FR7610107001011234567890129").replace(b"STMT20261204", b"STMT20261205")
    statements = parse(first + b"\r\n" + second)
    assert [(s.ref, s.account, len(s.lines)) for s in statements] == [
        ("STMT20261204/00043/001", "FR7630006000011234567890189", 3),
        ("STMT20261205/00043/001", "FR7610107001011234567890129", 3),
    ]
    assert statements[1].lines[0].position.startswith(":20:[2]/:61:") and statements[1].lines[0].amount == Decimal("14947.54")
    # A second :25: inside one statement (a :86: line that begins like a field) would change the account: refused.
    mislabelled = first.replace(b":86:FRAIS BANCAIRES", b":86:FRAIS BANCAIRES\r\n:25:FR7610107001011234567890129")
    with pytest.raises(MalformedStatement, match=r"^line 11: a second :25: field in one statement"):
        parse(mislabelled)

"""The EPC QR code on the readable page: read back from the rasterised page, it asks for the invoice's transfer.

The page is rasterised by poppler's pdftoppm (Debian poppler-utils, installed by .ci/run) and the code read by
ZXing (zxing-cpp), an implementation independent of the one that wrote it (segno).  That the Factur-X with its
code still passes the official checks is tests/formats/test_examples.py (every example, every rule set).
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import subprocess
from decimal import Decimal

import pytest
import zxingcpp
from PIL import Image
from stdnum import iso11649

from gateway.formats.cii import write_cii
from gateway.formats.facturx import build_facturx
from gateway.formats.payment_code import transfer_request
from gateway.model.invoice import Invoice
from gateway.model.serialize import invoice_from_json
from gateway.model.totals import complete
from tests.conftest import load_example


def _invoice(name: str = "invoice-fr-b2b", **payment: object) -> Invoice:
    invoice = invoice_from_json(load_example(name))
    if payment:
        invoice = dataclasses.replace(invoice, payment=dataclasses.replace(invoice.payment, **payment))
    assert not [f for f in complete(invoice) if f.severity == "fatal"]
    return invoice


def _codes_on_first_page(invoice: Invoice) -> list[str]:
    if shutil.which("pdftoppm") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("pdftoppm (poppler-utils) is missing")
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    pdf = build_facturx(invoice, write_cii(invoice, "en16931"), "en16931")
    png = subprocess.run(["pdftoppm", "-r", "200", "-f", "1", "-l", "1", "-png", "-"], input=pdf, capture_output=True, check=True).stdout
    return [code.text for code in zxingcpp.read_barcodes(Image.open(io.BytesIO(png))) if code.format == zxingcpp.BarcodeFormat.QRCode]


def _fields(payload: str) -> list[str]:
    lines = payload.split("\n")
    return lines + [""] * (12 - len(lines))


def test_the_code_on_the_page_asks_for_the_invoices_iban_amount_and_reference():
    invoice = _invoice()
    (payload,) = _codes_on_first_page(invoice)
    fields = _fields(payload)
    assert fields[:4] == ["BCD", "002", "1", "SCT"]
    assert (fields[4], fields[6]) == (invoice.payment.credit_transfers[0].bank_id, invoice.payment.credit_transfers[0].account_id)
    assert fields[5] == "Atelier Dupont & Fils"
    assert Decimal(fields[7].removeprefix("EUR")) == invoice.totals.amount_due and fields[7].startswith("EUR")
    assert (fields[9], fields[10]) == ("", invoice.payment.remittance_information)  # BT-83 as given, not an RF reference
    assert payload == transfer_request(invoice).payload()


def test_an_rf_creditor_reference_goes_in_the_structured_field():
    reference = "RF18539007547034"
    assert iso11649.is_valid(reference)
    (payload,) = _codes_on_first_page(_invoice(remittance_information="RF18 5390 0754 7034"))
    assert _fields(payload)[9:11] == [reference, ""]


def test_without_a_payment_reference_the_invoice_number_is_the_remittance_text():
    invoice = _invoice(remittance_information=None)
    assert _fields(transfer_request(invoice).payload())[10] == invoice.number


@pytest.mark.parametrize(
    "change",
    [
        {"means_code": "49"},  # direct debit: nothing for the payer to send
        {"credit_transfers": []},
        {"credit_transfers": [{"account_id": "FR7630006000011234567890188"}]},  # IBAN check digits wrong
    ],
)
def test_no_code_when_the_invoice_cannot_be_paid_by_sepa_transfer(change):
    if "credit_transfers" in change:
        accounts = [dataclasses.replace(_invoice().payment.credit_transfers[0], **a) for a in change["credit_transfers"]]
        change = {"credit_transfers": accounts}
    invoice = _invoice(**change)
    assert transfer_request(invoice) is None
    assert _codes_on_first_page(invoice) == []


def test_no_code_for_an_amount_not_in_euros():
    invoice = dataclasses.replace(_invoice(), currency="USD")
    assert transfer_request(invoice) is None


def test_a_long_title_puts_the_code_under_it_and_it_still_reads():
    invoice = dataclasses.replace(_invoice(), type_code="389")  # "Facture autofacturée": no room beside the title lines
    (payload,) = _codes_on_first_page(invoice)
    assert payload == transfer_request(invoice).payload()

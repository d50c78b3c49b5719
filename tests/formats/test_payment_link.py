"""The invoice's optional payment link (`payment.link` in the intake JSON): a clickable link on the readable page (a
printable URI annotation, as PDF/A wants), the Factur-X still clean under every official rule set, nothing of it in
the CII or the UBL (no EN 16931 term carries it), and anything but an https address refused at intake."""

from __future__ import annotations

import copy
import io
import shutil
import subprocess

import pikepdf
import pytest

from gateway import intake
from gateway.formats.cii import write_cii
from gateway.formats.documents import read_document
from gateway.formats.facturx import build_facturx
from gateway.formats.ubl import write_ubl
from gateway.validation.pipeline import validate
from tests.conftest import load_example

LINK = "https://pay.example.com/invoices/F2026-000142?amount=14947.54&ref=RF18539007547034"


def _with_link(link: str) -> dict:
    data = copy.deepcopy(load_example("invoice-fr-b2b"))
    data["payment"]["link"] = link
    return data


def test_the_link_is_on_the_page_and_the_facturx_stays_clean():
    processed = intake.read_json(_with_link(LINK))
    assert processed.report.valid and processed.invoice.payment.link == LINK
    cii = write_cii(processed.invoice, "en16931")
    pdf = build_facturx(processed.invoice, cii, "en16931")
    annotations = [a for page in pikepdf.open(io.BytesIO(pdf)).pages for a in page.get("/Annots", [])]
    assert annotations and all(a["/Subtype"] == "/Link" and str(a["/A"]["/URI"]) == LINK and int(a["/F"]) & 4 for a in annotations)
    report = validate(read_document(pdf, "application/pdf"), french=True)
    assert not report.findings, [(f.rule_id, f.message) for f in report.findings]
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
        assert "Payer en ligne" in text and "pay.example.com" in text
    assert b"pay.example.com" not in cii and b"pay.example.com" not in write_ubl(processed.invoice)


def test_an_invoice_without_a_link_has_no_annotation():
    processed = intake.read_json(load_example("invoice-fr-b2b"))
    pdf = build_facturx(processed.invoice, write_cii(processed.invoice, "en16931"), "en16931")
    assert not [a for page in pikepdf.open(io.BytesIO(pdf)).pages for a in page.get("/Annots", [])]


@pytest.mark.parametrize(
    "link", ["http://pay.example.com/F1", "javascript:alert(1)", "https://", "https://pay.example.com/a b", "https://x/" + "a" * 2000]
)
def test_anything_but_an_https_address_is_refused(link):
    with pytest.raises(intake.InvalidInvoice) as refused:
        intake.read_json(_with_link(link))
    assert "/payment/link" in [detail.pointer for detail in refused.value.details]


def test_the_readable_page_keeps_the_link_when_it_wraps():
    processed = intake.read_json(_with_link(LINK + "&" + "x" * 150))
    pdf = build_facturx(processed.invoice, write_cii(processed.invoice, "en16931"), "en16931")
    annotations = [a for page in pikepdf.open(io.BytesIO(pdf)).pages for a in page.get("/Annots", [])]
    assert len(annotations) >= 2 and {str(a["/A"]["/URI"]) for a in annotations} == {LINK + "&" + "x" * 150}

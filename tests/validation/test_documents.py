"""read_document: syntax and profile detection, Factur-X PDF extraction, refusal of what is not an invoice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.errors import InputError, MalformedDocument, UnsupportedDocument
from gateway.formats.documents import read_document
from gateway.formats.profiles import PROFILES
from tests.validation.conftest import fixture
from tests.validation.pdfs import build_pdf, deflate

CII_GUIDELINE = b"<ram:ID>urn:cen.eu:en16931:2017</ram:ID>"


def test_cii_is_detected_with_its_guideline_and_profile():
    data = fixture("fr-invoice-cii.xml")
    document = read_document(data, "application/xml")
    assert (document.syntax, document.container, document.pdf) == ("cii", "xml", None)
    assert document.xml is data
    assert document.guideline_id == "urn:cen.eu:en16931:2017"
    assert document.profile is PROFILES["en16931"]
    assert document.tree.getroot().tag.endswith("CrossIndustryInvoice")


@pytest.mark.parametrize("profile", PROFILES.values(), ids=lambda p: p.name)
def test_every_factur_x_profile_is_recognised_from_bt24(profile):
    data = fixture("fr-invoice-cii.xml").replace(CII_GUIDELINE, f"<ram:ID> {profile.guideline_id}\n</ram:ID>".encode())
    document = read_document(data)
    assert document.guideline_id == profile.guideline_id
    assert document.profile is profile


def test_cii_without_factur_x_profile_has_no_profile():
    xrechnung = b"<ram:ID>urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0</ram:ID>"
    data = fixture("fr-invoice-cii.xml").replace(CII_GUIDELINE, xrechnung)
    document = read_document(data)
    assert document.guideline_id.endswith("xrechnung_3.0")
    assert document.profile is None


def test_ubl_invoice_and_credit_note_are_detected():
    invoice = read_document(fixture("fr-invoice-ubl.xml"))
    assert (invoice.syntax, invoice.guideline_id) == ("ubl-invoice", "urn:cen.eu:en16931:2017")
    credit_note = (
        fixture("fr-invoice-ubl.xml")
        .replace(b"<Invoice ", b"<CreditNote ")
        .replace(b"</Invoice>", b"</CreditNote>")
        .replace(b"xsd:Invoice-2", b"xsd:CreditNote-2")
    )
    assert read_document(credit_note).syntax == "ubl-creditnote"


def test_facturx_pdf_gives_the_exact_embedded_xml():
    xml = fixture("fr-invoice-cii.xml")
    pdf = build_pdf([("factur-x.xml", deflate(xml), True)])
    document = read_document(pdf, "application/pdf")
    assert (document.syntax, document.container, document.pdf, document.xml) == ("cii", "pdf", pdf, xml)
    assert read_document(build_pdf([("factur-x.xml", xml, False)])).xml == xml  # an unfiltered stream too


def test_factur_x_xml_is_preferred_over_other_attachments():
    zugferd1 = b'<rsm:CrossIndustryDocument xmlns:rsm="urn:ferd:CrossIndustryDocument:invoice:1p0"/>'
    pdf = build_pdf([("ZUGFeRD-invoice.xml", zugferd1, False), ("factur-x.xml", fixture("fr-invoice-cii.xml"), False), ("notes.txt", b"x", False)])
    assert read_document(pdf).syntax == "cii"
    assert read_document(build_pdf([("zugferd-invoice.xml", fixture("fr-invoice-cii.xml"), False)])).syntax == "cii"
    assert read_document(build_pdf([("xrechnung.xml", fixture("fr-invoice-ubl.xml"), False)])).syntax == "ubl-invoice"


def test_xml_mentioning_a_pdf_header_is_still_xml():
    data = fixture("fr-invoice-ubl.xml").replace(b"<cbc:Note>#BAR#B2B", b"<cbc:Note>#BAR#B2B %PDF-1.7")
    assert read_document(data, "application/pdf").container == "xml"


def test_pdf_without_invoice_xml_is_unsupported_and_names_its_attachments():
    with pytest.raises(UnsupportedDocument, match="no embedded Factur-X/ZUGFeRD invoice XML"):
        read_document(build_pdf())
    with pytest.raises(UnsupportedDocument, match=r"embedded files: order-x\.xml"):
        read_document(build_pdf([("order-x.xml", b"<a/>", False)]))


def test_unreadable_pdf_is_malformed():
    with pytest.raises(MalformedDocument, match="Unreadable PDF"):
        read_document(build_pdf([("factur-x.xml", fixture("fr-invoice-cii.xml"), False)])[:400])
    with pytest.raises(MalformedDocument, match="not valid Flate data"):
        read_document(build_pdf([("factur-x.xml", b"not zlib", True)]))


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (b'<rsm:CrossIndustryDocument xmlns:rsm="urn:ferd:CrossIndustryDocument:invoice:1p0"/>', "ZUGFeRD 1.0"),
        (b'<rsm:SCRDMCCBDACIOMessageStructure xmlns:rsm="urn:un:unece:uncefact:data:SCRDMCCBDACIOMessageStructure:100"/>', "Order-X"),
        (
            b'<r:CrossDomainAcknowledgementAndResponse xmlns:r="urn:un:unece:uncefact:data:standard:CrossDomainAcknowledgementAndResponse:100"/>',
            "CDAR",
        ),
        (b"<Invoice/>", r"root element \{\}Invoice"),
        (b'<x:Order xmlns:x="urn:example:order"/>', r"\{urn:example:order\}Order"),
        (b'{"number": "F1"}', "JSON"),
        (b"", "Empty"),
        (b"  \n", "Empty"),
        (b"\x00\x01binary\xff", "Neither XML nor PDF"),
    ],
)
def test_what_is_not_an_invoice_is_unsupported_with_a_clear_message(data, found):
    with pytest.raises(UnsupportedDocument, match=found):
        read_document(data, "application/octet-stream")


def test_the_declared_content_type_is_named_in_the_message():
    with pytest.raises(UnsupportedDocument, match=r"declared as application/xml"):
        read_document(b"%%EOF", "application/xml")


def test_a_pdf_embedding_zugferd1_says_so():
    zugferd1 = b'<rsm:CrossIndustryDocument xmlns:rsm="urn:ferd:CrossIndustryDocument:invoice:1p0"/>'
    with pytest.raises(UnsupportedDocument, match=r"The PDF's embedded XML is a ZUGFeRD 1\.0 invoice"):
        read_document(build_pdf([("ZUGFeRD-invoice.xml", zugferd1, False)]))


@pytest.mark.corpus
def test_corpus_documents_are_classified_as_the_corpus_says(corpus: Path):
    """Every whole document of the corpus: same syntax and BT-24, or an InputError where the corpus could not read it.

    Four Mustang PDFs embed both ZUGFeRD-invoice.xml (ZUGFeRD 1) and factur-x.xml; the corpus read the former,
    we prefer factur-x.xml (Factur-X 1.0, section 6.2.2), so those are expected to read as CII.
    """
    records = [r for r in json.loads((corpus / "expected.json").read_text())["records"] if r["test"] is None]
    readable = {"cii", "ubl-invoice", "ubl-creditnote"}
    for record in records:
        data = (corpus / record["path"]).read_bytes()
        if record.get("syntax") == "zugferd1" and "factur-x.xml" in record.get("pdf_attachments", []):
            assert read_document(data).syntax == "cii", record["path"]
        elif record.get("syntax") in readable:
            document = read_document(data)
            assert (document.syntax, document.guideline_id) == (record["syntax"], record["guideline_id"]), record["path"]
        else:
            with pytest.raises(InputError):
                read_document(data)

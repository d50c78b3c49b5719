"""Factur-X PDF/A-3: the readable view (render_pdf) and the embedding of the CII (build_facturx).

veraPDF (Java) is not available here, so PDF/A-3B conformance is checked structurally:
OutputIntent with an sRGB ICC profile, every font embedded, file ID, XMP identification and
Factur-X extension schema, XMP and information dictionary in agreement, /AF with AFRelationship.
"""

from __future__ import annotations

import dataclasses
import io
from decimal import Decimal
from functools import cache

import facturx
import pikepdf
import pypdf
import pytest
from lxml import etree

from gateway.formats.cii import write_cii
from gateway.formats.facturx import FILENAME, build_facturx
from gateway.formats.profiles import PROFILES
from gateway.formats.render import format_money, format_number, format_percent, render_pdf
from gateway.formats.xmlparse import parse_untrusted
from gateway.model.invoice import Invoice
from gateway.model.serialize import invoice_from_json
from gateway.model.totals import complete
from tests.conftest import load_example

NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
    "pdfaProperty": "http://www.aiim.org/pdfa/ns/property#",
    "fx": "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
}


def example(name: str = "invoice-fr-b2b") -> Invoice:
    invoice = invoice_from_json(load_example(name))
    assert not [f for f in complete(invoice) if f.severity == "fatal"]
    return invoice


@cache
def built(profile: str = "en16931") -> tuple[bytes, bytes]:
    """(Factur-X PDF, embedded CII) of the French example, built once per profile."""
    invoice = example()
    cii = write_cii(invoice, profile)
    return build_facturx(invoice, cii, profile), cii


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def xmp_of(pdf: pikepdf.Pdf) -> etree._Element:
    return parse_untrusted(pdf.Root.Metadata.read_bytes()).getroot()


def xmp_value(root: etree._Element, path: str) -> str:
    values = root.xpath(f"//{path}/text()", namespaces=NS)
    assert len(values) == 1, (path, values)
    return values[0]


def fonts(pdf: pikepdf.Pdf):
    for page in pdf.pages:
        yield from page.Resources.get("/Font", {}).values()


# ---------------------------------------------------------------- the embedded CII


def test_embedded_cii_comes_back_byte_for_byte():
    pdf, cii = built()
    assert facturx.get_xml_from_pdf(pdf, check_xsd=False) == (FILENAME, cii)
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert len(document.pages) >= 1
        assert list(document.attachments) == [FILENAME]


@pytest.mark.parametrize(
    ("profile", "relationship"), [("minimum", "/Data"), ("basicwl", "/Data"), ("basic", "/Source"), ("en16931", "/Source"), ("extended", "/Source")]
)
def test_af_relationship_and_conformance_level_follow_the_profile(profile, relationship):
    pdf, _ = built(profile)
    with pikepdf.open(io.BytesIO(pdf)) as document:
        (filespec,) = document.Root.AF
        assert filespec.AFRelationship == relationship
        assert str(filespec.UF) == str(filespec.F) == FILENAME
        assert filespec.EF.F.Subtype == "/text/xml"
        assert "/ModDate" in filespec.EF.F.Params
        assert xmp_value(xmp_of(document), "fx:ConformanceLevel") == PROFILES[profile].conformance_level


# ---------------------------------------------------------------- PDF/A-3 structure


def test_output_intent_is_srgb_for_pdfa():
    pdf, _ = built()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        (intent,) = document.Root.OutputIntents
        assert intent.S == "/GTS_PDFA1"
        profile = intent.DestOutputProfile
        assert int(profile.N) == 3
        icc = profile.read_bytes()
        assert icc[36:40] == b"acsp" and icc[16:20] == b"RGB "  # ICC signature, RGB data colour space
        assert b"sRGB" in icc
        assert "sRGB" in str(intent.OutputConditionIdentifier)


def test_every_font_is_embedded():
    pdf, _ = built()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        seen = list(fonts(document))
        assert seen
        for font in seen:
            descriptor = font.DescendantFonts[0].FontDescriptor if font.Subtype == "/Type0" else font.FontDescriptor
            assert "/FontFile2" in descriptor, font


def test_file_id_and_no_transparency():
    pdf, _ = built()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        first, second = document.trailer.ID
        assert len(bytes(first)) == len(bytes(second)) == 16
        assert "/Encrypt" not in document.trailer
        for page in document.pages:
            assert "/Group" not in page and "/Annots" not in page
            for state in page.Resources.get("/ExtGState", {}).values():
                assert "/SMask" not in state and float(state.get("/CA", 1)) == 1 and float(state.get("/ca", 1)) == 1


def test_xmp_identifies_pdfa3b_and_declares_the_factur_x_schema():
    pdf, _ = built()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert "/Filter" not in document.Root.Metadata  # readable, and untouched by a later incremental signature
        root = xmp_of(document)
        assert xmp_value(root, "pdfaid:part") == "3"
        assert xmp_value(root, "pdfaid:conformance") == "B"
        assert xmp_value(root, "fx:DocumentType") == "INVOICE"
        assert xmp_value(root, "fx:DocumentFileName") == FILENAME
        assert xmp_value(root, "fx:Version") == "1.0"
        assert xmp_value(root, "fx:ConformanceLevel") == "EN 16931"
        assert xmp_value(root, "pdfaSchema:namespaceURI") == NS["fx"]
        assert xmp_value(root, "pdfaSchema:prefix") == "fx"
        declared = set(root.xpath("//pdfaProperty:name/text()", namespaces=NS))
        assert declared == {"DocumentType", "DocumentFileName", "Version", "ConformanceLevel"}
        assert all(d.get(f"{{{NS['rdf']}}}about") == "" for d in root.iter(f"{{{NS['rdf']}}}Description"))


def test_information_dictionary_agrees_with_the_xmp():
    pdf, _ = built()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        root, info = xmp_of(document), document.docinfo
        assert str(info.Title) == xmp_value(root, "dc:title/rdf:Alt/rdf:li") == "Atelier Dupont & Fils SAS : Facture F2026-000142"
        assert str(info.Author) == xmp_value(root, "dc:creator/rdf:Seq/rdf:li") == "Atelier Dupont & Fils SAS"
        assert str(info.Subject) == xmp_value(root, "dc:description/rdf:Alt/rdf:li")
        assert str(info.Keywords) == xmp_value(root, "pdf:Keywords")
        assert str(info.Producer) == xmp_value(root, "pdf:Producer")
        assert str(info.Creator) == xmp_value(root, "xmp:CreatorTool")
        assert "/CreationDate" in info and xmp_value(root, "xmp:CreateDate")
        assert str(document.Root.Lang) == "fr-FR"


def test_company_names_with_markup_characters_do_not_break_the_xmp():
    invoice = example()
    invoice.seller.name = "A & B <Ltd>"
    invoice.buyer.name = 'C "&" D\x07 Ltd'  # a control character XML cannot hold is dropped
    pdf = build_facturx(invoice, write_cii(example(), "en16931"))
    with pikepdf.open(io.BytesIO(pdf)) as document:
        root = xmp_of(document)
        assert xmp_value(root, "dc:creator/rdf:Seq/rdf:li") == "A & B <Ltd>"
        assert str(document.docinfo.Author) == "A & B <Ltd>"
        assert 'C "&" D Ltd' in xmp_value(root, "dc:description/rdf:Alt/rdf:li")
    assert "A & B <Ltd>" in text_of(pdf)


def test_render_pdf_alone_is_pdfa3b():
    pdf = render_pdf(example())
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert document.Root.OutputIntents[0].S == "/GTS_PDFA1"
        root = xmp_of(document)
        assert (xmp_value(root, "pdfaid:part"), xmp_value(root, "pdfaid:conformance")) == ("3", "B")
        assert all("/FontFile2" in font.DescendantFonts[0].FontDescriptor for font in fonts(document))


# ---------------------------------------------------------------- what the reader sees


def test_french_invoice_shows_identities_totals_payment_and_mandatory_mentions():
    text = text_of(built()[0])
    for expected in (
        "Facture",
        "F2026-000142",
        "20/11/2026",
        "Échéance : 20/12/2026",
        "SAS au capital de 50 000 € — RCS Lyon 732 829 320",
        "SIREN 732 829 320",
        "SIRET 732 829 320 00074",
        "FR44732829320",
        "SIREN 356 000 000",
        "FR39356000000",
        "PO-77813",
        "Four à sole modulaire FS-400",
        "Remise fidélité, 2 % de 12 000,00 : −240,00",
        "Frais de transport (TVA 20 %)",
        "12 462,30 €",  # total HT
        "2 485,24 €",  # total TVA
        "14 947,54 €",  # total TTC / net à payer
        "FR76 3000 6000 0112 3456 7890 189",
        "AGRIFRPP",
        "Option pour le paiement de la taxe d'après les débits",
        "Catégorie de l'opération : Livraison de biens et prestation de services",
        "Cadre de facturation : M1",
        "Indemnité forfaitaire pour frais de recouvrement",
        "Pénalités de retard",
        "Pas d'escompte pour paiement anticipé.",
        "Page 1 / 1",
    ):
        assert expected in text.replace("\u202f", " ").replace("\u00a0", " "), expected
    assert "B2B" not in text.split("Mentions et conditions")[1]  # the BAR processing flag is not a mention


def test_credit_note_is_titled_avoir_with_its_preceding_invoice():
    text = text_of(render_pdf(example("credit-note-fr-b2b")))
    assert "Avoir" in text.splitlines()
    assert "Facture d'origine" in text and "F2026-000142" in text


@pytest.mark.parametrize(("type_code", "title"), [("386", "Facture d'acompte"), ("384", "Facture rectificative"), ("389", "Facture autofacturée")])
def test_title_follows_the_type_code(type_code, title):
    invoice = example()
    invoice.type_code = type_code
    assert title in text_of(render_pdf(invoice)).splitlines()


def test_reverse_charge_and_exemption_reasons_are_printed():
    reverse = text_of(render_pdf(example("invoice-fr-reverse-charge"))).replace("\u00a0", " ")
    assert "AE — Autoliquidation" in reverse and "VATEX-EU-AE" in reverse
    assert "article 283-2 nonies du CGI" in reverse
    intra = " ".join(text_of(render_pdf(example("invoice-fr-intra-eu"))).split())
    assert "Exonération de TVA, article 262 ter I du CGI" in intra


def test_foreign_currency_invoice_shows_vat_in_euros():
    text = text_of(render_pdf(example("invoice-fr-usd"))).replace("\u202f", " ").replace("\u00a0", " ")
    assert "3 636,00 USD" in text and "Total TVA en EUR" in text and "560,55 €" in text


def test_english_rendering():
    text = text_of(render_pdf(example(), language="en")).replace("\u00a0", " ")
    assert "Invoice" in text and "Amount due" in text and "€14,947.54" in text and "Due date: 2026-12-20" in text
    with pytest.raises(ValueError, match="Unsupported language"):
        render_pdf(example(), language="de")


def test_long_invoice_spans_pages_with_repeated_header_and_page_numbers():
    invoice = example()
    invoice.lines = [dataclasses.replace(invoice.lines[1], id=str(i), net_amount=None) for i in range(1, 151)]
    invoice.vat_breakdown, invoice.totals = [], None
    complete(invoice)
    pages = pypdf.PdfReader(io.BytesIO(render_pdf(invoice))).pages
    assert len(pages) >= 4
    for number, page in enumerate(pages, start=1):
        text = page.extract_text()
        assert f"Page {number} / {len(pages)}" in text
        if number > 1:
            assert "(suite)" in text
        if number < len(pages):
            assert "Désignation" in text  # the lines table header is repeated
    assert "Net à payer" in pages[-1].extract_text()


def test_nothing_too_long_breaks_the_layout():
    invoice = example()
    invoice.lines[0].item_description = "très long texte " * 1500  # taller than a page: the row is split
    invoice.lines[1].item_name = "X" * 400  # a word wider than the column: cut between characters
    invoice.lines[2].quantity = Decimal("123456789.1234")  # a number wider than its column: shrunk
    invoice.seller.legal_info = "mention légale " * 60  # more than the footer holds: cut there with "…", whole in the header
    for line in invoice.lines:
        line.net_amount = None
    invoice.vat_breakdown, invoice.totals = [], None
    complete(invoice)
    pdf = render_pdf(invoice)
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) > 2
    assert all(page.mediabox.width == pytest.approx(595.28, abs=0.1) and page.mediabox.height == pytest.approx(841.89, abs=0.1) for page in pages)
    text = text_of(pdf)
    assert "X" * 30 in text and "Net à payer" in text and "…" in text


# ---------------------------------------------------------------- number formatting


def test_french_and_english_number_formatting():
    assert format_money(Decimal("1234.56"), "EUR", "fr") == "1\u202f234,56\u00a0€"
    assert format_money(Decimal("-50"), "EUR", "fr") == "−50,00\u00a0€"
    assert format_money(Decimal("1234567.5"), "USD", "fr") == "1\u202f234\u202f567,50\u00a0USD"
    assert format_money(Decimal("-1234.5"), "EUR", "en") == "−€1,234.50"
    assert format_number(Decimal("6.5"), "fr", 0) == "6,5"
    assert format_number(Decimal("24.900"), "fr") == "24,90"
    assert format_number(Decimal("0.123456"), "fr") == "0,123456"  # unit prices keep all their decimals
    assert format_percent(Decimal("5.5"), "fr") == "5,5\u00a0%"
    assert format_percent(Decimal("20.00"), "en") == "20%"

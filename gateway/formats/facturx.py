"""Factur-X: the readable PDF/A-3B (`formats.render`) with the CII embedded as `factur-x.xml`.

The `factur-x` library attaches the XML (/AF, /EmbeddedFiles, AFRelationship) and
writes the Factur-X XMP (pdfaid part 3 / B, the `fx` extension schema and its
properties).  That XMP disagrees with the information dictionary written beside it
(/Keywords without `pdf:Keywords`, a `pdf:Producer` the dictionary lacks) and its
`rdf:Description` elements have no `rdf:about`: both are fixed here with pikepdf.
The OutputIntent, the embedded fonts and the file ID survive its pypdf rewrite
untouched (the tests check them).

The XMP is left uncompressed so that a later PAdES signature (incremental update)
and plain-text inspections can read it.
"""

from __future__ import annotations

import io
import re

import facturx
import pikepdf
from lxml import etree

from gateway.formats.profiles import get_profile
from gateway.formats.render import document_title, format_date, render_pdf
from gateway.model.invoice import Invoice

FILENAME = "factur-x.xml"
PRODUCER = "pdp-gateway (fpdf2, factur-x, pikepdf)"
CREATOR = "pdp-gateway"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
ABOUT = f"{{{RDF}}}about"
LANGUAGE_TAGS = {"fr": "fr-FR", "en": "en"}
NOT_XML_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def build_facturx(invoice: Invoice, cii_xml: bytes, profile: str = "en16931", *, language: str = "fr") -> bytes:
    """A Factur-X PDF/A-3B: the invoice rendered in `language` with `cii_xml` embedded for `profile`.

    `cii_xml` is embedded byte for byte; it is not re-validated here (the validation pipeline does that).
    AFRelationship is Source, since the PDF is generated from the same data as the XML, except for
    MINIMUM and BASIC WL, whose XML does not carry the whole invoice: Data (Factur-X 1.08 §6.2.2).
    """
    chosen = get_profile(profile)
    readable = render_pdf(invoice, language=language)  # first: it refuses an unsupported language
    metadata = pdf_metadata(invoice, chosen.conformance_level, language)
    document = facturx.generate_from_binary(
        readable,
        cii_xml,
        flavor="factur-x",
        level=chosen.name,
        check_xsd=False,
        afrelationship="source" if chosen.is_en16931 else "data",
        lang=LANGUAGE_TAGS[language],
        pdf_metadata=metadata,
        xmp_compression=False,
    )
    return _align_metadata(document, metadata["keywords"])


def pdf_metadata(invoice: Invoice, conformance_level: str, language: str) -> dict[str, str]:
    """Title, author, subject and keywords from the invoice, cleaned of characters XML cannot hold.

    Markup characters need no care here: factur-x builds the XMP with lxml, which escapes them.
    """
    title = document_title(invoice, language)
    issued = format_date(invoice.issue_date, language)
    if language == "fr":
        subject = f"{title} {invoice.number} du {issued} émise par {invoice.seller.name} pour {invoice.buyer.name}"
    else:
        subject = f"{title} {invoice.number} of {issued} issued by {invoice.seller.name} to {invoice.buyer.name}"
    values = {
        "author": invoice.seller.name,
        "title": f"{invoice.seller.name} : {title} {invoice.number}" if language == "fr" else f"{invoice.seller.name}: {title} {invoice.number}",
        "subject": subject,
        "keywords": f"Factur-X, {conformance_level}, {title}, {invoice.number}",
    }
    return {key: NOT_XML_CHARACTERS.sub("", value) for key, value in values.items()}


def _align_metadata(document: bytes, keywords: str) -> bytes:
    """Make the XMP hold every entry of the information dictionary with the same value, as PDF/A requires."""
    with pikepdf.open(io.BytesIO(document)) as pdf:
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=True) as xmp:
            xmp["pdf:Keywords"] = keywords
            xmp["pdf:Producer"] = PRODUCER
            xmp["xmp:CreatorTool"] = CREATOR
        pdf.Root.Metadata = pdf.make_stream(_with_rdf_about(pdf.Root.Metadata.read_bytes()), Type=pikepdf.Name.Metadata, Subtype=pikepdf.Name.XML)
        out = io.BytesIO()
        pdf.save(out, compress_streams=True)  # the XMP stream, having no filter, stays uncompressed
    return out.getvalue()


def _with_rdf_about(xmp: bytes) -> bytes:
    """Every rdf:Description gets the rdf:about="" the XMP specification requires (factur-x leaves it out)."""
    start, end = xmp.index(b"<x:xmpmeta"), xmp.rindex(b"</x:xmpmeta>") + len(b"</x:xmpmeta>")
    root = etree.fromstring(xmp[start:end])
    for description in root.iter(f"{{{RDF}}}Description"):
        if description.get(ABOUT) is None:
            description.set(ABOUT, "")
    return xmp[:start] + etree.tostring(root, encoding="utf-8") + xmp[end:]

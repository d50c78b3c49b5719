"""Read a received document: what it is (UBL Invoice, UBL CreditNote, CII), its parsed tree, and its BT-24.

Detection is by content, never by the declared content type (which only
enriches error messages).  A PDF is read as a Factur-X / ZUGFeRD 2 container:
its embedded invoice XML is extracted with hard bounds, because a PDF is an
attacker's archive format — the number of embedded files looked at, the depth
of the name tree and the inflated size of the XML are all limited, and the XML
is inflated by us, chunk by chunk, so a compression bomb costs a few
milliseconds instead of gigabytes.  Every XML, embedded or not, goes through
the hardened `parse_untrusted`.
"""

from __future__ import annotations

import io
import re
import zlib
from dataclasses import dataclass
from typing import Literal

from lxml import etree
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, StreamObject

from gateway.errors import DocumentTooLarge, InputError, MalformedDocument, UnsafeDocument, UnsupportedDocument
from gateway.formats import profiles
from gateway.formats.xmlparse import MAX_XML_BYTES, parse_untrusted

Syntax = Literal["ubl-invoice", "ubl-creditnote", "cii"]

UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDITNOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
UBL_CBC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CII_RSM_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
CII_RAM_NS = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"

SYNTAX_OF_ROOT: dict[str, Syntax] = {
    f"{{{UBL_INVOICE_NS}}}Invoice": "ubl-invoice",
    f"{{{UBL_CREDITNOTE_NS}}}CreditNote": "ubl-creditnote",
    f"{{{CII_RSM_NS}}}CrossIndustryInvoice": "cii",
}

# Roots we recognise but do not read, by local name: why each is refused.
KNOWN_UNSUPPORTED = {
    "CrossIndustryDocument": "a ZUGFeRD 1.0 invoice (CrossIndustryDocument); only ZUGFeRD 2 / Factur-X (CrossIndustryInvoice) is read",
    "SCRDMCCBDACIOMessageStructure": "an Order-X order, not an invoice",
    "CrossDomainAcknowledgementAndResponse": "a CDAR lifecycle message, not an invoice",
}

# BT-24 paths: CII ExchangedDocumentContext/GuidelineSpecifiedDocumentContextParameter/ID, UBL cbc:CustomizationID.
GUIDELINE_PATH = {
    "cii": f"{{{CII_RSM_NS}}}ExchangedDocumentContext/{{{CII_RAM_NS}}}GuidelineSpecifiedDocumentContextParameter/{{{CII_RAM_NS}}}ID",
    "ubl-invoice": f"{{{UBL_CBC_NS}}}CustomizationID",
    "ubl-creditnote": f"{{{UBL_CBC_NS}}}CustomizationID",
}

# Embedded invoice file names, most preferred first (Factur-X, ZUGFeRD 2.0, ZUGFeRD 2.x spelling, XRechnung); compared case-insensitively.
INVOICE_FILE_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "ZUGFeRD-invoice.xml", "xrechnung.xml")
MAX_EMBEDDED_FILES = 50
MAX_NAME_TREE_NODES = 200  # bounds a deep or cyclic /Kids structure
MAX_EMBEDDED_XML_BYTES = 20 * 1024 * 1024
INFLATE_CHUNK = 1024 * 1024
MAX_PAGES_CHECKED = 50  # pages (and annotations per page) whose actions are looked at for JavaScript
MAX_ANNOTATIONS_CHECKED = 200
ACTIVE_NAME = re.compile(rb"/(?:JavaScript|Launch)(?![A-Za-z0-9])")


@dataclass
class Document:
    """A received invoice document, parsed: the syntax, the tree, and where the XML came from."""

    syntax: Syntax
    tree: etree._ElementTree
    xml: bytes  # the exact XML bytes (the embedded file of a PDF)
    container: Literal["xml", "pdf"]
    pdf: bytes | None
    guideline_id: str | None  # BT-24 as found
    profile: profiles.Profile | None  # the Factur-X profile BT-24 declares, if any


def read_document(data: bytes, content_type: str | None = None) -> Document:
    """Detect and parse a UBL, CII or Factur-X PDF document; raise an `InputError` subclass for anything else."""
    if len(data) > MAX_XML_BYTES:
        raise DocumentTooLarge(f"Document of {len(data)} bytes exceeds the limit of {MAX_XML_BYTES} bytes.")
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head != b"<" and b"%PDF-" in data[:1024]:  # the PDF header may follow up to 1 KB of junk
        return _document(extract_invoice_xml(data), "pdf", data)
    declared = f" (declared as {content_type})" if content_type else ""
    if not head:
        raise UnsupportedDocument(f"Empty document{declared}: expected UBL, CII or a Factur-X PDF.")
    if head in (b"{", b"["):
        raise UnsupportedDocument(f"JSON is not a document{declared}: expected UBL, CII or a Factur-X PDF (post intake JSON as an invoice).")
    if head != b"<" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 XML starts with its byte order mark
        raise UnsupportedDocument(f"Neither XML nor PDF{declared}: expected UBL, CII or a Factur-X PDF.")
    return _document(data, "xml", None)


def _document(xml: bytes, container: Literal["xml", "pdf"], pdf: bytes | None) -> Document:
    tree = parse_untrusted(xml)
    root = tree.getroot()
    syntax = SYNTAX_OF_ROOT.get(root.tag)
    if syntax is None:
        raise UnsupportedDocument(_unsupported_root(root, container))
    guideline_id = root.findtext(GUIDELINE_PATH[syntax])
    guideline_id = guideline_id.strip() if guideline_id is not None else None
    return Document(syntax, tree, xml, container, pdf, guideline_id, profiles.profile_of_guideline(guideline_id))


def _unsupported_root(root: etree._Element, container: str) -> str:
    qname = etree.QName(root)
    where = "The PDF's embedded XML" if container == "pdf" else "The XML"
    if qname.localname in KNOWN_UNSUPPORTED:
        return f"{where} is {KNOWN_UNSUPPORTED[qname.localname]}."
    return (
        f"{where} has root element {{{qname.namespace or ''}}}{qname.localname}: "
        "not a UBL 2.1 Invoice/CreditNote nor a UN/CEFACT CrossIndustryInvoice."
    )


# ---------------------------------------------------------------------------- PDF


def extract_invoice_xml(pdf: bytes) -> bytes:
    """The invoice XML embedded in a Factur-X / ZUGFeRD PDF, extracted within the module's bounds."""
    try:
        reader = PdfReader(io.BytesIO(pdf), strict=False)
        if reader.is_encrypted:
            raise UnsupportedDocument("Encrypted PDF: a Factur-X PDF/A-3 cannot be encrypted.")
        _refuse_active_content(reader, pdf)
        files = _embedded_files(reader)
        for wanted in INVOICE_FILE_NAMES:
            if wanted.lower() in files:
                return _file_content(wanted, files[wanted.lower()])
    except InputError:
        raise
    except Exception as exc:  # pypdf raises many exception types on a damaged file; all mean "cannot be read"
        raise MalformedDocument(f"Unreadable PDF: {type(exc).__name__}: {exc}") from None
    names = f" (embedded files: {', '.join(sorted(files))})" if files else ""
    raise UnsupportedDocument(f"PDF has no embedded Factur-X/ZUGFeRD invoice XML{names}")


def _refuse_active_content(reader: PdfReader, pdf: bytes) -> None:
    """Refuse JavaScript and launch actions: PDF/A (so Factur-X) forbids them, and a stored invoice will be opened by people.

    Looked for where a viewer would run them: the document's JavaScript name tree, its open action and
    additional actions, and the actions of the first pages and of their annotations (bounded); and, for
    what hides in other objects, the /JavaScript name anywhere in the uncompressed bytes.
    """
    catalog = _entry(reader.trailer, "/Root")
    names = _entry(catalog, "/Names")
    found = _entry(names, "/JavaScript") is not None or _entry(catalog, "/AA") is not None or _is_active(_entry(catalog, "/OpenAction"))
    for page in reader.pages[:MAX_PAGES_CHECKED] if not found else ():
        annotations = [annotation.get_object() for annotation in _array(page.get("/Annots"))[:MAX_ANNOTATIONS_CHECKED]]
        found = _entry(page, "/AA") is not None or any(_is_active(_entry(a, "/A")) or _entry(a, "/AA") is not None for a in annotations)
        if found:
            break
    if found or ACTIVE_NAME.search(pdf):
        raise UnsafeDocument("PDF with JavaScript or launch actions is refused: Factur-X (PDF/A-3) allows no active content.")


def _is_active(action) -> bool:
    """Whether a PDF action (or a chain of them through /Next, bounded) runs JavaScript or launches something."""
    for _ in range(MAX_ANNOTATIONS_CHECKED):
        if not isinstance(action, DictionaryObject):
            return False
        if str(action.get("/S")) in ("/JavaScript", "/Launch") or "/JS" in action:
            return True
        action = _entry(action, "/Next")
    return True  # an action chain that long is not an invoice's


def _embedded_files(reader: PdfReader) -> dict[str, DictionaryObject]:
    """File specifications of the /EmbeddedFiles name tree, by lower-cased name (key, /UF and /F)."""
    tree = _entry(_entry(_entry(reader.trailer, "/Root"), "/Names"), "/EmbeddedFiles")
    files: dict[str, DictionaryObject] = {}
    pending = [tree] if tree is not None else []
    nodes = entries = 0
    while pending:
        node = pending.pop().get_object()
        nodes += 1
        if nodes > MAX_NAME_TREE_NODES:
            raise UnsafeDocument(f"PDF embedded-file name tree has more than {MAX_NAME_TREE_NODES} nodes (or a cycle).")
        if not isinstance(node, DictionaryObject):
            continue
        pending.extend(_array(node.get("/Kids")))
        pairs = _array(node.get("/Names"))
        for key, spec in zip(pairs[::2], pairs[1::2], strict=False):
            entries += 1
            if entries > MAX_EMBEDDED_FILES:
                raise UnsafeDocument(f"PDF with more than {MAX_EMBEDDED_FILES} embedded files is refused.")
            spec = spec.get_object()
            if isinstance(spec, DictionaryObject):
                for name in (key, spec.get("/UF"), spec.get("/F")):
                    if name is not None:
                        files.setdefault(str(name.get_object()).lower(), spec)
    return files


def _array(value) -> list:
    value = value.get_object() if value is not None else None
    return list(value) if isinstance(value, ArrayObject) else []


def _entry(dictionary, *keys: str):
    """The first of `keys` present in a PDF dictionary, resolved; None when absent or not a dictionary."""
    dictionary = dictionary.get_object() if dictionary is not None else None
    if not isinstance(dictionary, DictionaryObject):
        return None
    for key in keys:
        if dictionary.get(key) is not None:
            return dictionary[key].get_object()
    return None


def _file_content(name: str, spec: DictionaryObject) -> bytes:
    """The embedded file's bytes: raw, or inflated by `inflate_bounded` (Flate is the only filter Factur-X writers use)."""
    stream = _entry(spec.get("/EF"), "/UF", "/F")
    if not isinstance(stream, StreamObject):
        raise MalformedDocument(f"PDF attachment {name} has no embedded file stream.")
    raw: bytes = stream._data  # the encoded bytes; pypdf's get_data() would inflate them under its own, larger limits
    filters = _entry(stream, "/Filter")
    filters = [str(f) for f in filters] if isinstance(filters, ArrayObject) else [str(filters)] if filters is not None else []
    if not filters:
        content = raw
    elif filters == ["/FlateDecode"] and _entry(stream, "/DecodeParms") is None:
        content = inflate_bounded(raw, MAX_EMBEDDED_XML_BYTES, name)
    else:
        raise UnsupportedDocument(f"PDF attachment {name} is encoded with {' '.join(filters)}; only /FlateDecode is read.")
    if len(content) > MAX_EMBEDDED_XML_BYTES:
        raise DocumentTooLarge(f"Embedded {name} is larger than {MAX_EMBEDDED_XML_BYTES} bytes.")
    return content


def inflate_bounded(data: bytes, limit: int, name: str = "stream") -> bytes:
    """zlib-inflate `data`, at most one chunk at a time; DocumentTooLarge as soon as the output passes `limit`."""
    inflater = zlib.decompressobj()
    out = bytearray()
    pending = data
    try:
        while pending and not inflater.eof:
            out += inflater.decompress(pending, INFLATE_CHUNK)
            if len(out) > limit:
                raise DocumentTooLarge(f"Embedded {name} inflates to more than {limit} bytes.")
            pending = inflater.unconsumed_tail
        out += inflater.flush()  # at most what zlib buffered from the input already consumed
    except zlib.error as exc:
        raise MalformedDocument(f"Embedded {name} is not valid Flate data: {exc}") from None
    if len(out) > limit:
        raise DocumentTooLarge(f"Embedded {name} inflates to more than {limit} bytes.")
    return bytes(out)

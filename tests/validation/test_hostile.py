"""Hostile input: each is refused with the right InputError subclass, quickly, and without touching file or network."""

from __future__ import annotations

import time

import pytest

from gateway.errors import DocumentTooLarge, InputError, MalformedDocument, UnsafeDocument, UnsupportedDocument
from gateway.formats.documents import MAX_EMBEDDED_XML_BYTES, inflate_bounded, read_document
from tests.validation.conftest import fixture
from tests.validation.pdfs import MB, build_pdf, deflate, zeros_bomb

UBL_OPEN = b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">'

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><cbc:Note xmlns:cbc="x">&lol9;</cbc:Note></Invoice>"""


def _external_entity(url: str) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE Invoice [<!ENTITY xxe SYSTEM "{url}">]>\n'
        f'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><Note>&xxe;</Note></Invoice>'
    ).encode()


HOSTILE_XML = {
    "billion laughs": (BILLION_LAUGHS, UnsafeDocument),
    "external entity file": (_external_entity("file:///etc/passwd"), UnsafeDocument),
    "external entity http": (_external_entity("http://127.0.0.1:1/x"), UnsafeDocument),
    "external DTD": (b'<?xml version="1.0"?>\n<!DOCTYPE Invoice SYSTEM "http://127.0.0.1:1/x.dtd">\n' + UBL_OPEN + b"</Invoice>", UnsafeDocument),
    "billion laughs in UTF-16": (BILLION_LAUGHS.decode().replace('version="1.0"', 'version="1.0" encoding="UTF-16"').encode("utf-16"), InputError),
    "external entity in UTF-16": (_external_entity("file:///etc/passwd").decode().encode("utf-16"), UnsafeDocument),
    "internal DTD": (b"<!DOCTYPE Invoice [<!ELEMENT Invoice ANY>]>" + UBL_OPEN + b"</Invoice>", UnsafeDocument),
    "undeclared entity": (UBL_OPEN + b"&xxe;</Invoice>", MalformedDocument),
    "huge attribute": (UBL_OPEN[:-1] + b' x="' + b"A" * (30 * MB) + b'"></Invoice>', MalformedDocument),
    "not well-formed": (UBL_OPEN + b"<unclosed></Invoice>", MalformedDocument),
    "over the size limit": (UBL_OPEN + b" " * (51 * MB) + b"</Invoice>", DocumentTooLarge),
    "not XML": (b"hello, this is not an invoice", UnsupportedDocument),
    "empty": (b"", UnsupportedDocument),
}


def _refused_quickly(data: bytes, expected: type[InputError]) -> InputError:
    start = time.perf_counter()
    with pytest.raises(expected) as caught:
        read_document(data)
    assert time.perf_counter() - start < 5
    return caught.value


@pytest.mark.parametrize("case", HOSTILE_XML, ids=str)
def test_hostile_xml_is_refused(case):
    data, expected = HOSTILE_XML[case]
    error = _refused_quickly(data, expected)
    assert "root:" not in error.message  # nothing of /etc/passwd ever surfaces


def test_deep_nesting_is_refused():
    """10,000 levels: libxml2's own depth limit (256) stops it; xmlparse reports it as malformed."""
    error = _refused_quickly(UBL_OPEN + b"<a>" * 10_000 + b"</a>" * 10_000 + b"</Invoice>", InputError)
    assert isinstance(error, UnsafeDocument | MalformedDocument)
    assert "depth" in error.message.lower()
    assert error.status == 400


def test_flate_bomb_in_factur_x_xml_is_refused_in_bounded_time():
    bomb = zeros_bomb(200 * MB)  # ~200 KB on the wire
    assert len(bomb) < MB
    error = _refused_quickly(build_pdf([("factur-x.xml", bomb, True)]), DocumentTooLarge)
    assert "factur-x.xml" in error.message


def test_inflate_stops_right_after_the_limit():
    assert inflate_bounded(deflate(b"x" * 1000), 1000) == b"x" * 1000
    with pytest.raises(DocumentTooLarge):
        inflate_bounded(deflate(b"x" * 1001), 1000)
    with pytest.raises(DocumentTooLarge):
        inflate_bounded(zeros_bomb(MAX_EMBEDDED_XML_BYTES + MB), MAX_EMBEDDED_XML_BYTES)


def test_pdf_with_300_attachments_is_refused():
    attachments = [(f"annex-{i:03}.xml", b"<a/>", False) for i in range(299)] + [("factur-x.xml", fixture("fr-invoice-cii.xml"), False)]
    error = _refused_quickly(build_pdf(attachments), UnsafeDocument)
    assert "more than 50 embedded files" in error.message


def test_pdf_with_a_cyclic_name_tree_is_refused():
    _refused_quickly(build_pdf(cyclic_name_tree=True), UnsafeDocument)


def test_plain_pdf_without_attachment_is_unsupported():
    _refused_quickly(build_pdf(), UnsupportedDocument)


def test_pdf_embedding_hostile_xml_is_refused_like_plain_xml():
    _refused_quickly(build_pdf([("factur-x.xml", deflate(BILLION_LAUGHS), True)]), UnsafeDocument)


def test_truncated_pdf_is_malformed():
    _refused_quickly(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", MalformedDocument)

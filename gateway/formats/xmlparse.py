"""The one hardened XML parser for untrusted bytes.

No network, no DTD (a DOCTYPE is refused outright), no entity expansion, a size
limit and a depth limit.  Everything that reads XML from outside goes through
`parse_untrusted`; Saxon only ever sees trees this function accepted.
"""

from __future__ import annotations

from lxml import etree

from gateway.errors import DocumentTooLarge, MalformedDocument, UnsafeDocument

MAX_XML_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 256


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def parse_untrusted(data: bytes, max_bytes: int = MAX_XML_BYTES) -> etree._ElementTree:
    """Parse untrusted XML bytes; raise an `InputError` subclass on anything unsafe or malformed."""
    if len(data) > max_bytes:
        raise DocumentTooLarge(f"XML document of {len(data)} bytes exceeds the limit of {max_bytes} bytes.")
    head = data[:4096].lstrip()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data:
        raise UnsafeDocument("XML with a DOCTYPE or entity declarations is refused.")
    try:
        tree = etree.ElementTree(etree.fromstring(data, _parser()))
    except etree.XMLSyntaxError as exc:
        raise MalformedDocument(f"Not well-formed XML: {exc}") from None
    except ValueError as exc:  # e.g. a str with an encoding declaration
        raise MalformedDocument(f"Not well-formed XML: {exc}") from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise UnsafeDocument("XML with a DOCTYPE is refused.")
    _check_depth(tree.getroot())
    return tree


def _check_depth(root: etree._Element) -> None:
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UnsafeDocument(f"XML nested deeper than {MAX_DEPTH} levels is refused.")
        stack.extend((child, depth + 1) for child in element)

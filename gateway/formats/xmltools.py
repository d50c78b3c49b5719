"""The XML primitives the CII and UBL mappers share: building elements, reading text, decimals and identifiers strictly.

Syntax-neutral on purpose: element names, orders and date formats belong to each mapper.  A `Vocabulary`
binds one syntax's prefix map, so that paths read as in the binding documents ("ram:LineOne", "cac:Party/cbc:ID").
"""

from __future__ import annotations

import re
from decimal import Decimal

from lxml import etree

from gateway.errors import InputError
from gateway.model.invoice import Identifier

DECIMAL = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")  # xs:decimal: no exponent, no "NaN", no "1_000"


def text_of(value: str | Decimal) -> str:
    """Decimals exactly as held (no exponent, no re-rounding); strings unchanged."""
    return format(value, "f") if isinstance(value, Decimal) else value


def content(element: etree._Element) -> str:
    """The element's text content; comments inside it are not content."""
    return "".join(element.itertext())


def location(element: etree._Element) -> str:
    """Where an element stands, by local names: /Invoice/LegalMonetaryTotal/PayableAmount."""
    return "/" + "/".join(etree.QName(e).localname for e in reversed([element, *element.iterancestors()]))


def invalid(element: etree._Element, what: str, text: str) -> InputError:
    """A value the model cannot hold, named (and pointed at) by its location."""
    where = location(element)
    return InputError(f"{where}: {what}: {text!r}.", pointer=where)


def number(element: etree._Element | None) -> Decimal | None:
    """The xs:decimal an element holds, exactly as written ("0.00" stays "0.00"); None when absent or empty."""
    if element is None:
        return None
    text = content(element).strip()
    if not text:
        return None
    if not DECIMAL.match(text):
        raise invalid(element, "not a decimal number", text)
    return Decimal(text)


def identifier_of(element: etree._Element) -> Identifier:
    """An identifier element: its stripped content and its schemeID."""
    return Identifier(value=content(element).strip(), scheme=element.get("schemeID"))


class Vocabulary:
    """One syntax's prefix → namespace map, and the element primitives that resolve "prefix:name" paths with it."""

    def __init__(self, namespaces: dict[str, str]) -> None:
        self.namespaces = namespaces

    def qname(self, tag: str) -> str:
        """The Clark name of a prefixed tag: ram:LineOne → {urn:…}LineOne."""
        prefix, name = tag.split(":")
        return f"{{{self.namespaces[prefix]}}}{name}"

    def sub(self, parent: etree._Element, path: str, value: str | Decimal | None = None, /, **attrs: str | None) -> etree._Element:
        """Append the chain of elements `path` ("ram:A/ram:B"); the text and the attributes that are set go on the last one."""
        element = parent
        for tag in path.split("/"):
            element = etree.SubElement(element, self.qname(tag))
        for name, attr in attrs.items():
            if attr is not None:
                element.set(name, attr)
        if value is not None:
            element.text = text_of(value)
        return element

    def opt(self, parent: etree._Element, path: str, value: str | Decimal | None, /, **attrs: str | None) -> None:
        """`sub` only when there is a value."""
        if value is not None:
            self.sub(parent, path, value, **attrs)

    def find(self, element: etree._Element | None, path: str) -> etree._Element | None:
        """The first `path` under `element`; None for no element."""
        return None if element is None else element.find(path, self.namespaces)

    def all(self, element: etree._Element | None, path: str) -> list[etree._Element]:
        """Every `path` under `element`; none for no element."""
        return [] if element is None else element.findall(path, self.namespaces)

    def text(self, element: etree._Element | None, path: str) -> str | None:
        """The text of the first match, as written (an empty element gives "")."""
        found = self.find(element, path)
        return None if found is None else content(found)

    def stripped(self, element: etree._Element | None, path: str) -> str | None:
        """The text of the first match without surrounding white space (layout, not content, in codes and identifiers)."""
        text = self.text(element, path)
        return None if text is None else text.strip()

    def decimal(self, element: etree._Element | None, path: str) -> Decimal | None:
        """The xs:decimal of the first match, exactly as written; an InputError naming the element when it is not one."""
        return number(self.find(element, path))

    def identifier(self, element: etree._Element | None, path: str) -> Identifier | None:
        """The first match as an identifier with its schemeID."""
        found = self.find(element, path)
        return None if found is None else identifier_of(found)

    def flagged(self, element: etree._Element | None, path: str, flag: str, value: bool) -> list[etree._Element]:
        """The `path` elements whose xs:boolean child `flag` is `value` ("true" or "1", "false" or "0", in any letter case)."""
        wanted = ("true", "1") if value else ("false", "0")
        return [found for found in self.all(element, path) if (self.stripped(found, flag) or "").lower() in wanted]

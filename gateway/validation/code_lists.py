"""The EN 16931 code lists, read from the official CEN stylesheet, and the intake fields each one governs.

The intake checks every coded value of an intake JSON against its list before any document is generated, so a wrong
currency gives one clear error naming `/currency` instead of dozens of findings (BR-CL-03 on every amount, in CII and
in UBL).  The codes are never copied here: each list is the one the installed EN16931-UBL artefact asserts
(`BR-CL-xx`), so a new release of the artefact brings its lists with it.  What is written here is only which field of
the intake JSON each rule governs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from lxml import etree

from gateway.validation.artefacts import XSLT

SOURCE_ARTEFACT = "EN16931-UBL"
_XSL = "{http://www.w3.org/1999/XSL/Transform}"
_SVRL = "{http://purl.oclc.org/dsdl/svrl}"
_QUOTED = re.compile(r"'([^']*)'")


@dataclass(frozen=True)
class CodeList:
    """The codes one BR-CL rule allows, and what they are."""

    rule_id: str
    name: str
    codes: frozenset[str]
    case_sensitive: bool = True

    def allows(self, value: str) -> bool:
        code = value.strip()
        return (code if self.case_sensitive else code.upper()) in self.codes


# Rule → what its list is called (the rule's own message says it too; this is the short name a person recognises).
NAMES = {
    "BR-CL-01": "UNTDID 1001 document type codes",
    "BR-CL-04": "ISO 4217 currency codes",
    "BR-CL-05": "ISO 4217 currency codes",
    "BR-CL-06": "UNTDID 2005 VAT point date codes",
    "BR-CL-07": "UNTDID 1153 reference codes",
    "BR-CL-08": "UNTDID 4451 text subject codes",
    "BR-CL-10": "ISO 6523 ICD identifier schemes",
    "BR-CL-11": "ISO 6523 ICD identifier schemes",
    "BR-CL-13": "UNTDID 7143 item classification schemes",
    "BR-CL-14": "ISO 3166-1 alpha-2 country codes",
    "BR-CL-15": "ISO 3166-1 alpha-2 country codes",
    "BR-CL-16": "UNTDID 4461 payment means codes",
    "BR-CL-17": "UNTDID 5305 VAT category codes",
    "BR-CL-18": "UNTDID 5305 VAT category codes",
    "BR-CL-19": "UNTDID 5189 allowance reason codes",
    "BR-CL-20": "UNTDID 7161 charge reason codes",
    "BR-CL-21": "ISO 6523 ICD identifier schemes",
    "BR-CL-22": "VATEX exemption reason codes",
    "BR-CL-23": "UN/ECE Recommendation 20/21 unit codes",
    "BR-CL-24": "MIME codes for attachments",
    "BR-CL-25": "electronic address schemes (EAS)",
    "BR-CL-26": "ISO 6523 ICD identifier schemes",
}

# Intake JSON pointer (as a pattern) → the BR-CL rule whose list governs it.
FIELDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(f"^{pattern}$"), rule)
    for pattern, rule in (
        (r"/type_code", "BR-CL-01"),
        (r"/currency", "BR-CL-04"),
        (r"/tax_currency", "BR-CL-05"),
        (r"/vat_due_date_code", "BR-CL-06"),
        (r"/invoiced_object_identifier/scheme", "BR-CL-07"),
        (r"/notes/\d+/subject_code", "BR-CL-08"),
        (r"/(seller|buyer)/identifiers/\d+/scheme", "BR-CL-10"),
        (r"/payee/identifier/scheme", "BR-CL-10"),
        (r"/(seller|buyer|payee)/legal_registration_id/scheme", "BR-CL-11"),
        (r"/lines/\d+/classifications/\d+/scheme", "BR-CL-13"),
        (r"/(seller|buyer|tax_representative|delivery)/address/country_code", "BR-CL-14"),
        (r"/lines/\d+/origin_country", "BR-CL-15"),
        (r"/payment/means_code", "BR-CL-16"),
        (r"/vat_breakdown/\d+/category", "BR-CL-17"),
        (r"/(lines|allowances|charges)/\d+/vat_category", "BR-CL-18"),
        (r"/allowances/\d+/reason_code", "BR-CL-19"),
        (r"/lines/\d+/allowances/\d+/reason_code", "BR-CL-19"),
        (r"/charges/\d+/reason_code", "BR-CL-20"),
        (r"/lines/\d+/charges/\d+/reason_code", "BR-CL-20"),
        (r"/lines/\d+/standard_item_id/scheme", "BR-CL-21"),
        (r"/vat_breakdown/\d+/exemption_reason_code", "BR-CL-22"),
        (r"/lines/\d+/(unit_code|base_quantity_unit_code)", "BR-CL-23"),
        (r"/attachments/\d+/mime_code", "BR-CL-24"),
        (r"/(seller|buyer)/electronic_address/scheme", "BR-CL-25"),
        (r"/delivery/location_id/scheme", "BR-CL-26"),
    )
)


def _rule_id(assertion: etree._Element) -> str | None:
    for attribute in assertion.iter(f"{_XSL}attribute"):
        if attribute.get("name") == "id":
            return (attribute.text or "").strip()
    return assertion.get("id")


@cache
def code_lists() -> dict[str, CodeList]:
    """Each BR-CL rule of the official stylesheet with the codes its assertion lists (read once per process)."""
    tree = etree.parse(str(XSLT[SOURCE_ARTEFACT]), etree.XMLParser(resolve_entities=False, no_network=True))
    found: dict[str, CodeList] = {}
    for assertion in tree.iter(f"{_SVRL}failed-assert"):
        rule = _rule_id(assertion)
        if rule not in NAMES:
            continue
        test = assertion.get("test") or ""
        codes = frozenset(code for quoted in _QUOTED.findall(test) for code in quoted.split() if code != "#")
        found[rule] = CodeList(rule, NAMES[rule], codes, case_sensitive="upper-case(" not in test)
    return found


def problems(values: Iterator[tuple[str, object]]) -> list[tuple[str, str]]:
    """(pointer, message) for each coded value of the intake that its EN 16931 code list does not hold."""
    lists = code_lists()
    found = []
    for pointer, value in values:
        if not isinstance(value, str):
            continue
        rule = next((rule for pattern, rule in FIELDS if pattern.match(pointer)), None)
        code_list = lists.get(rule) if rule else None
        if code_list is not None and not code_list.allows(value):
            found.append((pointer, f"{value!r} is not one of the {code_list.name} (EN 16931 code list, rule {rule})"))
    return found

"""Findings grouped for people: one per rule and place in the invoice, whichever artefacts and syntaxes raised it.

An invoice taken in as JSON is checked by the gateway's own rules, then as CII and as UBL by their artefacts, so one
mistake is reported up to three times, at three XPaths that do not look alike; and a rule whose context is an amount
fires once per amount.  A group is one (rule, place) pair: the place is the part of the invoice the finding points at,
named the same way for every syntax (the whole invoice, line 2, the seller's address, allowance or charge 1, the totals…),
and the group lists every artefact, syntax and exact location that raised it.  A finding one syntax places at the
document root joins the groups another syntax placed more precisely (the CII rules check BR-S-02 on each line, the UBL
ones on the whole invoice).  Groups come most severe first, then in the order the artefacts ran.

The stored report keeps every finding as raised (exact and complete, for auditors); groups are computed when a report is
shown, so reports stored before grouping existed are shown grouped too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

SEVERITY_ORDER = {"fatal": 0, "warning": 1, "information": 2}

# One step of a place: a part of the invoice and its position among its kind (None for a part that occurs once).
Step = tuple[str, int | None]

# The parts of the invoice, by the element names of CII and UBL (and the member names of the intake JSON).
_PARTS = {
    "IncludedSupplyChainTradeLineItem": "line",
    "InvoiceLine": "line",
    "CreditNoteLine": "line",
    "SellerTradeParty": "seller",
    "AccountingSupplierParty": "seller",
    "BuyerTradeParty": "buyer",
    "AccountingCustomerParty": "buyer",
    "PayeeTradeParty": "payee",
    "PayeeParty": "payee",
    "SellerTaxRepresentativeTradeParty": "tax_representative",
    "TaxRepresentativeParty": "tax_representative",
    "ShipToTradeParty": "delivery",
    "Delivery": "delivery",
    "PostalTradeAddress": "address",
    "PostalAddress": "address",
    "Address": "address",
    "SpecifiedTradeAllowanceCharge": "allowance_charge",
    "AllowanceCharge": "allowance_charge",
    "TaxSubtotal": "vat_breakdown",
    "SpecifiedTradeSettlementHeaderMonetarySummation": "totals",
    "LegalMonetaryTotal": "totals",
    "SpecifiedTradeSettlementPaymentMeans": "payment",
    "PaymentMeans": "payment",
    "IncludedNote": "note",
    "Note": "note",
}
_COUNTED = {"line", "allowance_charge", "vat_breakdown", "note", "allowance", "charge"}
# CII's header VAT breakdown is ApplicableTradeTax under the header settlement (a line's own is part of the line).
_CII_HEADER_SETTLEMENT = "ApplicableHeaderTradeSettlement"
_JSON_PARTS = {
    "lines": "line",
    "seller": "seller",
    "buyer": "buyer",
    "payee": "payee",
    "tax_representative": "tax_representative",
    "delivery": "delivery",
    "address": "address",
    "allowances": "allowance",
    "charges": "charge",
    "vat_breakdown": "vat_breakdown",
    "totals": "totals",
    "payment": "payment",
    "notes": "note",
}
_NAMESPACE_TEST = re.compile(r"\[namespace-uri\(\)='[^']*'\]")
_XML_STEP = re.compile(r"^(?:\*:|[\w.-]+:)?([\w.-]+)(?:\[(\d+)\])?$")


def syntax_of(artefact: str, input_syntax: str | None) -> str | None:
    """The syntax an artefact checks: cii or ubl, or the input's own for the gateway's checks of the canonical invoice."""
    upper = artefact.upper()
    if upper.startswith("XSD-UBL") or upper.endswith("-UBL"):
        return "ubl"
    if upper.startswith(("XSD-CII", "FACTURX-")) or upper.endswith("-CII"):
        return "cii"
    return input_syntax


def readable_location(location: str | None) -> str | None:
    """An SVRL location without its namespace tests: /Invoice[1]/InvoiceLine[2]/Price[1] (a JSON pointer stays as it is)."""
    return _NAMESPACE_TEST.sub("", location).replace("*:", "") if location else location


def place(location: str | None) -> tuple[Step, ...]:
    """The part of the invoice a location (an SVRL XPath or an intake JSON pointer) points at, the same for every syntax."""
    if not location or not location.startswith("/"):
        return ()
    if "[" not in location and "*:" not in location:
        return _json_place(location)
    steps: list[Step] = []
    names = [m.groups() for m in (_XML_STEP.match(step) for step in readable_location(location).split("/")[2:]) if m]
    for i, (name, position) in enumerate(names):
        part = _PARTS.get(name)
        if name == "ApplicableTradeTax" and i and names[i - 1][0] == _CII_HEADER_SETTLEMENT:
            part = "vat_breakdown"
        if part:
            steps.append((part, int(position or 1) if part in _COUNTED else None))
    return tuple(steps)


def _json_place(pointer: str) -> tuple[Step, ...]:
    segments, steps = pointer.split("/")[1:], []
    for i, segment in enumerate(segments):
        part = _JSON_PARTS.get(segment)
        if part in _COUNTED:
            following = segments[i + 1] if i + 1 < len(segments) else ""
            steps.append((part, int(following) + 1 if following.isdigit() else None))
        elif part:
            steps.append((part, None))
    return tuple(steps)


def place_path(steps: tuple[Step, ...]) -> str:
    """A place written as a path: "" for the whole invoice, /line[2], /seller/address, /allowance_charge[1]."""
    return "".join(f"/{part}[{position}]" if position else f"/{part}" for part, position in steps)


def group(findings: Iterable[Mapping[str, Any]], input_syntax: str | None = None) -> list[dict[str, Any]]:
    """The findings (dictionaries, as stored in a report) in groups, most severe first (see the module docstring)."""
    members: dict[tuple[str, tuple[Step, ...]], list[tuple[int, Mapping[str, Any]]]] = {}
    for index, finding in enumerate(findings):
        members.setdefault((finding.get("rule_id") or "", place(finding.get("location"))), []).append((index, finding))
    _fold_document_level(members, input_syntax)
    groups = [_summary(rule, where, sorted(found, key=lambda item: item[0]), input_syntax) for (rule, where), found in members.items()]
    groups.sort(key=lambda entry: (SEVERITY_ORDER.get(entry["severity"], 3), entry.pop("_first")))
    return groups


def _summary(rule: str, where: tuple[Step, ...], found: list[tuple[int, Mapping[str, Any]]], input_syntax: str | None) -> dict[str, Any]:
    """One group: the most severe finding's severity and message (the first raised among equals), who raised it, where."""
    worst = min(found, key=lambda item: (SEVERITY_ORDER.get(item[1].get("severity"), 3), item[0]))[1]
    raised_by: list[dict[str, Any]] = []
    for _, finding in found:
        artefact = finding.get("artefact") or ""
        raised = {"artefact": artefact, "syntax": syntax_of(artefact, input_syntax), "location": readable_location(finding.get("location"))}
        if raised not in raised_by:
            raised_by.append(raised)
    return {
        "rule_id": rule or None,
        "severity": worst.get("severity"),
        "message": worst.get("message"),
        "messages": list(dict.fromkeys([worst.get("message"), *(f.get("message") for _, f in found)])),
        "business_term": next((f.get("business_term") for _, f in found if f.get("business_term")), None),
        "place": [list(step) for step in where],
        "location": place_path(where),
        "count": len(found),
        "artefacts": list(dict.fromkeys(r["artefact"] for r in raised_by if r["artefact"])),
        "syntaxes": list(dict.fromkeys(r["syntax"] for r in raised_by if r["syntax"])),
        "raised_by": raised_by,
        "_first": found[0][0],
    }


def _fold_document_level(members: dict[tuple[str, tuple[Step, ...]], list[tuple[int, Mapping[str, Any]]]], input_syntax: str | None) -> None:
    """A rule one syntax raised on the whole invoice joins the groups where another syntax placed the same rule."""

    def syntaxes(found: list[tuple[int, Mapping[str, Any]]]) -> set[str | None]:
        return {syntax_of(finding.get("artefact") or "", input_syntax) for _, finding in found}

    for (rule, where), found in list(members.items()):
        if where:
            continue
        precise = [other for (other_rule, other_where), other in members.items() if other_rule == rule and other_where]
        if precise and not syntaxes(found) & {syntax for other in precise for syntax in syntaxes(other)}:
            for other in precise:
                other.extend(found)
            del members[(rule, where)]


def with_groups(report: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A stored report with its findings grouped beside them (`groups`), for the API and the CLI."""
    if report is None:
        return None
    return {**report, "groups": group(report.get("findings", []), report.get("syntax"))}

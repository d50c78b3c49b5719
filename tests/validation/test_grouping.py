"""Findings grouped by rule and place in the invoice (issue 13, point 2.4): one group per mistake, naming who raised it.

Before grouping, an invoice whose seller has no VAT number and no SIREN gave 12 fatal findings, each rule twice (CII and
UBL) at XPaths that do not look alike; grouped, it is one entry per rule and place, most severe first.
"""

from __future__ import annotations

import copy

from gateway import intake
from gateway.validation.grouping import group, place, readable_location, with_groups
from tests.conftest import load_example

CII_LINE_2 = (
    "/*:CrossIndustryInvoice[namespace-uri()='urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100'][1]"
    "/*:SupplyChainTradeTransaction[namespace-uri()='urn:x'][1]/*:IncludedSupplyChainTradeLineItem[namespace-uri()='urn:x'][2]"
    "/*:SpecifiedLineTradeSettlement[namespace-uri()='urn:x'][1]/*:ApplicableTradeTax[namespace-uri()='urn:x'][1]"
)
UBL_LINE_2 = "/*:Invoice[namespace-uri()='urn:i'][1]/*:InvoiceLine[namespace-uri()='urn:c'][2]/*:Price[namespace-uri()='urn:c'][1]"
UBL_ROOT = "/*:Invoice[namespace-uri()='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'][1]"


def finding(rule: str, artefact: str, location: str | None, severity: str = "fatal", message: str = "m", term: str | None = None) -> dict:
    return {"rule_id": rule, "severity": severity, "message": message, "artefact": artefact, "location": location, "business_term": term}


def test_a_place_is_named_alike_for_cii_ubl_and_the_intake_json():
    assert place(CII_LINE_2) == place(UBL_LINE_2) == place("/lines/1/net_amount") == (("line", 2),)
    assert place(UBL_ROOT) == place(None) == ()
    seller_cii = "/*:CrossIndustryInvoice[1]/*:SupplyChainTradeTransaction[1]/*:ApplicableHeaderTradeAgreement[1]/*:SellerTradeParty[1]"
    assert (
        place(f"{seller_cii}/*:PostalTradeAddress[1]")
        == place("/*:Invoice[1]/*:AccountingSupplierParty[1]/*:Party[1]/*:PostalAddress[1]")
        == (("seller", None), ("address", None))
    )
    header_vat = "/*:CrossIndustryInvoice[1]/*:SupplyChainTradeTransaction[1]/*:ApplicableHeaderTradeSettlement[1]/*:ApplicableTradeTax[2]"
    assert place(header_vat) == place("/*:Invoice[1]/*:TaxTotal[1]/*:TaxSubtotal[2]") == (("vat_breakdown", 2),)
    assert readable_location(UBL_LINE_2) == "/Invoice[1]/InvoiceLine[2]/Price[1]"


def test_one_group_per_rule_and_place_with_every_artefact_and_syntax_that_raised_it():
    findings = [
        finding("BR-CO-15", "GATEWAY", None, message="Total with VAT: 15000.00 was sent, 14947.54 was expected.", term="BT-112"),
        finding("BR-S-02", "FACTURX-en16931", CII_LINE_2),
        finding("BR-CL-03", "EN16931-UBL", UBL_LINE_2),
        finding("BR-CL-03", "EN16931-UBL", UBL_LINE_2.replace("Price", "LineExtensionAmount")),
        finding("BR-S-02", "EN16931-UBL", UBL_LINE_2),
        finding("BR-CO-15", "EN16931-UBL", UBL_ROOT, message="[BR-CO-15]-Invoice total amount with VAT (BT-112) = …", term="BT-112"),
    ]
    groups = group(findings, "json")
    assert [(g["rule_id"], g["location"], g["count"]) for g in groups] == [
        ("BR-CO-15", "", 2),
        ("BR-S-02", "/line[2]", 2),
        ("BR-CL-03", "/line[2]", 2),
    ]
    totals, line_vat, currency = groups
    assert totals["message"].startswith("Total with VAT: 15000.00")  # the first raised: the gateway's own, which names the values
    assert totals["messages"] == [totals["message"], "[BR-CO-15]-Invoice total amount with VAT (BT-112) = …"]  # the official wording too
    assert totals["artefacts"] == ["GATEWAY", "EN16931-UBL"] and totals["syntaxes"] == ["json", "ubl"]
    assert line_vat["artefacts"] == ["FACTURX-en16931", "EN16931-UBL"] and line_vat["syntaxes"] == ["cii", "ubl"]
    assert [r["location"] for r in currency["raised_by"]] == [
        "/Invoice[1]/InvoiceLine[2]/Price[1]",
        "/Invoice[1]/InvoiceLine[2]/LineExtensionAmount[1]",
    ]


def test_the_most_severe_groups_come_first_and_a_group_takes_its_most_severe_finding():
    findings = [
        finding("BR-FR-W1", "BR-FR-UBL", None, severity="warning"),
        finding("BR-X", "EN16931-UBL", UBL_LINE_2, severity="warning", message="as a warning"),
        finding("BR-X", "FACTURX-en16931", CII_LINE_2, severity="fatal", message="as fatal"),
        finding("BR-I", "BR-FR-UBL", None, severity="information"),
    ]
    groups = group(findings, "json")
    assert [(g["rule_id"], g["severity"]) for g in groups] == [("BR-X", "fatal"), ("BR-FR-W1", "warning"), ("BR-I", "information")]
    assert groups[0]["message"] == "as fatal"


def test_a_rule_one_syntax_raises_on_the_whole_invoice_joins_the_places_another_syntax_names():
    """BR-S-02: checked on each line by the CII rules, on the whole invoice by the UBL ones."""
    findings = [finding("BR-S-02", "FACTURX-en16931", CII_LINE_2.replace("LineItem[namespace-uri()='urn:x'][2]", f"LineItem[{n}]")) for n in (1, 2)]
    findings.append(finding("BR-S-02", "EN16931-UBL", UBL_ROOT))
    groups = group(findings, "json")
    assert [(g["location"], g["syntaxes"]) for g in groups] == [("/line[1]", ["cii", "ubl"]), ("/line[2]", ["cii", "ubl"])]


def test_the_same_syntax_at_the_root_and_at_a_part_stays_two_groups():
    """Within one syntax, a finding at the root and one in a line are two places, not one."""
    groups = group(
        [finding("BR-CL-03", "EN16931-UBL", UBL_ROOT + "/*:TaxTotal[1]/*:TaxAmount[1]"), finding("BR-CL-03", "EN16931-UBL", UBL_LINE_2)], "ubl"
    )
    assert [g["location"] for g in groups] == ["", "/line[2]"]


def test_an_invoice_from_json_gets_each_mistake_once_grouped_over_the_cii_and_the_ubl():
    data = copy.deepcopy(load_example("invoice-fr-b2b"))
    for missing in ("vat_id", "legal_registration_id", "tax_registration_id"):
        data["seller"].pop(missing, None)
    report = intake.validate_json(data).to_dict()
    assert len(report["findings"]) == 12  # as raised: every rule by the CII rules and by the UBL rules
    groups = with_groups(report)["groups"]
    keys = [(g["rule_id"], g["location"]) for g in groups]
    assert len(keys) == len(set(keys)) == 7
    assert ("BR-FR-10_BT-30", "/seller") in keys and ("BR-S-02", "/line[3]") in keys
    assert [sorted(g["syntaxes"]) for g in groups] == [["cii", "ubl"]] * 7  # each mistake raised by both, shown once
    assert sum(g["count"] for g in groups) >= len(report["findings"])


def test_a_report_stored_before_grouping_is_grouped_when_shown():
    stored = {"valid": False, "syntax": "ubl-invoice", "findings": [finding("BR-CO-10", "EN16931-UBL", UBL_ROOT)] * 2}
    assert [(g["rule_id"], g["count"]) for g in with_groups(stored)["groups"]] == [("BR-CO-10", 2)]
    assert "groups" not in stored

"""Every shipped example is clean under every rule set the gateway checks it with: not one finding, of any severity.

A new user starts from docs/examples; a warning there (PEPPOL-EN16931-R008 on an empty
ApplicableHeaderTradeDelivery was one) reads as a defect of the gateway.  The few findings that cannot be
avoided are listed in `KNOWN`, each with its reason, and the test fails when one goes away, so the list
stays true.
"""

from __future__ import annotations

import pytest

from gateway import intake
from gateway.formats.cii import write_cii
from gateway.formats.documents import read_document
from gateway.formats.facturx import build_facturx
from gateway.formats.ubl import write_ubl
from gateway.jobs import peppol_document
from gateway.validation.pipeline import validate
from gateway.validation.report import Report
from tests.conftest import EXAMPLES, load_example

NAMES = sorted(path.stem for path in EXAMPLES.glob("*.json"))

# The profiles an example can be submitted under with all its French mentions: MINIMUM carries no notes
# (BR-FR-05 fatal by design), EXTENDED is checked by its own rules (see docs/intake-format.md).
CLEAN_PROFILES = ("en16931", "basic", "basicwl")

# (example, document) -> rules that fire and why; see docs/intake-format.md, "Examples".
KNOWN: dict[tuple[str, str], set[str]] = {
    # Sent on Peppol as BIS Billing 3.0 (the buyer is in Germany): BIS 3 allows one note (the French mentions
    # are four) and its code list predates the French SIREN scheme 0225 of the seller's electronic address.
    ("invoice-fr-intra-eu", "peppol"): {"PEPPOL-EN16931-R002", "PEPPOL-EN16931-CL008"},
}


def rules(report: Report) -> set[str]:
    return {finding.rule_id for finding in report.findings}


def assert_clean(name: str, document: str, report: Report) -> None:
    expected = KNOWN.get((name, document), set())
    found = [(f.rule_id, f.severity, f.artefact, f.message) for f in report.findings]
    assert rules(report) == expected, f"{name} as {document}: {found}"


def test_every_example_is_known() -> None:
    assert NAMES, "no example in docs/examples"
    assert {name for name, _ in KNOWN} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_an_example_gives_no_finding_in_cii_ubl_facturx_and_peppol(name: str) -> None:
    processed = intake.read_json(load_example(name))
    assert_clean(name, "gateway", processed.report)
    invoice = processed.invoice
    for profile in CLEAN_PROFILES:
        cii = write_cii(invoice, profile=profile)
        assert_clean(name, f"cii-{profile}", validate(read_document(cii, "application/xml"), french=True))
    assert_clean(name, "ubl", validate(read_document(write_ubl(invoice), "application/xml"), french=True))
    pdf = build_facturx(invoice, write_cii(invoice, profile="en16931"), profile="en16931")
    assert_clean(name, "facturx", validate(read_document(pdf, "application/pdf"), french=True))
    assert_clean(name, "peppol", peppol_document.build(invoice).report)

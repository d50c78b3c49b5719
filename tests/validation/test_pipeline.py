"""The validation pipeline: which artefacts run, and proof that each of them really rejects a broken invoice."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from gateway import intake
from gateway.formats.documents import read_document
from gateway.jobs import peppol_document
from gateway.validation import schematron, xsd
from gateway.validation.artefacts import XSD, XSLT
from gateway.validation.pipeline import artefacts_for, is_extended_ctc_fr, validate
from gateway.validation.schematron import ARTEFACT_ERROR, ArtefactError
from tests.conftest import load_example
from tests.validation.conftest import fatal_rules, fixture

CII_GUIDELINE = b"<ram:ID>urn:cen.eu:en16931:2017</ram:ID>"
UBL_GUIDELINE = b"<cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>"
CTC_FR = "urn:cen.eu:en16931:2017#conformant#urn.cpro.gouv.fr:1p0:extended-ctc-fr"
EXTENDED = "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended"
BASIC = "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic"
BASIC_WL = "urn:factur-x.eu:1p0:basicwl"
XRECHNUNG = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"

# BT-112 = 715.54 in both fixtures; 815.54 breaks BR-CO-15 (BT-112 = BT-109 + BT-110) beyond any tolerance.
CII_TOTAL = (b"<ram:GrandTotalAmount>715.54<", b"<ram:GrandTotalAmount>815.54<")
UBL_TOTAL = (b'<cbc:TaxInclusiveAmount currencyID="EUR">715.54<', b'<cbc:TaxInclusiveAmount currencyID="EUR">815.54<')
CII_FRENCH_NOTES = (b"<ram:SubjectCode>PMT</ram:SubjectCode>", b"<ram:SubjectCode>ZZZ</ram:SubjectCode>")
UBL_FRENCH_NOTES = (b"<cbc:Note>#PMT#", b"<cbc:Note>#ZZZ#")
NS = {
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "ubl": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


def _cii(guideline: str | None = None) -> bytes:
    data = fixture("fr-invoice-cii.xml")
    return data.replace(CII_GUIDELINE, f"<ram:ID>{guideline}</ram:ID>".encode()) if guideline else data


def _ubl(guideline: str | None = None) -> bytes:
    data = fixture("fr-invoice-ubl.xml")
    return data.replace(UBL_GUIDELINE, f"<cbc:CustomizationID>{guideline}</cbc:CustomizationID>".encode()) if guideline else data


def _bis3() -> bytes:
    """The French example as Peppol BIS Billing 3.0, made to pass its rules (one note, SIRET electronic addresses)."""
    example = load_example("invoice-fr-b2b")
    for party in ("seller", "buyer"):
        example[party]["electronic_address"] = {"scheme": "0009", "value": example[party]["identifiers"][0]["value"]}
    example["notes"] = example["notes"][-1:]
    return peppol_document.build(intake.read_json(example).invoice, "bis3").data


BIS3_CUSTOMIZATION = (
    b"<cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0</cbc:CustomizationID>",
    b"<cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>",
)


def _fires(report, artefact: str, marker: str) -> bool:
    """Whether the artefact gave a fatal finding whose rule id (or, for FX-SCH-* ids, message) names `marker`."""
    fatal = [f for f in report.findings if f.artefact == artefact and f.severity == "fatal"]
    return any(f.rule_id.startswith(marker) or f"[{marker}]" in f.message for f in fatal)


def test_valid_french_invoices_pass_every_artefact():
    for data, artefacts in (
        (_cii(), ["XSD-cii-en16931", "FACTURX-en16931", "BR-FR-CII"]),
        (_ubl(), ["XSD-ubl-invoice", "EN16931-UBL", "BR-FR-UBL"]),
    ):
        report = validate(read_document(data))
        assert report.artefacts == artefacts
        assert report.findings == []
        assert report.valid


@pytest.mark.parametrize(
    ("data", "syntax", "profile", "artefacts"),
    [
        (_cii(), "cii", "en16931", ["XSD-cii-en16931", "FACTURX-en16931", "BR-FR-CII"]),
        (_cii(EXTENDED), "cii", "extended", ["XSD-cii-extended", "FACTURX-extended", "BR-FR-CII"]),
        (fixture("fr-invoice-minimum.xml"), "cii", "minimum", ["XSD-cii-minimum", "FACTURX-minimum", "BR-FR-CII"]),
        (_cii(XRECHNUNG), "cii", None, ["XSD-cii-d22b", "FACTURX-en16931", "BR-FR-CII"]),
        (_cii(CTC_FR), "cii", None, ["XSD-cii-d22b", "EXTENDED-CTC-FR-CII", "BR-FR-CII"]),
        (_ubl(), "ubl-invoice", "en16931", ["XSD-ubl-invoice", "EN16931-UBL", "BR-FR-UBL"]),
        (_ubl(CTC_FR), "ubl-invoice", None, ["XSD-ubl-invoice", "EXTENDED-CTC-FR-UBL", "BR-FR-UBL"]),
    ],
)
def test_artefacts_follow_syntax_and_bt24(data, syntax, profile, artefacts):
    report = validate(read_document(data))
    assert (report.syntax, report.profile, report.artefacts) == (syntax, profile, artefacts)


def test_french_rules_only_when_asked():
    document = read_document(_ubl())
    assert artefacts_for(document, french=False) == ["EN16931-UBL"]
    assert validate(document, french=False).artefacts == ["XSD-ubl-invoice", "EN16931-UBL"]


def test_extended_ctc_fr_urns():
    assert is_extended_ctc_fr(CTC_FR)
    assert is_extended_ctc_fr("urn:cen.eu:en16931:2017#conformant#urn:peppol:france:billing:extended:1.0")
    assert not is_extended_ctc_fr(EXTENDED)
    assert not is_extended_ctc_fr(None)


# Each official artefact, a mutation of a document it passes, and the rule that must then fire (DESIGN pitfall 1).
BROKEN = {
    "EN16931-UBL": (_ubl(), UBL_TOTAL, "BR-CO-15"),
    "BR-FR-UBL": (_ubl(), UBL_FRENCH_NOTES, "BR-FR-05"),
    "EXTENDED-CTC-FR-UBL": (_ubl(CTC_FR), UBL_TOTAL, "BR-FREXT-CO-15"),
    "FACTURX-en16931": (_cii(), CII_TOTAL, "BR-CO-15"),
    "FACTURX-extended": (_cii(EXTENDED), CII_TOTAL, "BR-FXEXT-CO-15"),
    "FACTURX-basic": (_cii(BASIC), CII_TOTAL, "BR-CO-15"),
    "FACTURX-basicwl": (_cii(BASIC_WL), CII_TOTAL, "BR-CO-15"),
    "FACTURX-minimum": (fixture("fr-invoice-minimum.xml"), (b"<ram:TypeCode>380<", b"<ram:TypeCode>999<"), "FX-SCH-A-000023"),
    "BR-FR-CII": (_cii(), CII_FRENCH_NOTES, "BR-FR-05"),
    "EXTENDED-CTC-FR-CII": (_cii(CTC_FR), CII_TOTAL, "BR-FREXT-CO-15"),
    "PEPPOL-EN16931-UBL": (_bis3(), BIS3_CUSTOMIZATION, "PEPPOL-EN16931-R004"),  # run when the UBL is to travel on Peppol
}


def test_every_artefact_is_covered():
    assert set(BROKEN) == set(XSLT)


@pytest.mark.parametrize("artefact", BROKEN, ids=str)
def test_each_artefact_rejects_a_broken_invoice(artefact):
    data, (good, bad), rule = BROKEN[artefact]
    assert data.count(good) == 1
    peppol = artefact.startswith("PEPPOL")
    before = validate(read_document(data), french=not peppol, peppol=peppol)
    after = validate(read_document(data.replace(good, bad)), french=not peppol, peppol=peppol)
    assert artefact in after.artefacts
    assert not _fires(before, artefact, rule)
    assert _fires(after, artefact, rule)
    assert not after.valid


def _without(data: bytes, xpath: str) -> bytes:
    tree = etree.fromstring(data)
    found = tree.xpath(xpath, namespaces=NS)
    assert found
    for element in found:
        element.getparent().remove(element)
    return etree.tostring(tree)


def test_removing_the_french_notes_fires_br_fr_05():
    for data, notes, artefact in (
        (_cii(), "//ram:IncludedNote[ram:SubjectCode = 'PMT' or ram:SubjectCode = 'PMD' or ram:SubjectCode = 'AAB']", "BR-FR-CII"),
        (_ubl(), "/ubl:Invoice/cbc:Note[starts-with(., '#PMT#') or starts-with(., '#PMD#') or starts-with(., '#AAB#')]", "BR-FR-UBL"),
    ):
        assert not fatal_rules(validate(read_document(data)), artefact)
        report = validate(read_document(_without(data, notes)))
        br_fr_05 = [f.message for f in report.findings if f.artefact == artefact and f.severity == "fatal" and f.rule_id.startswith("BR-FR-05")]
        for code in ("PMT", "PMD", "AAB"):  # CII ids end in _PMT …, UBL ids in -1, -2, -3; the messages name the code
            assert any(f"(code {code})" in message for message in br_fr_05), code


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("path", "good", "bad", "artefact"),
    [
        (
            "cen-en16931/ubl/examples/ubl-tc434-example1.xml",
            b'<cbc:TaxInclusiveAmount currencyID="EUR">250.33<',
            b'<cbc:TaxInclusiveAmount currencyID="EUR">350.33<',
            "EN16931-UBL",
        ),
        ("cen-en16931/cii/examples/CII_example1.xml", b"<ram:GrandTotalAmount>250.33<", b"<ram:GrandTotalAmount>350.33<", "FACTURX-en16931"),
    ],
)
def test_broken_total_in_a_corpus_invoice_fires_br_co_15(corpus: Path, path, good, bad, artefact):
    data = (corpus / path).read_bytes()
    assert data.count(good) == 1
    assert "BR-CO-15" not in fatal_rules(validate(read_document(data), french=False), artefact)
    assert "BR-CO-15" in fatal_rules(validate(read_document(data.replace(good, bad)), french=False), artefact)


def test_xsd_errors_are_fatal_with_line_and_path_and_the_schematrons_still_run():
    data = _cii().replace(b"<ram:TypeCode>380</ram:TypeCode>", b"<ram:TypeCode>380</ram:TypeCode><ram:Unknown/>", 1)
    report = validate(read_document(data))
    (finding,) = [f for f in report.findings if f.rule_id == "XSD"]
    assert (finding.severity, finding.artefact) == ("fatal", "XSD-cii-en16931")
    assert finding.message.startswith("line ") and "Unknown" in finding.message
    assert finding.location and "ExchangedDocument" in finding.location
    assert report.artefacts == ["XSD-cii-en16931", "FACTURX-en16931", "BR-FR-CII"]
    assert not report.valid


def test_a_stylesheet_crash_is_a_fatal_artefact_error_never_a_pass():
    """Two buyer URIIDs make the official FACTUR-X_EN16931 and BR-FR stylesheets raise XPTY0004 (as on two Mustang files)."""
    buyer = b'<ram:URIID schemeID="0225">356000000</ram:URIID>'
    data = _cii().replace(buyer, buyer + b'<ram:URIID schemeID="EM">achats@example.org</ram:URIID>')
    report = validate(read_document(data))
    crashes = {f.artefact for f in report.findings if f.rule_id == ARTEFACT_ERROR and f.severity == "fatal"}
    assert crashes == {"FACTURX-en16931", "BR-FR-CII"}
    assert all(f.message.startswith(f.artefact) for f in report.findings if f.rule_id == ARTEFACT_ERROR)
    assert not report.valid
    assert validate(read_document(_cii())).valid  # the stylesheets keep working afterwards


def test_stylesheets_sharing_one_parsed_tree_find_what_separate_runs_find():
    """`validate` has Saxon parse a document once for all its stylesheets (`run_all`); each still finds what it finds alone."""
    tree = read_document(_cii().replace(*CII_TOTAL)).tree
    artefacts = ["FACTURX-en16931", "BR-FR-CII"]
    together = schematron.run_all(artefacts, tree)
    assert together == [schematron.run(artefact, tree) for artefact in artefacts]
    assert any(f.rule_id == "BR-CO-15" for f in together[0])


def test_a_stylesheet_that_cannot_compile_raises(tmp_path, monkeypatch):
    broken = tmp_path / "broken.xslt"
    broken.write_text('<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="2.0"><xsl:template match="/"/>')
    monkeypatch.setattr(schematron, "_state", {})  # a fresh processor, nothing compiled yet
    monkeypatch.setitem(XSLT, "BR-FR-CII", broken)
    with pytest.raises(ArtefactError, match=r"BR-FR-CII: cannot compile broken\.xslt"):
        validate(read_document(_cii()))
    monkeypatch.setitem(XSLT, "BR-FR-CII", tmp_path / "missing.xslt")
    with pytest.raises(ArtefactError, match="BR-FR-CII"):
        validate(read_document(_cii()))


def test_a_schema_that_cannot_load_raises(tmp_path, monkeypatch):
    monkeypatch.setattr(xsd, "_schemas", {})
    monkeypatch.setitem(XSD, "ubl-invoice", tmp_path / "missing.xsd")
    with pytest.raises(ArtefactError, match="XSD ubl-invoice"):
        validate(read_document(_ubl()))

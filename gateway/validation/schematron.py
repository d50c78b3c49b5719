"""Run the official schematron artefacts (compiled XSLT 2.0) in-process with saxonche.

Each stylesheet is compiled once per process and kept.  Saxon is never handed
untrusted bytes: callers pass a tree that the hardened parser accepted, which is
re-serialised here, and parsed by Saxon once for all the artefacts a document gets
(`run_all`: at 5,000 lines each parse costs ~0.5 s of CPU).  A validator that cannot run
is a failure, never a pass:
- a stylesheet that cannot be compiled raises `ArtefactError` (the caller answers 503 / retries);
- a stylesheet that raises a dynamic error on one document (e.g. FORG0001 on an empty amount)
  gives a fatal `ARTEFACT-ERROR` finding naming the artefact: that document is rejected.

Processes and threads (DESIGN pitfall 2), as measured with saxonche 13.1.1: one
processor used from several threads, and processors in forked children (created
before or after the fork, by the main thread or another one) all work and give
identical results (tests/validation/test_concurrency.py).  Still, as a precaution,
each process makes its own processor (keyed on the pid) and transforms are
serialised by a lock, which is re-created in a forked child so that a fork taken
while another thread validated cannot leave it locked forever.  Parallelism
comes from processes (gunicorn / worker processes), not threads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

from lxml import etree
from saxonche import PySaxonProcessor

from gateway.validation.artefacts import XSLT
from gateway.validation.report import Finding

SVRL = "http://purl.oclc.org/dsdl/svrl"


class ArtefactError(RuntimeError):
    """An official artefact cannot be run at all (missing, not compilable, no report): answer 503 / retry, never "valid"."""


ARTEFACT_ERROR = "ARTEFACT-ERROR"
MAX_ERROR_TEXT = 1000

_lock = threading.Lock()
_state: dict[str, object] = {}


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _processor() -> PySaxonProcessor:
    """One Saxon processor per process (re-created after a fork)."""
    if _state.get("pid") != os.getpid():
        _state.clear()
        _state["pid"] = os.getpid()
        _state["proc"] = PySaxonProcessor(license=False)
        _state["compiled"] = {}
    return _state["proc"]  # type: ignore[return-value]


def _executable(artefact: str, stylesheet: Path | None = None):
    proc = _processor()
    compiled: dict = _state["compiled"]  # type: ignore[assignment]
    if artefact not in compiled:
        path: Path = stylesheet or XSLT[artefact]
        xslt = proc.new_xslt30_processor()
        xslt.set_cwd(str(path.parent))
        try:
            compiled[artefact] = xslt.compile_stylesheet(stylesheet_file=str(path))
        except Exception as exc:  # saxonche raises PySaxonApiError
            raise ArtefactError(f"{artefact}: cannot compile {path.name}: {exc}") from exc
        if compiled[artefact] is None:
            raise ArtefactError(f"{artefact}: cannot compile {path.name}")
    return compiled[artefact]


def run(artefact: str, tree: etree._ElementTree | etree._Element, stylesheet: Path | None = None) -> list[Finding]:
    """Run one artefact on an already-parsed (hardened) tree; return its failed asserts and reports.

    `stylesheet` names an artefact kept outside the `XSLT` registry (the CDAR schematron of
    `gateway.lifecycle.cdar`).  Raises `ArtefactError` when the stylesheet cannot be compiled;
    a dynamic error on this document is returned as a fatal ARTEFACT-ERROR finding.
    """
    return _run([(artefact, stylesheet)], tree)[0]


def run_all(artefacts: Sequence[str], tree: etree._ElementTree | etree._Element) -> list[list[Finding]]:
    """`run` for several registry artefacts on one tree (the findings of each, in order), which Saxon parses once."""
    return _run([(artefact, None) for artefact in artefacts], tree)


def _run(artefacts: list[tuple[str, Path | None]], tree: etree._ElementTree | etree._Element) -> list[list[Finding]]:
    xml_text = etree.tostring(tree, encoding="unicode")
    node = None
    results = []
    for artefact, stylesheet in artefacts:
        with _lock:
            proc = _processor()
            executable = _executable(artefact, stylesheet)
            try:
                if node is None:  # a parse that failed is tried again (and reported) for each artefact
                    node = proc.parse_xml(xml_text=xml_text)
                svrl = executable.transform_to_string(xdm_node=node)
            except Exception as exc:  # saxonche raises PySaxonApiError
                message = " ".join(str(exc).split())[:MAX_ERROR_TEXT]
                failure = Finding(ARTEFACT_ERROR, "fatal", f"{artefact}: the official stylesheet failed on this document: {message}", artefact)
                results.append([failure])
                continue
        if not svrl:
            raise ArtefactError(f"{artefact}: the stylesheet produced no report")
        results.append(parse_svrl(artefact, svrl.encode()))
    return results


def parse_svrl(artefact: str, svrl: bytes) -> list[Finding]:
    """SVRL failed-asserts and successful-reports as findings (flag fatal/error → fatal, else warning)."""
    root = etree.fromstring(svrl, etree.XMLParser(resolve_entities=False, no_network=True))
    findings = []
    for element in root.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        flag = (element.get("flag") or "fatal").lower()
        text = " ".join("".join(element.findtext(f"{{{SVRL}}}text") or "").split())
        rule_id = element.get("id") or _rule_from_text(text)
        findings.append(
            Finding(
                rule_id=rule_id or "",
                severity="fatal" if flag in ("fatal", "error") else "warning",
                message=text,
                artefact=artefact,
                location=element.get("location"),
                business_term=_business_term(text),
            )
        )
    return findings


def _rule_from_text(text: str) -> str | None:
    head = text.split(" ", 1)[0].strip("[]:")
    return head if head.startswith(("BR-", "FX-")) else None


def _business_term(text: str) -> str | None:
    for token in text.replace("/", " ").replace("(", " ").replace(")", " ").split():
        token = token.strip(".,:;[]")
        if token.startswith(("BT-", "BG-")) and token[3:].split("-")[0].isdigit():
            return token
    return None

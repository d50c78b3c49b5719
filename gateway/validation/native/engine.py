"""Load compiled artefacts (cached on disk by the stylesheet's sha256) and run them in one pass over a document.

Why one pass: every pattern of every artefact walks the same elements; the engine walks them once and, per
element, tries only the rules whose last match step names that element (first match per pattern wins, as the
XSLT modes do).  Findings are kept per pattern, so the report lists them in Saxon's order.

Never a verdict of its own making: an artefact the compiler refuses runs in Saxon; an artefact that meets a
dynamic error (or a value the engine does not model) on a document is re-run by Saxon on that document, whose
report (an ARTEFACT-ERROR finding when Saxon fails too) is the one returned.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from lxml import etree

from gateway.validation.artefacts import XSLT
from gateway.validation.native import compiler, stylesheet
from gateway.validation.native.nodes import ANY, DocState, attribute_name_matches, element_matches
from gateway.validation.native.runtime import Attr, Doc, NativeUnsupported, XPathError
from gateway.validation.native.xpath import Unsupported
from gateway.validation.report import Finding

SOURCES = Path(__file__).resolve().parent


def _compiler_version() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for path in sorted(SOURCES.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    configured = os.environ.get("GATEWAY_NATIVE_CACHE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pdp-gateway" / "native"


class Compiled:
    """One artefact's rules, indexed by the element (or attribute) name their match pattern ends with."""

    def __init__(self, artefact: str, namespace: dict) -> None:
        self.artefact = artefact
        self.base = namespace["BASE"]
        self.patterns = namespace["PATTERNS"]
        self.elements: dict[object, list] = {}
        self.attributes: dict[object, list] = {}
        self.document: list = []
        for order, (pattern_no, function, alternatives) in enumerate(namespace["RULES"]):
            for anchored, steps in alternatives:
                entry = (pattern_no, order, function, anchored, steps, _trivial(anchored, steps))
                if not steps:
                    self.document.append(entry)
                    continue
                axis, test = steps[0][0], steps[0][1]
                key = test[1] if test[0] == "name" else "*"
                if axis == "attribute":
                    if self.patterns[pattern_no][1]:
                        self.attributes.setdefault(key, []).append(entry)
                else:
                    self.elements.setdefault(key, []).append(entry)
        self._by_tag: dict[str, list] = {}
        self._by_attr: dict[str, list] = {}

    def for_tag(self, tag: str) -> list:
        found = self._by_tag.get(tag)
        if found is None:
            found = self._by_tag[tag] = sorted(self.elements.get(tag, []) + self.elements.get("*", []), key=lambda e: e[1])
        return found

    def for_attribute(self, name: str) -> list:
        found = self._by_attr.get(name)
        if found is None:
            found = self._by_attr[name] = sorted(self.attributes.get(name, []) + self.attributes.get("*", []), key=lambda e: e[1])
        return found


def _trivial(anchored: bool, steps: list) -> bool:
    """A one-step relative pattern without predicates naming the element: the index already matched it."""
    return not anchored and len(steps) == 1 and not steps[0][2] and steps[0][1][0] in ("name", "any")


def _match(R: DocState, node: object, steps: list, i: int, anchored: bool) -> bool:
    axis, test, predicates, separator = steps[i]
    if axis == "attribute":
        if type(node) is not Attr or not attribute_name_matches(node.name, test):
            return False
    elif not element_matches(node, test):
        return False
    for predicate in predicates:
        if not predicate(node, R):
            return False
    up = R.parent(node)
    if i == len(steps) - 1:
        if anchored and separator == "/":
            return type(up) is Doc
        return True
    if separator == "/":
        return up is not None and _match(R, up, steps, i + 1, anchored)
    while up is not None:
        if _match(R, up, steps, i + 1, anchored):
            return True
        up = R.parent(up)
    return False


_lock = threading.Lock()
_compiled: dict[str, Compiled] = {}
_refused: dict[str, str] = {}


def load(artefact: str, path: Path | None = None) -> Compiled:
    """The compiled artefact (compiled once per process, cached on disk); raises `Unsupported` when refused."""
    with _lock:
        if artefact in _compiled:
            return _compiled[artefact]
        if artefact in _refused:
            raise Unsupported(_refused[artefact])
        source_path = path or XSLT[artefact]
        try:
            code = _code(source_path)
            namespace: dict = {"__name__": f"gateway_native_{artefact}"}
            exec(code, namespace)
            compiled = Compiled(artefact, namespace)
        except Unsupported as exc:
            _refused[artefact] = f"{artefact}: {exc}"
            raise Unsupported(_refused[artefact]) from exc
        _compiled[artefact] = compiled
        return compiled


def _code(path: Path):
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    cached = cache_dir() / f"{digest}-{_compiler_version()}.marshal"
    refusal = cached.with_suffix(".refused")
    if refusal.exists():
        raise Unsupported(refusal.read_text(encoding="utf-8"))
    if cached.exists():
        try:
            return marshal.loads(cached.read_bytes())
        except (EOFError, ValueError, TypeError):
            pass
    try:
        source = compiler.generate(stylesheet.read(path), str(path.parent))
        code = compile(source, f"<native {path.name}>", "exec")
    except Unsupported as exc:
        _write(refusal, str(exc).encode())
        raise
    _write(cached, marshal.dumps(code))
    return code


def _write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(data)
        temporary.replace(path)
    except OSError:
        pass  # a cache that cannot be written only costs the next process a compilation


def refusal(artefact: str) -> str | None:
    """Why the artefact runs in Saxon (None when it runs natively)."""
    try:
        load(artefact)
    except Unsupported as exc:
        return str(exc)
    return None


# -- running


class _Run:
    __slots__ = ("compiled", "error", "results")

    def __init__(self, compiled: Compiled) -> None:
        self.compiled = compiled
        self.results: list[list] = [[] for _ in compiled.patterns]
        self.error: str | None = None


def _fire(R: DocState, run: _Run, node: object, candidates: list) -> None:
    last = -1
    R.base = run.compiled.base
    for pattern_no, _, function, anchored, steps, trivial in candidates:
        if pattern_no == last:
            continue
        if trivial or _match(R, node, steps, 0, anchored):
            last = pattern_no
            found = function(node, R)
            if found:
                bucket = run.results[pattern_no]
                for check in found:
                    bucket.append((node, check))


def run_native(compiled: Sequence[Compiled], tree: etree._ElementTree | etree._Element) -> list[_Run]:
    """Every compiled artefact over the document in one walk; per artefact its raw results or its error."""
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    R = DocState(root)
    runs = [_Run(c) for c in compiled]
    active = list(runs)
    for run in active:
        if run.compiled.document:
            _guarded(R, run, R.doc, run.compiled.document)
    active = [r for r in active if r.error is None]
    attribute_runs = [r for r in active if r.compiled.attributes]
    for element in root.iter(ANY):
        tag = element.tag
        for run in active:
            if run.error is None:
                candidates = run.compiled.for_tag(tag)
                if candidates:
                    _guarded(R, run, element, candidates)
        if attribute_runs and element.attrib:
            for name, value in element.attrib.items():
                node = None
                for run in attribute_runs:
                    if run.error is None:
                        candidates = run.compiled.for_attribute(name)
                        if candidates:
                            node = node or Attr(element, name, value)
                            _guarded(R, run, node, candidates)
    R.location_cache = {}  # type: ignore[attr-defined]
    return runs


def _guarded(R: DocState, run: _Run, node: object, candidates: list) -> None:
    try:
        _fire(R, run, node, candidates)
    except (XPathError, NativeUnsupported, RecursionError) as exc:
        run.error = f"{type(exc).__name__}: {exc}"


def location(node: object, cache: dict) -> str:
    """The SVRL location of the ISO skeleton's schematron-get-full-path, exactly as Saxon writes it."""
    if type(node) is Attr:
        name = etree.QName(node.name)  # type: ignore[union-attr]
        if name.namespace is None:
            return f"{location(node.parent, cache)}/@{name.localname}"  # type: ignore[union-attr]
        return f"{location(node.parent, cache)}/@*[local-name()='{name.localname}' and namespace-uri()='{name.namespace}']"  # type: ignore[union-attr]
    if type(node) is Doc:
        return ""
    found = cache.get(node)
    if found is not None:
        return found
    parent = node.getparent()  # type: ignore[union-attr]
    prefix = location(parent, cache) if parent is not None else ""
    index = 1 + sum(1 for _ in node.itersiblings(node.tag, preceding=True))  # type: ignore[union-attr]
    qname = etree.QName(node)  # type: ignore[arg-type]
    step = f"/{qname.localname}[{index}]" if qname.namespace is None else f"/*:{qname.localname}[namespace-uri()='{qname.namespace}'][{index}]"
    cache[node] = found = prefix + step
    return found


def findings_of(run: _Run) -> list[Finding]:
    from gateway.validation.schematron import _business_term, _rule_from_text

    cache: dict = {}
    out = []
    for bucket in run.results:
        for node, (rule_id, flag, message) in bucket:
            text = " ".join(message.split())
            severity = "fatal" if (flag or "fatal").lower() in ("fatal", "error") else "warning"
            out.append(
                Finding(
                    rule_id=rule_id or _rule_from_text(text) or "",
                    severity=severity,  # type: ignore[arg-type]
                    message=text,
                    artefact=run.compiled.artefact,
                    location=location(node, cache),
                    business_term=_business_term(text),
                )
            )
    return out

"""Benchmark of the schematron engines: prints figures, asserts nothing.

For the CII and UBL generated from the French example with N lines (default 20, 100, 1000), and for the corpus
documents when ../shared/corpus is there: median milliseconds per artefact for Saxon and for the native engine
in the same run, their ratio, and the total of the artefacts a document gets.  Saxon's time includes its parse of
the document (once per document, as `schematron.run_all` does); the native engine works on the lxml tree.

Usage: python bench/bench_validation.py [--lines 20 100 1000] [--repeat 5] [--corpus 40]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_pipeline import intake_with_lines
from gateway.formats.cii import write_cii
from gateway.formats.documents import read_document
from gateway.formats.ubl import write_ubl
from gateway.model.serialize import invoice_from_json
from gateway.model.totals import complete
from gateway.validation import native, schematron
from gateway.validation.native import engine

CII = ["FACTURX-en16931", "BR-FR-CII"]
UBL = ["EN16931-UBL", "BR-FR-UBL"]
CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


def median_ms(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(runs)


def measure(tree, artefacts: list[str], repeat: int) -> dict[str, tuple[float, float]]:
    """Per artefact: (Saxon ms, native ms); Saxon's parse is counted once, in the first artefact's figure."""
    out = {}
    for artefact in artefacts:
        engine.load(artefact)
        schematron.run(artefact, tree)  # compiled and warm
        native.run_all([artefact], tree)
        saxon = median_ms(lambda a=artefact: schematron.run(a, tree), repeat)
        mine = median_ms(lambda a=artefact: native.run_all([a], tree), repeat)
        out[artefact] = (saxon, mine)
    both_saxon = median_ms(lambda: schematron.run_all(artefacts, tree), repeat)
    both_native = median_ms(lambda: native.run_all(artefacts, tree), repeat)
    out["all (one pass)"] = (both_saxon, both_native)
    return out


def show(title: str, figures: dict[str, tuple[float, float]]) -> None:
    print(f"\n{title}")
    print(f"  {'artefact':22} {'Saxon ms':>10} {'native ms':>10} {'ratio':>7}")
    for artefact, (saxon, mine) in figures.items():
        print(f"  {artefact:22} {saxon:10.2f} {mine:10.2f} {saxon / mine if mine else float('inf'):6.1f}x")


def generated(lines: int) -> tuple[etree._Element, etree._Element]:
    invoice = invoice_from_json(intake_with_lines(lines))
    complete(invoice)
    return read_document(write_cii(invoice)).tree, read_document(write_ubl(invoice)).tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="*", default=[20, 100, 1000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--corpus", type=int, default=40, help="corpus documents to time (0: none)")
    args = parser.parse_args()
    for artefact in [*CII, *UBL]:
        reason = engine.refusal(artefact)
        print(f"{artefact}: {'native' if reason is None else 'Saxon (' + reason + ')'}")
    for lines in args.lines:
        cii, ubl = generated(lines)
        repeat = args.repeat if lines <= 1000 else max(1, args.repeat // 3)
        show(f"CII, {lines} lines", measure(cii, CII, repeat))
        show(f"UBL, {lines} lines", measure(ubl, UBL, repeat))
    if args.corpus and CORPUS.exists():
        totals: dict[str, list[tuple[float, float]]] = {}
        files = sorted(p for p in CORPUS.rglob("*.xml") if b"testSet" not in p.read_bytes()[:2000])[: args.corpus]
        for path in files:
            try:
                document = read_document(path.read_bytes())
            except Exception:
                continue
            artefacts = CII if document.syntax == "cii" else UBL
            for artefact, pair in measure(document.tree, artefacts, 3).items():
                totals.setdefault(f"{document.syntax}: {artefact}", []).append(pair)
        print(f"\ncorpus ({len(files)} documents), median over documents")
        print(f"  {'artefact':32} {'Saxon ms':>10} {'native ms':>10} {'ratio':>7}")
        for key, pairs in sorted(totals.items()):
            saxon = statistics.median(p[0] for p in pairs)
            mine = statistics.median(p[1] for p in pairs)
            print(f"  {key:32} {saxon:10.2f} {mine:10.2f} {saxon / mine:6.1f}x")
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (both engines loaded)")


if __name__ == "__main__":
    main()

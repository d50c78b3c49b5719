"""Benchmark of the core pipeline: prints figures, asserts nothing.

For an N-line invoice (default 20) built from the French example:
- documents per second for JSON → canonical → CII + UBL + Factur-X PDF;
- milliseconds per validation artefact (XSD and each official schematron) on the generated CII and UBL.

Usage: python bench/bench_pipeline.py [--lines 20] [--seconds 10]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from pathlib import Path

from gateway.formats.cii import write_cii
from gateway.formats.documents import read_document
from gateway.formats.facturx import build_facturx
from gateway.formats.ubl import write_ubl
from gateway.model.serialize import invoice_from_json
from gateway.model.totals import complete
from gateway.validation import schematron
from gateway.validation.xsd import check_xsd

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "invoice-fr-b2b.json"


def intake_with_lines(count: int) -> dict:
    """The French example with `count` lines (the example's lines repeated with fresh ids)."""
    data = json.loads(EXAMPLE.read_text())
    base = data["lines"]
    data["lines"] = []
    for i in range(count):
        line = copy.deepcopy(base[i % len(base)])
        line["id"] = str(i + 1)
        data["lines"].append(line)
    return data


def generate(data: dict) -> tuple[bytes, bytes, bytes]:
    invoice = invoice_from_json(data)
    complete(invoice)
    cii = write_cii(invoice)
    return cii, write_ubl(invoice), build_facturx(invoice, cii)


def timed(fn, seconds: float) -> list[float]:
    """Run fn repeatedly for about `seconds`; return each run's milliseconds (at least 3 runs)."""
    runs: list[float] = []
    start = time.perf_counter()
    while len(runs) < 3 or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1000)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=20, help="invoice lines (default 20)")
    parser.add_argument("--seconds", type=float, default=10.0, help="time budget per measurement (default 10 s)")
    args = parser.parse_args()

    data = intake_with_lines(args.lines)
    cii, ubl, _ = generate(data)  # warm-up
    runs = timed(lambda: generate(data), args.seconds)
    print(f"{args.lines}-line invoice, JSON → CII + UBL + Factur-X: {1000 / statistics.median(runs):.1f} documents/s "
          f"(median {statistics.median(runs):.1f} ms over {len(runs)} runs)")  # fmt: skip

    print(f"{'artefact':<24} {'median ms':>10} {'p90 ms':>8}")
    for label, xml, artefacts in (("CII", cii, ["FACTURX-en16931", "BR-FR-CII"]), ("UBL", ubl, ["EN16931-UBL", "BR-FR-UBL"])):
        document = read_document(xml)
        check_xsd(document)  # compile once
        for name, fn in [(f"XSD {label}", lambda d=document: check_xsd(d))] + [
            (a, lambda a=a, d=document: schematron.run(a, d.tree)) for a in artefacts
        ]:
            fn()  # first run compiles / loads code lists
            ms = sorted(timed(fn, args.seconds / 4))
            print(f"{name:<24} {statistics.median(ms):>10.1f} {ms[int(len(ms) * 0.9) - 1]:>8.1f}")


if __name__ == "__main__":
    main()

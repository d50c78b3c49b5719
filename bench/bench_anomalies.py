"""Precision and recall of the anomaly checks (gateway/risk/checks.py) on a generated stream: prints figures, asserts nothing.

`--invoices` incoming invoices from `--suppliers` suppliers over two years, in the order of issue: each supplier with
its own SIREN, SIRET, VAT number and IBAN (all valid), its way of numbering and its amounts (a few bill the same
subscription every month).  Injected: exact resends of an earlier document, the same number written otherwise
(another document), the same amount again within days under a new number, a changed IBAN, a broken SIREN, an amount
far outside the supplier's habit.  Each invoice is checked against its supplier's history, then learnt.

Printed per kind: injected (a copy of an earlier invoice also has the earlier one's changed IBAN or odd amount),
caught, flagged, recall, precision; the overall precision of the findings that are not weak
signals (`info`); how the invoices were routed; invoices per second through the checks (facts in hand, one core).

Usage: python -m bench.bench_anomalies [--invoices 20000] [--suppliers 300] [--seed 19]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from stdnum import iban, luhn
from stdnum.fr import siren as siren_number

from gateway.risk.checks import INFO, History, check, level
from gateway.risk.facts import Facts

START = date(2025, 1, 1)
KINDS = ("duplicate_document", "duplicate_number", "possible_duplicate", "iban_changed", "invalid_identifier", "amount_outlier")
RATES = {"duplicate_document": 0.015, "duplicate_number": 0.01, "possible_duplicate": 0.005, "iban_changed": 0.005,
         "invalid_identifier": 0.005, "amount_outlier": 0.005}  # fmt: skip
FORMATS = ("F{y}-{n:06d}", "INV{n:05d}", "{y}/{n:04d}", "FA{n}", "FAC-{y}-{n:05d}")
REWRITES = (
    lambda s: s.replace("-", " "),
    lambda s: s.lower(),
    lambda s: s.replace("-", "/"),
    lambda s: re.sub(r"([A-Z])([0-9])", r"\1 \2", s),
    lambda s: re.sub(r"(?<![0-9])0([0-9]+)$", r"\1", s) if re.search(r"(?<![0-9])0[0-9]+$", s) else s + " ",
)


def _iban(rng: random.Random) -> str:
    bban = f"{rng.randrange(10**4, 10**5)}{rng.randrange(10**4, 10**5)}{rng.randrange(10**10, 10**11)}{rng.randrange(10, 100)}"
    return f"FR{iban.calc_check_digits('FR00' + bban)}{bban}"


def _siren(rng: random.Random) -> str:
    body = f"{rng.randrange(10**7, 10**8)}"
    return body + luhn.calc_check_digit(body)


def _supplier(index: int, rng: random.Random) -> dict:
    siren = _siren(rng)
    nic = f"{rng.randrange(1, 99):04d}"
    return {"siren": siren, "siret": siren + nic + luhn.calc_check_digit(siren + nic), "vat": "FR" + siren_number.to_tva(siren),
            "iban": _iban(rng), "format": rng.choice(FORMATS), "next": rng.randrange(1, 500), "name": f"Supplier {index}",
            "mu": rng.uniform(4.0, 9.0), "subscription": Decimal(rng.randrange(50, 900)) if rng.random() < 0.1 else None}  # fmt: skip


def _normal(supplier: dict, day: date, rng: random.Random) -> Facts:
    number = supplier["format"].format(y=day.year, n=supplier["next"])
    supplier["next"] += 1
    amount = supplier["subscription"] or Decimal(str(round(rng.lognormvariate(supplier["mu"], 0.3), 2)))
    return Facts(supplier["siren"], supplier["name"], number, day, amount, "EUR", False, supplier["iban"],
                 hashlib.sha256(f"{supplier['siren']}{number}{amount}".encode()).hexdigest(), "FR", supplier["siren"],
                 (supplier["siret"],), supplier["vat"])  # fmt: skip


INHERITED = {"amount_outlier", "iban_changed"}  # what a copy of an earlier invoice carries over from it


def stream(invoices: int, suppliers: int, rng: random.Random) -> list[tuple[Facts, set[str]]]:
    """(facts, the kinds it truly has: the one injected, and those of the invoice it copies) in the order of issue."""
    people = [_supplier(i, rng) for i in range(suppliers)]
    sent: dict[int, list[Facts]] = {}
    truth: dict[int, set[str]] = {}  # id(facts) -> its kinds
    out: list[tuple[Facts, set[str]]] = []
    for n in range(invoices):
        day = START + timedelta(days=n * 730 // invoices)
        while True:  # a subscription bills once a month
            who = rng.randrange(suppliers)
            supplier, earlier = people[who], sent.get(who, [])
            if not (supplier["subscription"] and earlier and (day - earlier[-1].issue_date).days < 28):
                break
        roll, kind = rng.random(), None
        for name, rate in RATES.items():
            roll -= rate
            if roll < 0:
                kind = name
                break
        facts, inherited = _normal(supplier, day, rng), set()
        if kind in ("duplicate_document", "duplicate_number", "possible_duplicate") and not earlier:
            kind = None
        if kind == "duplicate_document":
            original = rng.choice(earlier[-30:])
            facts, inherited = replace(original), truth[id(original)] & INHERITED
        elif kind == "duplicate_number":
            original = rng.choice(earlier[-30:])
            inherited = truth[id(original)] & INHERITED
            facts = replace(original, number=rng.choice(REWRITES)(original.number), document_sha256=hashlib.sha256(f"re{n}".encode()).hexdigest())
            kind = kind if facts.number != original.number else "duplicate_document"
            if kind == "duplicate_document":
                facts = replace(facts, document_sha256=original.document_sha256)
        elif kind == "possible_duplicate":
            recent = [f for f in earlier if 0 <= (day - f.issue_date).days <= 3]
            if recent:
                facts, inherited = replace(facts, total=recent[-1].total), truth[id(recent[-1])] & {"amount_outlier"}
            else:
                kind = None
        elif kind == "iban_changed" and earlier:
            facts = replace(facts, iban=_iban(rng))
        elif kind == "iban_changed":
            kind = None
        elif kind == "invalid_identifier":
            broken = facts.siren[:8] + str((int(facts.siren[8]) + 1) % 10)
            facts = replace(facts, supplier=broken, siren=broken, sirets=(broken + facts.sirets[0][9:],))
        elif kind == "amount_outlier" and len(earlier) >= 12 and not supplier["subscription"]:
            facts = replace(facts, total=(facts.total * 25).quantize(Decimal("0.01")))
        elif kind == "amount_outlier":
            kind = None
        kinds = ({kind} if kind else set()) | inherited
        if kind not in ("duplicate_document", "invalid_identifier"):
            sent.setdefault(who, []).append(facts)
            truth[id(facts)] = kinds
        out.append((facts, kinds))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=20_000)
    parser.add_argument("--suppliers", type=int, default=300)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args(argv)
    items = stream(args.invoices, args.suppliers, random.Random(args.seed))
    histories: dict[str, History] = {}
    injected, caught, flagged, routes = Counter(), Counter(), Counter(), Counter()
    false: list[tuple[str, str]] = []
    started = time.perf_counter()
    for index, (facts, kinds) in enumerate(items, start=1):
        history = histories.setdefault(facts.supplier, History())
        findings = [f for f in check(facts, history) if f.severity != INFO]
        routes[level(findings, len(history.numbers))[1]] += 1
        history.learn(facts, trusted_iban=not any(f.kind in ("iban_changed", "invalid_iban") for f in findings))
        injected.update(kinds)
        for finding in findings:
            flagged[finding.kind] += 1
            if finding.kind in kinds:
                caught[finding.kind] += 1
            else:
                false.append((finding.kind, finding.explanation))
        if index % 2000 == 0:
            print(f"\r  {index:,}/{len(items):,}", end="", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    print(file=sys.stderr)
    print(f"{len(items):,} invoices from {args.suppliers} suppliers, seed {args.seed}: {len(items) / elapsed:,.0f} invoices/s through the checks")
    print(f"{'kind':<20} {'injected':>8} {'caught':>7} {'flagged':>8} {'recall':>7} {'precision':>9}")
    for kind in KINDS:
        recall = caught[kind] / injected[kind] if injected[kind] else 1.0
        precision = caught[kind] / flagged[kind] if flagged[kind] else 1.0
        print(f"{kind:<20} {injected[kind]:>8} {caught[kind]:>7} {flagged[kind]:>8} {recall:>7.1%} {precision:>9.1%}")
    total_flagged = sum(flagged.values())
    print(f"overall precision {sum(caught.values()) / total_flagged:.1%} ({total_flagged} findings, {len(false)} not injected)")
    print("routed: " + ", ".join(f"{name} {count:,}" for name, count in routes.most_common()))
    for kind, explanation in false[:5]:
        print(f"  not injected: {kind}: {explanation}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

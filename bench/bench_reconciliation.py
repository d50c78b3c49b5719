"""Benchmark of payment matching (gateway/payments/): prints figures, asserts nothing.

The seeded generator of tests/payments/statements.py makes open invoices for a set of buyers and noisy bank lines
paying them (exact RF references, end-to-end ids, mangled references, no reference, grouped, partial and
over-payments, bank fees, invoices less a credit note, foreign and shortened payer names, lines paying no invoice,
debits).

- `engine` (default): each line is proposed and decided against the book, an applied match lowering what its
  invoices still owe (`Book.applied`), as the store does; the engine alone, on one core.
- `store`: the lines are written as statement files (camt.053, camt.054 and MT940 in turn, each file resending the
  last lines of the one before) and imported through `gateway.payments.service.import_file` into a fresh database
  (SQLite in a temporary folder, or a new schema of `--postgres`, dropped afterwards): parsing, the hardened parser, fingerprints, the
  archive, the matches, the payment states and webhooks.  The invoices are inserted as rows of a delivered
  invoice (no documents: the 212's amounts per VAT rate are not computed, its evidence says why).

Printed: automatic matches correct (%), payable lines matched automatically (%), the right invoice among the first 3
candidates of the lines left for review (%), lines per second, peak memory.

Usage: python -m bench.bench_reconciliation [engine|store] [--lines 10000] [--invoices 50000] [--buyers 5000]
       [--seed 17] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test] [--per-file 1000]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.bench_delivery import fresh_database
from gateway.payments.matching import Settings, decide, propose
from tests.payments.statements import Scenario, invoice_rows, line_view, open_book, scenario, write

FORMATS = ("camt.053", "camt.054", "mt940")


def engine(world: Scenario) -> tuple[dict[str, int], float]:
    book = open_book(world)
    settings = Settings()
    counts = dict.fromkeys(("automatic", "correct", "payable", "review", "top3"), 0)
    started = time.perf_counter()
    for n, payment in enumerate(world.payments):
        proposals = propose(book, line_view(n, payment), settings)
        chosen = decide(proposals, settings)
        counts["payable"] += bool(payment.truth)
        if chosen is not None:
            book.applied(chosen, payment.payer_iban)
            counts["automatic"] += 1
            counts["correct"] += {a.invoice_id for a in chosen.allocations} == payment.truth
        elif payment.truth:
            counts["review"] += 1
            counts["top3"] += any(payment.truth & {a.invoice_id for a in p.allocations} for p in proposals[:3])
    return counts, time.perf_counter() - started


def store(world: Scenario, url: str | None, per_file: int) -> tuple[dict[str, int], float, int]:
    """Import the scenario's statement files into a fresh database: (counts, seconds importing, files)."""
    from sqlalchemy import insert, select

    from gateway.archive.service import Archive
    from gateway.config import Config
    from gateway.payments import models as pm
    from gateway.payments.service import import_file
    from gateway.store import models as db
    from gateway.store.session import Database, upgrade
    from gateway.store.tenants import create_tenant

    root = Path(tempfile.mkdtemp(prefix="bench-reconciliation-"))
    config = Config(data_dir=root / "data", database_url=url or f"sqlite:///{root / 'gateway.db'}", config_dir=root / "no-config")
    upgrade(config)
    database, archive = Database(config), Archive.for_config(config)
    with database.session() as session:
        tenant = create_tenant(session, f"bench-{uuid.uuid4().hex[:8]}")
        rows = invoice_rows(tenant.id, world.invoices)
        ids = {invoice.id: row["id"] for invoice, row in zip(world.invoices, rows, strict=True)}
        for start in range(0, len(rows), 5000):
            session.execute(insert(db.Invoice), rows[start : start + 5000])
        session.add_all(pm.PayerAccount(tenant_id=tenant.id, iban=iban, buyer_key=_buyer_key(world, keys)) for iban, keys in world.learned.items())
        session.commit()
        tenant_id = tenant.id
    third = -(-len(world.payments) // 3)
    files = [data for n, fmt in enumerate(FORMATS) for data in write(world.payments[n * third : (n + 1) * third], fmt, per_file)]
    started = time.perf_counter()
    for n, data in enumerate(files, 1):
        import_file(database, archive, tenant_id, data)
        print(f"\rimported {n}/{len(files)} files", end="", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    print(file=sys.stderr)
    back = {v: k for k, v in ids.items()}
    truth = {p.bank_ref: p.truth for p in world.payments}
    counts = dict.fromkeys(("automatic", "correct", "payable", "review", "top3", "stored"), 0)
    with database.session() as session:
        for line in session.scalars(select(pm.BankLine).where(pm.BankLine.tenant_id == tenant_id)):
            counts["stored"] += 1
            expected = truth[line.bank_ref]
            counts["payable"] += bool(expected)
            applied = {back[m.invoice_id] for m in line.matches if m.state == pm.APPLIED}
            if line.state == pm.MATCHED:
                counts["automatic"] += 1
                counts["correct"] += applied == expected
            elif expected:
                counts["review"] += 1
                counts["top3"] += bool(expected & {back[m.invoice_id] for m in line.matches if m.state == pm.PROPOSED})
    database.dispose()
    return counts, elapsed, len(files)


def _buyer_key(world: Scenario, keys: set[str]) -> str:
    """The store's buyer key (the folded name: the generated buyers have no SIREN) of a generated buyer."""
    from gateway.payments.matching import buyer_key

    name = next(i.buyer_name for i in world.invoices if i.buyer_key in keys)
    return buyer_key(None, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=("engine", "store"), default="engine")
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=50_000)
    parser.add_argument("--buyers", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--postgres", help="PostgreSQL URL: store mode runs in a new schema of it (default: SQLite in a temporary folder)")
    parser.add_argument("--per-file", type=int, default=1000, help="new lines per statement file (store mode)")
    args = parser.parse_args()
    world = scenario(random.Random(args.seed), args.invoices, args.buyers, args.lines)
    if args.mode == "engine":
        counts, elapsed = engine(world)
        where = "the engine alone, one core"
    else:
        with fresh_database("postgresql" if args.postgres else "sqlite", args.postgres or "") as url:
            counts, elapsed, files = store(world, url or None, args.per_file)
        where = f"{files} files imported into {'PostgreSQL' if args.postgres else 'SQLite'}; {counts['stored']} lines stored"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    automatic, payable, review = counts["automatic"], counts["payable"], counts["review"]
    print(f"{len(world.payments)} lines against {args.invoices} open invoices of {args.buyers} buyers (seed {args.seed}; {where})")
    print(f"automatic matches correct:           {100 * counts['correct'] / max(automatic, 1):6.2f} %  ({counts['correct']}/{automatic})")
    print(f"payable lines matched automatically: {100 * automatic / max(payable, 1):6.2f} %  ({automatic}/{payable})")
    print(f"review: right invoice in first 3:    {100 * counts['top3'] / max(review, 1):6.2f} %  ({counts['top3']}/{review})")
    print(f"lines per second:                    {len(world.payments) / elapsed:8.0f}")
    print(f"peak memory:                         {peak:8.0f} MiB")


if __name__ == "__main__":
    main()

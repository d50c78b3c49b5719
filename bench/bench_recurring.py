"""Benchmark and acceptance run of recurring invoices (gateway/recurring/): prints figures, asserts nothing.

`--schedules` schedules (monthly, quarterly, yearly and RRULE ones, some ending, some with a revision or a prorated
first period) spread over `--series` numbering series, run over two simulated years: at each step (the 1st, 10th
and 20th of every month) `--runs` runs at once, each in its own thread, through the real intake (validation,
documents, archive) into a fresh database (SQLite in a temporary folder, or a new schema of `--postgres`).

Printed: occurrences expected (from python-dateutil directly) and issued, occurrences issued more than once or
missing, numbers missing or repeated per series, numbers out of the order of issue, invoices per second, wall time.

Usage: python -m bench.bench_recurring [--schedules 1000] [--series 10] [--runs 8] [--seed 18]
       [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType

from dateutil.rrule import rrulestr
from sqlalchemy import select

from bench.bench_delivery import fresh_database
from gateway.archive.service import Archive
from gateway.config import Config
from gateway.recurring import service
from gateway.recurring.models import Occurrence
from gateway.recurring.rules import SHORTCUTS
from gateway.store import models as db
from gateway.store.session import Database, upgrade
from gateway.store.tenants import create_tenant
from tests.recurring.helpers import schedule

LAST = date(2027, 12, 31)
STEPS = [date(year, month, day) for year in (2026, 2027) for month in range(1, 13) for day in (1, 10, 20)] + [LAST]
RULES = ["monthly", "monthly", "quarterly", "yearly", "FREQ=MONTHLY;BYMONTHDAY=-1", "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=15"]


def _bodies(count: int, series: int, rng: random.Random) -> list[dict]:
    bodies = []
    for index in range(count):
        rule = RULES[index % len(RULES)]
        start = date(2026, rng.randrange(1, 13), 1 if "BYMONTHDAY" not in rule else 28 if "-1" in rule else 15)
        more: dict = {}
        if index % 7 == 0:
            more["end"] = date(2027, rng.randrange(1, 13), 28).isoformat()
        if index % 5 == 0:
            more["revisions"] = [{"from": "2027-01-01", "percent": "2.5"}]
        if index % 11 == 0:
            more["service_start"] = start.replace(day=10).isoformat()
        bodies.append(schedule(f"S{index % series:02d}", rule, start.isoformat(), **more) | {"name": f"schedule {index}"})
    return bodies


def _expected(body: dict) -> list[date]:
    first = datetime.fromisoformat(body["start"])
    until = min(LAST, date.fromisoformat(body["end"])) if "end" in body else LAST
    rule = rrulestr("RRULE:" + SHORTCUTS.get(body["rule"], body["rule"]), dtstart=first)
    return [m.date() for m in rule.between(first, datetime.combine(until, datetime.min.time()), inc=True)]


def _runs(database: Database, archive: Archive, day: date, runs: int) -> None:
    start = threading.Barrier(runs)

    def one() -> None:
        start.wait()
        service.run(database, archive, None, day)

    threads = [threading.Thread(target=one) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--series", type=int, default=10)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--postgres", default="")
    args = parser.parse_args(argv)
    bodies = _bodies(args.schedules, args.series, random.Random(args.seed))
    with tempfile.TemporaryDirectory() as folder, fresh_database("postgresql" if args.postgres else "sqlite", args.postgres) as url:
        config = Config(data_dir=Path(folder), database_url=url, config_dir=Path(folder) / "no-config", sections=MappingProxyType({}))
        upgrade(config)
        database, archive = Database(config), Archive.for_config(config)
        with database.session() as session:
            tenant_id = create_tenant(session, "bench-recurring").id
        with database.session() as session:
            created = [service.create(session, archive, tenant_id, body).id for body in bodies]
        began = time.perf_counter()
        for index, day in enumerate(STEPS):
            _runs(database, archive, day, args.runs)
            print(f"\r{day} step {index + 1}/{len(STEPS)}", end="", file=sys.stderr, flush=True)
        elapsed = time.perf_counter() - began
        print(file=sys.stderr)
        with database.session() as session:
            rows = session.execute(select(Occurrence.schedule_id, Occurrence.on, Occurrence.state, Occurrence.number)).all()
            invoices = session.execute(select(db.Invoice.number, db.Invoice.issue_date).where(db.Invoice.tenant_id == tenant_id)).all()
        database.dispose()
    expected = {(schedule_id, day) for schedule_id, body in zip(created, bodies, strict=True) for day in _expected(body)}
    issued = {(r.schedule_id, r.on) for r in rows if r.state == "issued"}
    numbers = Counter(number for number, _ in invoices)
    by_series: dict[str, list[tuple[int, date]]] = {}
    for number, issue_date in invoices:
        name, seq = number.rsplit("-", 1)
        by_series.setdefault(name, []).append((int(seq), issue_date))
    gaps = sum(max(s for s, _ in seqs) - len({s for s, _ in seqs}) for seqs in by_series.values())
    disorder = sum(1 for seqs in by_series.values() for a, b in zip(sorted(seqs), sorted(seqs)[1:], strict=False) if b[1] < a[1])
    print(f"database: {'postgresql' if args.postgres else 'sqlite'}; schedules: {args.schedules} in {args.series} series; {args.runs} runs at once, "
          f"{len(STEPS)} steps over two years")  # fmt: skip
    print(f"occurrences expected: {len(expected)}; issued: {len(issued)}; missing: {len(expected - issued)}; unexpected: {len(issued - expected)}")
    print(f"invoices stored: {len(invoices)}; numbers used twice: {sum(1 for c in numbers.values() if c > 1)}; gaps: {gaps}; "
          f"out of the order of issue: {disorder}; other states: {dict(Counter(r.state for r in rows if r.state != 'issued'))}")  # fmt: skip
    print(f"wall time: {elapsed:.0f} s; {len(invoices) / elapsed:.1f} invoices/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

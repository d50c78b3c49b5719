"""Benchmark of durable delivery: deliveries per second through the outbox, with 1, 2 and 4 worker threads.

Each measurement stores `--deliveries` invoices (through `intake.store`, so each has its outbox row),
then starts a `gateway.jobs.worker.Worker` with N delivery threads (no scheduler) and times until every
delivery is sent: claim, route, build the envelope, send through the connector to its loopback server,
commit the answer, record the 201 status and archive the receipt — the whole path of a delivery.

- e-mail: the Factur-X PDF (one rendered once, 41 KB) to the loopback aiosmtpd server, SMTP + STARTTLS + AUTH per message;
- Chorus Pro: the UBL (unique number per invoice) to the loopback PISTE + Chorus Pro server: duplicate look-up,
  deposer/flux, consulterCRDetaille until IN_INTEGRE; one cached token, the buyer structure cached.

The loopback servers run in this process, on the same 2 cores and GIL as the workers: the figures are a floor.
A fresh database per measurement: SQLite (a file) and, with --postgres, PostgreSQL (a fresh schema).

Usage (from the checkout root, since it uses the loopback servers of tests/):
       python -m bench.bench_delivery [--deliveries 200] [--workers 1 2 4] [--postgres URL | --postgres ""]
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select

from gateway.archive.service import Archive
from gateway.config import Config
from gateway.jobs.deliver import Deliverer
from gateway.jobs.models import SENT, Delivery
from gateway.jobs.worker import Worker
from gateway.store.session import Database, upgrade
from tests.jobs import helpers

POSTGRES_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CHANNELS = {"e-mail": (helpers.PRIVATE_BUYER, True), "Chorus Pro": (helpers.PUBLIC_BUYER, False)}  # buyer, with a Factur-X PDF


@contextmanager
def fresh_database(kind: str, postgres_url: str) -> Iterator[str]:
    """ "" for a SQLite file, else the URL of a new PostgreSQL schema (dropped afterwards)."""
    if kind == "sqlite":
        yield ""
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield f"{postgres_url}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


def sent(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(Delivery).where(Delivery.state == SENT)) or 0


def measure(kind: str, url: str, directory: Path, net: helpers.Networks, channel: str, count: int, threads: int) -> float:
    """Deliveries per second for `count` invoices with `threads` worker threads."""
    delivery: dict[str, Any] = {"connectors": net.connectors(), "idle_seconds": 0.005, "documents": {"chorus_pro": "ubl", "email": "facturx"}}
    sections = {"routing": helpers.routing_section(), "delivery": delivery}
    config = Config(data_dir=directory, database_url=url, config_dir=directory / "no-config", sections=MappingProxyType(sections))
    upgrade(config)
    database, archive = Database(config), Archive.for_config(config)
    buyer, facturx = CHANNELS[channel]
    helpers.submit(database, archive, helpers.new_tenant(database), count, buyer, facturx=facturx)
    worker = Worker(Deliverer(database, archive, config), threads, scheduler=False)
    started = time.perf_counter()
    worker.start()
    while sent(database) < count:
        time.sleep(0.01)
    seconds = time.perf_counter() - started
    worker.stop()
    database.dispose()
    return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=200, help="deliveries per measurement (default 200)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4], help="worker threads (default 1 2 4)")
    parser.add_argument("--postgres", default=POSTGRES_URL, help='PostgreSQL URL for the PostgreSQL rows ("": SQLite only)')
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    kinds = ["sqlite", "postgresql"] if args.postgres else ["sqlite"]

    print(f"{'database':<11} {'channel':<11} {'workers':>7} {'deliveries':>10} {'deliveries/s':>13}")
    with tempfile.TemporaryDirectory() as root, helpers.networks(Path(root)) as net:
        for kind in kinds:
            for channel in CHANNELS:
                for threads in args.workers:
                    with fresh_database(kind, args.postgres) as url:
                        rate = measure(kind, url, Path(tempfile.mkdtemp(dir=root)), net, channel, args.deliveries, threads)
                    print(f"{kind:<11} {channel:<11} {threads:>7} {args.deliveries:>10} {rate:>13.1f}", flush=True)


if __name__ == "__main__":
    main()

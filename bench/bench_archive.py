"""Benchmark of the archive: prints figures, asserts nothing.

- appends per second on SQLite and PostgreSQL: one transaction per append (what a
  gateway worker does) and 1,000 appends per transaction (bulk import);
- seconds to verify an archive of 100,000 entries (every document hash, entry hash,
  link, Merkle root and checkpoint signature), in the gateway and with the stand-alone
  verifier on a full audit export;
- seconds for one inclusion proof at that size.

Documents are 2 KB each; the 100,000 entries share `--documents` distinct documents
(each byte is stored once; writing 100,000 distinct files with fsync would dominate).

Usage: python bench/bench_archive.py [--appends 2000] [--entries 100000] [--documents 10000]
       [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]   (empty: SQLite only)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from gateway.archive.export import export
from gateway.archive.service import Archive
from gateway.config import Config
from gateway.store.session import Database, upgrade

DOCUMENT_SIZE = 2048


def document(i: int) -> bytes:
    return f"document {i} ".encode().ljust(DOCUMENT_SIZE, b".")


@contextmanager
def archive_on(kind: str, postgres: str) -> Iterator[tuple[Database, Archive]]:
    """A fresh migrated archive on SQLite (temporary folder) or PostgreSQL (a schema dropped afterwards)."""
    with tempfile.TemporaryDirectory() as folder:
        url, schema = "", f"bench_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(postgres, poolclass=sa.pool.NullPool) if kind == "postgresql" else None
        if admin is not None:
            with admin.begin() as conn:
                conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
            url = f"{postgres}?options=-csearch_path%3D{schema}"
        config = Config(data_dir=Path(folder), database_url=url, config_dir=Path(folder) / "no-config")
        upgrade(config)
        database = Database(config)
        try:
            yield database, Archive.for_config(config)
        finally:
            database.dispose()
            if admin is not None:
                with admin.begin() as conn:
                    conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
                admin.dispose()


def appends_per_second(database: Database, archive: Archive, count: int, per_transaction: int, offset: int) -> float:
    started = time.perf_counter()
    for start in range(0, count, per_transaction):
        with database.session() as session:
            for i in range(start, min(count, start + per_transaction)):
                archive.append(session, tenant_id=1, invoice_id=None, kind="input", data=document(offset + i))
    return count / (time.perf_counter() - started)


def fill(database: Database, archive: Archive, entries: int, documents: int) -> None:
    with database.session() as session:
        current = archive.head(session)[0]
    for start in range(current, entries, 5000):
        with database.session() as session:
            for i in range(start, min(entries, start + 5000)):
                archive.append(session, tenant_id=i % 50, invoice_id=None, kind="input", data=document(i % documents))
    with database.session() as session:
        archive.checkpoint(session)


def stand_alone(database: Database, archive: Archive) -> tuple[float, float, int]:
    """Seconds to export everything and to check the export with the stand-alone verifier (isolated base interpreter)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "export.zip"
        started = time.perf_counter()
        with database.session() as session:
            export(archive, session, out, start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime(2999, 1, 1, tzinfo=UTC))
        exported = time.perf_counter() - started
        with zipfile.ZipFile(out) as zf:
            (Path(folder) / "verifier.py").write_bytes(zf.read("verifier.py"))
        python = getattr(sys, "_base_executable", sys.executable)
        started = time.perf_counter()
        done = subprocess.run([python, "-I", "verifier.py", "check", str(out), "--public-key", archive.public_key], cwd=folder, capture_output=True)
        return exported, time.perf_counter() - started, done.returncode


def bench(kind: str, args: argparse.Namespace) -> None:
    with archive_on(kind, args.postgres) as (database, archive):
        single = appends_per_second(database, archive, args.appends, 1, 0)
        bulk = appends_per_second(database, archive, args.appends * 5, 1000, args.appends)
        print(f"{kind:10}  appends/s: {single:8.0f} (one transaction each)   {bulk:8.0f} (1,000 per transaction)", flush=True)
        started = time.perf_counter()
        fill(database, archive, args.entries, args.documents)
        print(
            f"{kind:10}  filled {args.entries:,} entries ({args.documents:,} distinct documents) in {time.perf_counter() - started:.1f} s", flush=True
        )
        started = time.perf_counter()
        with database.session() as session:
            result = archive.verify(session)
        verified = time.perf_counter() - started
        assert result.ok, result.first
        with database.session() as session:
            started = time.perf_counter()
            archive.prove(session, hashlib.sha256(document(args.entries // 2 % args.documents)).hexdigest())
            proved = time.perf_counter() - started
        print(f"{kind:10}  verify {result.entries:,} entries: {verified:.1f} s   inclusion proof: {proved:.2f} s", flush=True)
        if kind == "sqlite":
            exported, checked, code = stand_alone(database, archive)
            print(f"{kind:10}  export all: {exported:.1f} s   stand-alone verifier on the export: {checked:.1f} s (exit {code})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--postgres", default=os.environ.get("GATEWAY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    print(f"archive benchmark: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, documents of {DOCUMENT_SIZE} bytes")
    bench("sqlite", args)
    if args.postgres:
        bench("postgresql", args)


if __name__ == "__main__":
    main()

"""Archive test fixtures: a fresh, migrated archive per test on SQLite (a file in tmp_path) and on PostgreSQL.

PostgreSQL: one database `archive_test_<pid>` per session (dropped at the end), one
schema per test.  Unreachable server: skip, unless CI=true (then fail).
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from gateway.archive.models import ArchiveEntry
from gateway.archive.service import Archive
from gateway.config import Config
from gateway.store.session import Database, upgrade

POSTGRES_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a database of our own on the test PostgreSQL server."""
    admin = sa.create_engine(POSTGRES_URL, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    name = f"archive_test_{os.getpid()}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL} ({exc.orig}); set CI=true to make this a failure")
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


@dataclass
class Setup:
    """One migrated gateway database with its document folder and archive."""

    kind: str
    config: Config
    database: Database
    archive: Archive

    def append(self, count: int, *, at: datetime | None = None, tenant_id: int = 1, prefix: str = "doc") -> list[ArchiveEntry]:
        """`count` entries of distinct small documents, in one transaction."""
        with self.database.session() as session:
            return [
                self.archive.append(session, tenant_id=tenant_id, invoice_id=str(uuid.uuid4()), kind="input", data=f"{prefix} {i}".encode(), at=at)
                for i in range(count)
            ]

    def checkpoint(self):
        with self.database.session() as session:
            return self.archive.checkpoint(session)

    def verify(self):
        with self.database.session() as session:
            return self.archive.verify(session)

    def tamper(self, *statements: str) -> None:
        """Run SQL as an attacker with full database access would: past the append-only triggers."""
        if self.kind == "sqlite":
            conn = sqlite3.connect(make_url(self.config.database_url).database)
            with conn:
                for name in ("entries_no_update", "entries_no_delete", "checkpoints_no_update", "checkpoints_no_delete"):
                    conn.execute(f"DROP TRIGGER IF EXISTS archive_{name}")
                for statement in statements:
                    conn.execute(statement)
            conn.close()
            return
        with self.database.engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")  # triggers off (superuser only)
            for statement in statements:
                conn.exec_driver_sql(statement)


def make_setup(kind: str, data_dir: Path, url: str = "", sections: dict | None = None) -> Setup:
    config = Config(data_dir=data_dir, database_url=url, config_dir=data_dir / "no-config", sections=sections or {})
    upgrade(config)
    return Setup(kind, config, Database(config), Archive.for_config(config))


def fresh_schema_url(postgres_url: str) -> str:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    return f"{postgres_url}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setup]:
    """A fresh archive, once on SQLite and once on PostgreSQL."""
    url = fresh_schema_url(request.getfixturevalue("postgres_url")) if request.param == "postgresql" else ""
    made = make_setup(request.param, tmp_path, url)
    yield made
    made.database.dispose()


@pytest.fixture
def sqlite_setup(tmp_path: Path) -> Iterator[Setup]:
    made = make_setup("sqlite", tmp_path)
    yield made
    made.database.dispose()

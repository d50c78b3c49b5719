"""Engines, sessions and schema migrations for SQLite (embedded default) and PostgreSQL.

SQLite connections get foreign keys enforced, WAL journalling (readers do not block
the writer) and a busy timeout.  `upgrade(config)` brings any database to the latest
Alembic revision; `gateway serve` calls it before serving.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from gateway.config import Config
from gateway.store.blobs import BlobStore

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
SQLITE_BUSY_TIMEOUT_S = 30


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def unavailable(exc: BaseException) -> bool:
    """Whether `exc` is the database being away (a lost or refused connection, a server restart, an exhausted pool, a locked
    SQLite file), not a bug in a statement: work is retried once it answers again."""
    if isinstance(exc, PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and (isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated)


def make_engine(url: str) -> Engine:
    """An engine for `url`; on SQLite the database folder is created and the pragmas set on every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Database:
    """The engine, the session factory and the document folder of one configured gateway."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.engine = make_engine(config.database_url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.blobs = BlobStore(config.documents_dir)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed when the block ends normally, rolled back otherwise."""
        with self.sessionmaker() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config() -> AlembicConfig:
    """The packaged Alembic configuration (works from an installed package, any working directory)."""
    return AlembicConfig(str(ALEMBIC_INI))


def upgrade(config: Config, revision: str = "head") -> None:
    """Migrate the configured database to `revision` (default: the latest)."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(config.database_url)
    try:
        with engine.begin() as connection:
            alembic = alembic_config()
            alembic.attributes["connection"] = connection
            alembic.attributes["gateway_config"] = config  # for migrations that need more than the database (keys)
            command.upgrade(alembic, revision)
    finally:
        engine.dispose()

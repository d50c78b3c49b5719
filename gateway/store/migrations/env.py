"""Alembic environment: runs on the connection `gateway.store.session.upgrade` hands over,
or on the configured database when Alembic is run by hand."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from gateway.config import load_config
from gateway.store.models import all_metadata
from gateway.store.session import make_engine


def _run(connection: Connection) -> None:
    # SQLite cannot ALTER most things: batch mode rebuilds tables instead.
    context.configure(connection=connection, target_metadata=all_metadata(), render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    if context.is_offline_mode():
        context.configure(url=load_config().database_url, target_metadata=all_metadata(), literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(load_config().database_url)
    try:
        with engine.begin() as own:
            _run(own)
    finally:
        engine.dispose()


main()

"""Per-request access to the gateway's database, session and configuration (Flask application context)."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, g
from sqlalchemy.orm import Session

from gateway.archive.service import Archive
from gateway.config import Config
from gateway.store.session import Database

EXTENSION = "gateway.database"
ARCHIVE = "gateway.archive"
SIGNER = "gateway.signer"


def database() -> Database:
    return current_app.extensions[EXTENSION]


def archive() -> Archive:
    return current_app.extensions[ARCHIVE]


def signer() -> Callable[[bytes], bytes] | None:
    """The gateway's document signer (None: no signing key configured)."""
    return current_app.extensions[SIGNER]


def config() -> Config:
    return database().config


def db_session() -> Session:
    """The request's session, opened on first use and closed (uncommitted work rolled back) at teardown."""
    if "db_session" not in g:
        g.db_session = database().sessionmaker()
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()

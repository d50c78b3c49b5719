"""Risk on SQLite and PostgreSQL: the reception tests' fixtures (the app, a fresh tenant per test, its archive)."""

from __future__ import annotations

from tests.reception.conftest import api, app, archive, database, other_api, receiver  # noqa: F401  (the same fixtures)

"""Recurring invoices on SQLite and PostgreSQL (the lifecycle tests' app and API fixtures): a fresh tenant per test."""

from __future__ import annotations

from tests.lifecycle.conftest import api, app, archive, database, other_api  # noqa: F401  (the same API fixtures)

"""Receivables on SQLite and PostgreSQL: the lifecycle tests' app and API fixtures (a fresh tenant per test) and the
dunning tests' loopback SMTP server, for the reminders whose effectiveness the KPIs measure."""

from __future__ import annotations

from tests.dunning.conftest import mailer, settings, smtp  # noqa: F401  (the same SMTP server and dunning settings)
from tests.lifecycle.conftest import api, app, archive, database, other_api  # noqa: F401  (the same API fixtures)

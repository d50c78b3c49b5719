"""Reception fixtures: those of tests/webhooks (the app on SQLite and PostgreSQL, a fresh tenant per test, the ERP's webhook
receiver on 127.0.0.1), and the app's archive."""

from __future__ import annotations

import pytest

from tests.webhooks.conftest import api, app, database, other_api, receiver  # noqa: F401  (fixtures, shared)


@pytest.fixture
def archive(app):  # noqa: F811
    return app.extensions["gateway.archive"]

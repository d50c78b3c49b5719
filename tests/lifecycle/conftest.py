"""The API under test with the statuses blueprint, on SQLite and PostgreSQL (the `gateway_config` fixture), a fresh tenant per test."""

from __future__ import annotations

import pytest

from gateway.api import statuses
from gateway.app import create_app
from tests.api.conftest import Api, new_tenant_key


@pytest.fixture(scope="session")
def app(gateway_config):
    app = create_app(gateway_config)
    if statuses.bp.name not in app.blueprints:  # until gateway/app.py registers it
        app.register_blueprint(statuses.bp)
    yield app
    app.extensions["gateway.database"].dispose()


@pytest.fixture
def api(app) -> Api:
    return Api(app, new_tenant_key(app))


@pytest.fixture
def other_api(app) -> Api:
    return Api(app, new_tenant_key(app))


@pytest.fixture
def database(app):
    return app.extensions["gateway.database"]


@pytest.fixture
def archive(app):
    return app.extensions["gateway.archive"]

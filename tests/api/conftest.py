"""The API under test: one app per database (SQLite, PostgreSQL), a fresh tenant and key per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from gateway.api.openapi import openapi_document
from gateway.app import create_app
from gateway.store.tenants import create_api_key, create_tenant


@pytest.fixture(scope="session")
def app(gateway_config):
    app = create_app(gateway_config)
    yield app
    app.extensions["gateway.database"].dispose()


def new_tenant_key(app) -> str:
    """A new tenant and its API key."""
    with app.extensions["gateway.database"].session() as session:
        return create_api_key(session, create_tenant(session, f"tenant-{uuid.uuid4().hex[:12]}"))


class Api:
    """A test client speaking as one tenant."""

    def __init__(self, app, key: str) -> None:
        self.client = app.test_client()
        self.key = key

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", **(headers or {})}

    def get(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any):
        return self.client.get(path, headers=self._headers(headers), **kwargs)

    def post(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any):
        return self.client.post(path, headers=self._headers(headers), **kwargs)

    def put(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any):
        return self.client.put(path, headers=self._headers(headers), **kwargs)

    def delete(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any):
        return self.client.delete(path, headers=self._headers(headers), **kwargs)


@pytest.fixture
def api(app) -> Api:
    return Api(app, new_tenant_key(app))


@pytest.fixture
def other_api(app) -> Api:
    return Api(app, new_tenant_key(app))


@pytest.fixture(scope="session")
def documented() -> Callable[[str, Any], None]:
    """Check a response body against a component schema of the OpenAPI document."""
    doc = openapi_document()

    def check(component: str, body: Any) -> None:
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:gateway:openapi", "components": doc["components"]}
        schema["$ref"] = f"#/components/schemas/{component}"
        jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER).validate(body)

    return check

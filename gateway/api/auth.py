"""Bearer API keys: every /api/v1 request names its tenant with `Authorization: Bearer <key>`."""

from __future__ import annotations

from flask import g, request

from gateway.api.context import db_session
from gateway.api.errors import ApiError
from gateway.observability import context
from gateway.store.models import Tenant
from gateway.store.tenants import tenant_for_key

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="gateway"'}


def authenticate() -> None:
    """`before_request` hook: set `g.tenant` from the API key, or answer 401 (missing, unknown or revoked key)."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "unauthorized", "An API key is required: Authorization: Bearer <key>.", headers=CHALLENGE)
    tenant = tenant_for_key(db_session(), key.strip())
    if tenant is None:
        raise ApiError(401, "unauthorized", "The API key is unknown or revoked.", headers=CHALLENGE)
    g.tenant = tenant
    context.bind(tenant=tenant.name)  # for the request's log lines; undone with the request's binding


def current_tenant() -> Tenant:
    return g.tenant

"""Tenants and their API keys.

A key is shown once, when created; the database keeps only its SHA-256 and a
short non-secret prefix to find it.  Keys are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.store.models import ApiKey, Tenant, utcnow

KEY_PREFIX = "gw_"
PREFIX_LENGTH = len(KEY_PREFIX) + 8


class TenantError(ValueError):
    """A tenant that already exists, or one that does not."""


def key_sha256(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def create_tenant(session: Session, name: str) -> Tenant:
    """A new tenant named `name` (unique)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise TenantError("A tenant name has 1 to 200 characters.")
    if session.scalar(select(Tenant).where(Tenant.name == name)) is not None:
        raise TenantError(f"Tenant {name!r} already exists.")
    tenant = Tenant(name=name)
    session.add(tenant)
    session.flush()
    return tenant


def get_tenant(session: Session, name: str) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.name == name))
    if tenant is None:
        raise TenantError(f"No tenant named {name!r}.")
    return tenant


def create_api_key(session: Session, tenant: Tenant) -> str:
    """A new API key for `tenant`, returned in clear this once: only its hash is stored."""
    key = f"{KEY_PREFIX}{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
    session.add(ApiKey(tenant_id=tenant.id, prefix=key[:PREFIX_LENGTH], key_sha256=key_sha256(key)))
    session.flush()
    return key


def tenants(session: Session) -> list[Tenant]:
    """Every tenant, by name."""
    return list(session.scalars(select(Tenant).order_by(Tenant.name)))


def api_keys(session: Session, tenant: Tenant) -> list[ApiKey]:
    """The tenant's keys (active and revoked), oldest first: their prefixes, never the keys themselves."""
    return list(session.scalars(select(ApiKey).where(ApiKey.tenant_id == tenant.id).order_by(ApiKey.created_at, ApiKey.id)))


def revoke_by_prefix(session: Session, tenant: Tenant, prefix: str) -> ApiKey:
    """Revoke the tenant's key whose prefix (as `api_keys` shows it) is `prefix`; TenantError when none or several match."""
    matching = [key for key in api_keys(session, tenant) if key.prefix == prefix.strip()]
    if len(matching) != 1:
        known = ", ".join(key.prefix for key in api_keys(session, tenant)) or "none"
        problem = "No key" if not matching else f"{len(matching)} keys"
        raise TenantError(f"{problem} of tenant {tenant.name!r} with the prefix {prefix!r} (its keys: {known}).")
    if matching[0].revoked_at is None:
        matching[0].revoked_at = utcnow()
        session.flush()
    return matching[0]


def revoke_api_key(session: Session, key: str) -> None:
    for api_key in session.scalars(select(ApiKey).where(ApiKey.key_sha256 == key_sha256(key))):
        api_key.revoked_at = utcnow()
    session.flush()


def tenant_for_key(session: Session, key: str) -> Tenant | None:
    """The tenant owning the active key `key`, or None (unknown or revoked)."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    digest = key_sha256(key)
    found = None
    for candidate in session.scalars(select(ApiKey).where(ApiKey.prefix == key[:PREFIX_LENGTH])):
        if hmac.compare_digest(candidate.key_sha256, digest) and candidate.revoked_at is None:
            found = candidate
    return found.tenant if found else None

"""The `[delivery]` table: workers, retries, which document each channel carries, and the connectors' settings.

Connector settings are `[delivery.connectors.<channel>]` for every tenant, with per-tenant overrides in
`[delivery.tenants."<tenant>".<channel>]` merged over them.  A key ending in `_env` names an environment
variable holding the value (`password_env = "SMTP_PASSWORD"` gives `password`), so secrets stay out of files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from gateway.config import ConfigError
from gateway.routing.settings import check_channel

DOCUMENT_KINDS = ("facturx", "ubl", "cii")
DEFAULT_DOCUMENTS = MappingProxyType({"email": "facturx", "chorus_pro": "facturx", "peppol": "ubl", "sandbox": "facturx"})
_TABLES = {"documents", "connectors", "tenants"}


@dataclass(frozen=True)
class DeliverySettings:
    workers: int = 2  # threads of `gateway worker`
    in_process_worker: bool = True  # `gateway serve` also runs one worker thread and the scheduler
    idle_seconds: float = 1.0  # how long an idle worker waits before looking for work again
    lease_seconds: float = 300.0  # a claim not finished by then is taken as its worker's death: must exceed the longest send
    max_attempts: int = 8  # attempts before a transiently failing delivery becomes a dead letter
    backoff_base_seconds: float = 30.0  # delay after the first failure; doubles each time, with jitter
    backoff_max_seconds: float = 3600.0
    status_poll_seconds: float = 900.0  # how often sent invoices' statuses are fetched from the networks
    checkpoint_check_seconds: float = 300.0  # how often the archive's `checkpoint_if_due` runs
    documents: Mapping[str, str] = field(default_factory=lambda: DEFAULT_DOCUMENTS)  # channel → document kind sent (others are fallbacks)
    connectors: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    tenants: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> DeliverySettings:
        scalars = {f.name: f for f in fields(cls) if f.name not in _TABLES}
        unknown = set(section) - set(scalars) - _TABLES
        if unknown:
            raise ConfigError(f"unknown setting(s) [delivery] {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name, value in section.items():
            if name in _TABLES:
                continue
            values[name] = _scalar(name, value, type(getattr(cls, name)))
        documents = dict(DEFAULT_DOCUMENTS)
        for channel, kind in _table(section, "documents").items():
            if kind not in DOCUMENT_KINDS:
                raise ConfigError(f"[delivery.documents] {channel} must be one of {', '.join(DOCUMENT_KINDS)}, not {kind!r}")
            documents[check_channel(channel, "[delivery.documents]")] = kind
        if documents.get("peppol") == "facturx":
            raise ConfigError("[delivery.documents] peppol cannot carry a Factur-X PDF: use ubl or cii")
        connectors = _table(section, "connectors")
        for channel in connectors:
            check_channel(channel, "[delivery.connectors]")
            _table(connectors, channel)
        tenants = _table(section, "tenants")
        for tenant, overrides in tenants.items():
            for channel in _table(tenants, tenant):
                check_channel(channel, f'[delivery.tenants."{tenant}"]')
                _table(overrides, channel)
        return cls(**values, documents=MappingProxyType(documents), connectors=MappingProxyType(connectors), tenants=MappingProxyType(tenants))

    def connector_config(self, tenant: str, channel: str) -> dict[str, Any] | None:
        """The connector settings for `tenant` on `channel` (environment references resolved), or None when not configured."""
        base = self.connectors.get(channel)
        override = self.tenants.get(tenant, {}).get(channel)
        if base is None and override is None:
            return None
        merged = {**(base or {}), **(override or {})}
        resolved = {}
        for key, value in merged.items():
            if key.endswith("_env"):
                if value not in os.environ:
                    raise ConfigError(f"connector {channel} for tenant {tenant!r}: environment variable {value!r} ({key}) is not set")
                resolved[key.removesuffix("_env")] = os.environ[value]
            else:
                resolved.setdefault(key, value)
        return resolved

    def configured(self, tenant: str) -> set[str]:
        """The channels with a connector configured for `tenant`."""
        return set(self.connectors) | set(self.tenants.get(tenant, {}))


def _scalar(name: str, value: Any, expected: type) -> Any:
    """A checked boolean, or a positive integer / number."""
    if expected is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"[delivery] {name} must be true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, int if expected is int else int | float) or value <= 0:
        raise ConfigError(f"[delivery] {name} must be a positive {'integer' if expected is int else 'number'}")
    return expected(value)


def _table(section: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = section.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"[delivery] {name} must be a table")
    return value

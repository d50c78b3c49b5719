"""The `[routing]` table of the configuration (config/routing.toml documents every key with examples).

Rules are tried in file order within their kind, a tenant's own rules before the rules for every
tenant.  Each rule has exactly one of `buyer`, `country`, `scheme` or `default = true`, and a `channel`.
A wrong key, kind or channel is a ConfigError at start-up, never a rule silently ignored.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from gateway.config import ConfigError
from gateway.texts import N_

PEPPOL_MODES = ("lookup", "trust", "ignore")
RULE_KINDS = ("buyer", "country", "scheme", "default")
_RULE_KEYS = {*RULE_KINDS, "channel", "tenant", "note"}
_SETTINGS = {"peppol_participants", "public_siren_heuristic", "sandbox", "rules"}


@cache
def channels() -> tuple[str, ...]:
    """The delivery channels: one per connector package (connectors/chorus_pro, email, peppol …)."""
    import connectors

    return tuple(sorted(m.name for m in pkgutil.iter_modules(connectors.__path__) if m.ispkg))


def check_channel(channel: Any, where: str) -> str:
    if channel not in channels():
        raise ConfigError(f"{where}: channel must be one of {', '.join(channels())}, not {channel!r}")
    return channel


def normalise(value: str) -> str:
    """Identifiers compare without spaces and without case ("FR 39 356000000" = "fr39356000000")."""
    return "".join(value.split()).upper()


@dataclass(frozen=True)
class Rule:
    """One routing rule: when `kind` matches `value` (for `tenant`, or every tenant), send through `channel`."""

    number: int  # position in the file, from 1 (for explanations)
    kind: str  # buyer | country | scheme | default
    value: str  # normalised; "" for a default rule
    channel: str
    given: str = ""  # the value as written, for explanations
    tenant: str | None = None
    note: str = ""

    def describe(self) -> str:
        what = N_("default") if self.kind == "default" else f"{self.kind} = {self.given or self.value}"
        if self.tenant:
            text = N_("routing rule #{number}: {what} for tenant {tenant} → {channel}").format(
                number=self.number, what=what, tenant=repr(self.tenant), channel=self.channel
            )
        else:
            text = N_("routing rule #{number}: {what} → {channel}").format(number=self.number, what=what, channel=self.channel)
        return f"{text} ({self.note})" if self.note else text


def _rule(number: int, item: Any) -> Rule:
    where = f"[[routing.rules]] #{number}"
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where}: a rule is a table")
    unknown = set(item) - _RULE_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    kinds = [kind for kind in RULE_KINDS if kind in item]
    if len(kinds) != 1:
        raise ConfigError(f"{where}: give exactly one of buyer, country, scheme or default = true")
    kind = kinds[0]
    value = item[kind]
    if kind == "default":
        if value is not True:
            raise ConfigError(f"{where}: default must be true")
        value = ""
    elif not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {kind} must be a non-empty string")
    elif kind == "country" and not (len(value) == 2 and value.isalpha()):
        raise ConfigError(f"{where}: country is an ISO 3166-1 alpha-2 code, not {value!r}")
    tenant, note = item.get("tenant"), item.get("note", "")
    if tenant is not None and not (isinstance(tenant, str) and tenant):
        raise ConfigError(f"{where}: tenant must be a tenant's name")
    if not isinstance(note, str):
        raise ConfigError(f"{where}: note must be a string")
    return Rule(number, kind, normalise(value), check_channel(item.get("channel"), where), value.strip(), tenant, note)


@dataclass(frozen=True)
class RoutingSettings:
    """How channels are decided: the opt-in inferences and the tenants' rules."""

    peppol_participants: str = "trust"  # a buyer address (BT-49) with a Peppol scheme: lookup (SML/SMP), trust, ignore
    public_siren_heuristic: bool = False  # opt-in: a SIREN starting with 1 or 2 is a public entity (Chorus Pro)
    rules: tuple[Rule, ...] = ()
    sandbox: bool = True  # a tenant without any real channel configured delivers to the sandbox (a simulated recipient)

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> RoutingSettings:
        unknown = set(section) - _SETTINGS
        if unknown:
            raise ConfigError(f"unknown setting(s) [routing] {', '.join(sorted(unknown))}")
        mode = section.get("peppol_participants", cls.peppol_participants)
        if mode not in PEPPOL_MODES:
            raise ConfigError(f"[routing] peppol_participants must be one of {', '.join(PEPPOL_MODES)}, not {mode!r}")
        heuristic, sandbox = section.get("public_siren_heuristic", False), section.get("sandbox", True)
        if not isinstance(heuristic, bool):
            raise ConfigError("[routing] public_siren_heuristic must be true or false")
        if not isinstance(sandbox, bool):
            raise ConfigError("[routing] sandbox must be true or false")
        items = section.get("rules", [])
        if not isinstance(items, list):
            raise ConfigError("[routing] rules must be an array of tables ([[routing.rules]])")
        return cls(mode, heuristic, tuple(_rule(number, item) for number, item in enumerate(items, 1)), sandbox)

    def rules_for(self, tenant: str, *kinds: str) -> list[Rule]:
        """The rules of these kinds that apply to `tenant`: its own first, then those for every tenant, each in file order."""
        applicable = [rule for rule in self.rules if rule.kind in kinds and rule.tenant in (None, tenant)]
        return sorted(applicable, key=lambda rule: rule.tenant is None)

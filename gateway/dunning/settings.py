"""`[dunning]` settings: whether the periodic run is on and how often, the time zone of "today", the rate tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from gateway.config import ConfigError
from gateway.dunning.law import Rates

_KEYS = {"enabled", "interval_seconds", "time_zone", "max_attempts", "lease_seconds", "ecb_rates", "legal_rates"}


@dataclass(frozen=True)
class DunningSettings:
    enabled: bool = True  # the worker's periodic run (a tenant without a policy gets no reminder anyway)
    interval_seconds: float = 3600.0
    time_zone: str = "Europe/Paris"  # where "today", the day a reminder is dated, is
    max_attempts: int = 5  # sends of a reminder whose channel fails, one per run
    lease_seconds: float = 300.0  # how long a run may take to send one reminder before another may take it over
    rates: Rates = field(default_factory=Rates)

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> DunningSettings:
        unknown = set(section) - _KEYS
        if unknown:
            raise ConfigError(f"[dunning]: unknown setting(s) {', '.join(sorted(unknown))}")
        try:
            settings = cls(
                enabled=bool(section.get("enabled", True)),
                interval_seconds=float(section.get("interval_seconds", 3600)),
                time_zone=str(section.get("time_zone", "Europe/Paris")),
                max_attempts=int(section.get("max_attempts", 5)),
                lease_seconds=float(section.get("lease_seconds", 300)),
                rates=Rates.from_section(section),
            )
            ZoneInfo(settings.time_zone)
        except (ValueError, KeyError, ArithmeticError) as exc:
            raise ConfigError(f"[dunning]: {exc}") from None
        return settings

    def today(self) -> date:
        return datetime.now(ZoneInfo(self.time_zone)).date()

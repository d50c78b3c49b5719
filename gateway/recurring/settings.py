"""`[recurring]` settings: whether the worker issues recurring invoices, how often it looks, and the time zone of "today"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.config import ConfigError

_KEYS = {"enabled", "interval_seconds", "time_zone"}


@dataclass(frozen=True)
class RecurringSettings:
    enabled: bool = True
    interval_seconds: float = 3600.0
    time_zone: str = "Europe/Paris"  # an invoice is issued on the day it is in this zone

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> RecurringSettings:
        if set(section) - _KEYS:
            raise ConfigError(f"[recurring]: unknown setting(s) {', '.join(sorted(set(section) - _KEYS))}")
        try:
            settings = cls(
                bool(section.get("enabled", True)), float(section.get("interval_seconds", 3600)), str(section.get("time_zone", "Europe/Paris"))
            )
            ZoneInfo(settings.time_zone)
        except (ValueError, ZoneInfoNotFoundError) as exc:
            raise ConfigError(f"[recurring]: {exc}") from None
        return settings

    def today(self) -> date:
        return datetime.now(ZoneInfo(self.time_zone)).date()

"""The gateway's one typed configuration: defaults < config/*.toml < environment.

The `[gateway]` table of every `*.toml` file in the config folder (read in name
order, later files win) sets the fields below; the environment (`GATEWAY_<FIELD>`,
e.g. `GATEWAY_PORT`) wins over the files.  Other tables are kept, untouched, in
`Config.sections` for the subsystems that own them (routing, signing …).
An unknown key or a value of the wrong type is an error at start-up, not a
silently ignored setting.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gateway.formats.profiles import get_profile

MB = 1024 * 1024
ENV_PREFIX = "GATEWAY_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("json", "text")


class ConfigError(ValueError):
    """A configuration file or variable that cannot be used."""


@dataclass(frozen=True)
class Config:
    """Settings of one gateway process.  Build it with `load_config()`, or directly in tests."""

    data_dir: Path = Path("var")
    database_url: str = ""  # empty: sqlite:///<data_dir>/gateway.db
    config_dir: Path = Path("config")
    max_body_bytes: int = 20 * MB
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    log_format: str = "json"
    metrics_token: str = field(default="", repr=False)  # bearer token for /metrics; empty: loopback clients only
    default_profile: str = "en16931"
    sections: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        object.__setattr__(self, "config_dir", Path(self.config_dir))
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.data_dir.resolve() / 'gateway.db'}")
        if self.log_level.upper() not in LOG_LEVELS:
            raise ConfigError(f"log_level must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}")
        object.__setattr__(self, "log_level", self.log_level.upper())
        if self.log_format not in LOG_FORMATS:
            raise ConfigError(f"log_format must be one of {', '.join(LOG_FORMATS)}, not {self.log_format!r}")
        try:
            object.__setattr__(self, "default_profile", get_profile(self.default_profile).name)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if self.max_body_bytes <= 0 or not 0 < self.port < 65536:
            raise ConfigError("max_body_bytes must be positive and port within 1-65535")

    @property
    def documents_dir(self) -> Path:
        """Where document bytes are stored, content-addressed."""
        return self.data_dir / "documents"


# Fields settable from files and the environment (everything but `sections`), with their types.
_SETTABLE = {f.name: f.type for f in dataclasses.fields(Config) if f.name != "sections"}


def _coerce(name: str, value: Any, source: str) -> Any:
    """Convert a TOML value or an environment string to the field's type."""
    kind = _SETTABLE[name]
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ConfigError(f"{source}: {name} must be an integer")
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{source}: {name} must be an integer, not {value!r}") from None
    if not isinstance(value, str):
        raise ConfigError(f"{source}: {name} must be a string")
    return Path(value) if kind == "Path" else value


def _read_files(config_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The merged `[gateway]` settings and the other tables of the config folder's TOML files."""
    settings: dict[str, Any] = {}
    sections: dict[str, Any] = {}
    for path in sorted(config_dir.glob("*.toml")) if config_dir.is_dir() else []:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        for table, values in data.items():
            if table != "gateway":
                sections[table] = values
                continue
            for name, value in values.items():
                if name not in _SETTABLE:
                    raise ConfigError(f"{path}: unknown setting [gateway] {name}")
                settings[name] = _coerce(name, value, str(path))
    return settings, sections


def load_config(environ: Mapping[str, str] | None = None, **overrides: Any) -> Config:
    """Defaults, then the config folder's TOML files, then `GATEWAY_*` variables, then `overrides` (command-line options)."""
    env = os.environ if environ is None else environ
    config_dir = Path(overrides.get("config_dir") or env.get(f"{ENV_PREFIX}CONFIG_DIR") or Config.config_dir)
    settings, sections = _read_files(config_dir)
    for name in _SETTABLE:
        value = env.get(ENV_PREFIX + name.upper())
        if value:
            settings[name] = _coerce(name, value, ENV_PREFIX + name.upper())
    settings.update({k: v for k, v in overrides.items() if v is not None})
    settings["config_dir"] = config_dir
    return Config(**settings, sections=MappingProxyType(sections))

"""The `[webhooks]` table of the configuration: where webhooks may be sent, and where the key of their secrets is.

    [webhooks]
    allow_http = false                          # true: http:// URLs are accepted too (receivers without TLS, on premises)
    allow_private_networks = ["10.20.0.0/16"]   # receivers inside these networks pass the SSRF guard (see guard.py)
    ca_file = ""                                # trust anchors for receivers' certificates; empty: requests' (certifi) bundle
    secret_key_file = ""                        # empty: <data_dir>/webhooks/secret-key, created (mode 0600) on first use

The key that encrypts the signing secrets may come instead from the environment, `GATEWAY_WEBHOOK_SECRET_KEY`
(64 hex digits), which wins over the file: see sealing.py.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.config import Config, ConfigError

KEY_FILE = Path("webhooks") / "secret-key"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class WebhookSettings:
    secret_key_file: Path
    allow_http: bool = False
    allow_private_networks: tuple[Network, ...] = ()
    ca_file: str = ""

    @classmethod
    def from_config(cls, config: Config) -> WebhookSettings:
        """The checked `[webhooks]` table; an unknown key or a value of the wrong type is a ConfigError."""
        section: Mapping[str, Any] = config.sections.get("webhooks", {})
        unknown = set(section) - {"allow_http", "allow_private_networks", "ca_file", "secret_key_file"}
        if unknown:
            raise ConfigError(f"unknown setting(s) in [webhooks]: {', '.join(sorted(unknown))}")
        allow_http, networks = section.get("allow_http", False), section.get("allow_private_networks", [])
        if not isinstance(allow_http, bool):
            raise ConfigError("[webhooks] allow_http must be true or false")
        if not isinstance(networks, list) or not all(isinstance(n, str) for n in networks):
            raise ConfigError('[webhooks] allow_private_networks must be a list of networks such as "10.0.0.0/8" or "::1/128"')
        try:
            allowed = tuple(ipaddress.ip_network(network, strict=False) for network in networks)
        except ValueError as exc:
            raise ConfigError(f"[webhooks] allow_private_networks: {exc}") from None
        for name in ("ca_file", "secret_key_file"):
            if not isinstance(section.get(name, ""), str):
                raise ConfigError(f"[webhooks] {name} must be a string")
        key_file = Path(section["secret_key_file"]) if section.get("secret_key_file") else config.data_dir / KEY_FILE
        return cls(key_file, allow_http, allowed, section.get("ca_file", ""))

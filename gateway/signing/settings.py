"""The `[signing]` table of the configuration: which key signs, which TSA time-stamps, which roots are trusted.

    [signing]
    store = "pkcs11"                     # pem | pkcs12 | pkcs11; no store: the gateway does not sign
    module = "/usr/lib/softhsm/libsofthsm2.so"
    token_label = "gateway"
    key_label = "seal"
    # key_file = "…/signing.key"  cert_file = "…/chain.pem"  pkcs12_file = "…/signing.p12"
    secret_env = "GATEWAY_SIGNING_SECRET"  # the variable holding the key / PKCS#12 password or the PIN
    tsa_url = "https://tsa.example/"     # PAdES B-T when set, B-B otherwise
    trust_roots = ["certs/roots.pem"]    # PEM files of the CAs whose signatures verify as "trusted"
    expiry_warning_days = 30

Secrets never sit in the file: only the name of the variable that holds them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from gateway.config import Config, ConfigError
from gateway.signing.keys import KeySettings, read_certificates

DEFAULT_SECRET_ENV = "GATEWAY_SIGNING_SECRET"
PATHS = ("key_file", "cert_file", "pkcs12_file")
STRINGS = ("store", "module", "token_label", "key_label", "secret_env", "tsa_url")
KNOWN = {*PATHS, *STRINGS, "trust_roots", "expiry_warning_days"}


@dataclass(frozen=True)
class SigningSettings:
    key: KeySettings | None = None
    tsa_url: str | None = None
    trust_roots: tuple[Path, ...] = ()
    expiry_warning_days: int = 30

    def roots(self) -> list[x509.Certificate]:
        """The trusted root certificates (every certificate of every `trust_roots` file)."""
        return [certificate for path in self.trust_roots for certificate in read_certificates(path)]


def signing_settings(config: Config, environ: Mapping[str, str] | None = None) -> SigningSettings:
    """The `[signing]` settings of `config`; an unknown key or a value of the wrong type is a ConfigError."""
    env = os.environ if environ is None else environ
    table: Mapping[str, Any] = config.sections.get("signing", {})
    unknown = set(table) - KNOWN
    if unknown:
        raise ConfigError(f"unknown setting(s) in [signing]: {', '.join(sorted(unknown))}")
    for name in (*PATHS, *STRINGS):
        if name in table and not isinstance(table[name], str):
            raise ConfigError(f"[signing] {name} must be a string")
    roots = table.get("trust_roots", [])
    days = table.get("expiry_warning_days", 30)
    if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
        raise ConfigError("[signing] trust_roots must be a list of file names")
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ConfigError("[signing] expiry_warning_days must be a non-negative integer")
    key = None
    if table.get("store"):
        if table["store"] not in ("pem", "pkcs12", "pkcs11"):
            raise ConfigError(f"[signing] store must be pem, pkcs12 or pkcs11, not {table['store']!r}")
        key = KeySettings(
            store=table["store"],
            password=env.get(table.get("secret_env", DEFAULT_SECRET_ENV)) or None,
            module=table.get("module"),
            token_label=table.get("token_label"),
            key_label=table.get("key_label"),
            **{name: Path(table[name]) for name in PATHS if table.get(name)},
        )
    return SigningSettings(key, table.get("tsa_url") or None, tuple(Path(r) for r in roots), days)

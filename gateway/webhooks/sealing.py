"""Webhook signing secrets encrypted at rest with AES-256-GCM.

The receiver checks the HMAC with the secret itself, so the gateway must be able to read it back: it cannot
be hashed like an API key.  It is encrypted with a 32-byte key kept outside the database: the environment
variable `GATEWAY_WEBHOOK_SECRET_KEY` (64 hex digits) when set, else the file `[webhooks] secret_key_file`
(default `<data_dir>/webhooks/secret-key`, created mode 0600 on first use and shared by every process, like
the portal's session secret).  A copy of the database alone therefore reveals no secret.

A stored value is `v1:` + base64url(12-byte random nonce + ciphertext + tag).  The subscription id is the
associated data: a value copied onto another subscription's row does not decrypt.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.config import ConfigError
from gateway.secret_files import load_or_create_secret
from gateway.webhooks.settings import WebhookSettings

KEY_ENV = "GATEWAY_WEBHOOK_SECRET_KEY"
VERSION = "v1:"
NONCE_BYTES = 12
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")


class SealError(ValueError):
    """A stored secret that does not decrypt with the configured key (another key, or an altered value)."""


def load_key(settings: WebhookSettings, environ: Mapping[str, str] | None = None) -> bytes:
    """The 32-byte key: from GATEWAY_WEBHOOK_SECRET_KEY when set, else from the key file (created on first use)."""
    value = (os.environ if environ is None else environ).get(KEY_ENV, "").strip()
    if value:
        if not _HEX_KEY.fullmatch(value):
            raise ConfigError(f"{KEY_ENV} must be 64 hexadecimal digits (32 bytes), e.g. the output of `openssl rand -hex 32`")
        return bytes.fromhex(value)
    key = load_or_create_secret(settings.secret_key_file)
    if len(key) != 32:
        raise ConfigError(f"{settings.secret_key_file} must hold 64 hexadecimal digits (32 bytes)")
    return key


def seal(key: bytes, subscription_id: str, secret: str) -> str:
    """`secret` encrypted for the row of `subscription_id`."""
    nonce = os.urandom(NONCE_BYTES)
    return VERSION + base64.urlsafe_b64encode(nonce + AESGCM(key).encrypt(nonce, secret.encode(), subscription_id.encode())).decode()


def unseal(key: bytes, subscription_id: str, sealed: str) -> str:
    """The secret `seal` encrypted; SealError when the key or the row is not the one it was sealed with."""
    try:
        if not sealed.startswith(VERSION):
            raise ValueError("unknown format")
        raw = base64.urlsafe_b64decode(sealed[len(VERSION) :])
        return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], subscription_id.encode()).decode()
    except (InvalidTag, ValueError) as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise SealError(
            f"the signing secret of webhook subscription {subscription_id} does not decrypt: is {KEY_ENV} or "
            "[webhooks] secret_key_file the key it was encrypted with?"
        ) from exc

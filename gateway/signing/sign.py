"""Sign a document with the right format for it: PAdES for a PDF, XAdES for UBL / CII XML."""

from __future__ import annotations

from collections.abc import Callable

from gateway.config import Config
from gateway.signing.expiry import check_key_expiry
from gateway.signing.keys import KeyStoreError, SigningKey, load_key
from gateway.signing.pades import sign_pdf
from gateway.signing.settings import signing_settings
from gateway.signing.verify import is_pdf
from gateway.signing.xades import sign_xml


def sign_document(data: bytes, key: SigningKey, tsa_url: str | None = None) -> bytes:
    """`data` signed by `key`: PAdES B-B (B-T with `tsa_url`) for a PDF, XAdES B-B for UBL or CII (`tsa_url` is not used: no XAdES B-T)."""
    return sign_pdf(data, key, tsa_url) if is_pdf(data) else sign_xml(data, key)


def load_configured_key(config: Config) -> SigningKey:
    """The key of the `[signing]` configuration, its certificate's expiry checked (and logged when near); KeyStoreError when none is configured."""
    settings = signing_settings(config)
    if settings.key is None:
        raise KeyStoreError("no signing key is configured ([signing] store)")
    key = load_key(settings.key)
    check_key_expiry(key, settings.expiry_warning_days)
    return key


def configured_signer(config: Config) -> Callable[[bytes], bytes] | None:
    """The gateway's document signer, or None when `[signing]` names no key store.

    The key is opened once (a PKCS#11 login, a PKCS#12 decryption) and kept for the process;
    a configured key that cannot be opened is an error at start-up, never unsigned output.
    """
    settings = signing_settings(config)
    if settings.key is None:
        return None
    key = load_configured_key(config)
    return lambda data: sign_document(data, key, settings.tsa_url)

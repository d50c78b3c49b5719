"""Signatures: XAdES on UBL / CII, PAdES on Factur-X PDFs, keys from PEM / PKCS#12 / PKCS#11, verification, certificate expiry.

Public entry points: `sign_document`, `verify_document`, `load_key` / `load_configured_key`,
`signing_settings`, `signing_health`.
"""

from gateway.signing.expiry import check_key_expiry, expiry_status, signing_health
from gateway.signing.keys import KeySettings, KeyStoreError, SigningError, SigningKey, load_key, load_pem, load_pkcs11, load_pkcs12
from gateway.signing.pades import sign_pdf
from gateway.signing.settings import SigningSettings, signing_settings
from gateway.signing.sign import load_configured_key, sign_document
from gateway.signing.verify import SignatureInfo, Verification, verify_document
from gateway.signing.xades import sign_xml, unsigned_xml

__all__ = [
    "KeySettings",
    "KeyStoreError",
    "SignatureInfo",
    "SigningError",
    "SigningKey",
    "SigningSettings",
    "Verification",
    "check_key_expiry",
    "expiry_status",
    "load_configured_key",
    "load_key",
    "load_pem",
    "load_pkcs11",
    "load_pkcs12",
    "sign_document",
    "sign_pdf",
    "sign_xml",
    "signing_health",
    "signing_settings",
    "unsigned_xml",
    "verify_document",
]

"""Signing keys and their certificates, from a PEM file, a PKCS#12 file or a PKCS#11 token.

Every store gives a `SigningKey`: its certificate, the issuers to send with it, and
one operation, `sign(data, hash_name)`.  The XAdES and PAdES code only ever calls that
operation, so a PKCS#11 key is used where it lives: the token computes the signature
and the private key never enters the gateway's memory.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key, pkcs12

HashName = Literal["sha256", "sha384", "sha512"]
HASHES: dict[str, type[hashes.HashAlgorithm]] = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}
StoreKind = Literal["pem", "pkcs12", "pkcs11"]


class SigningError(RuntimeError):
    """Signing could not be done for a reason on our side (key store, time-stamp authority): not the document's fault."""


class KeyStoreError(SigningError):
    """A key store that cannot be opened or used: missing file, wrong password or PIN, no such key, key and certificate disagree."""


class SigningKey(ABC):
    """A private key that signs, with its certificate and the chain of issuers to embed in signatures."""

    def __init__(self, certificate: x509.Certificate, chain: Iterable[x509.Certificate], description: str) -> None:
        self.certificate = certificate
        self.chain = tuple(chain)
        self.description = description

    @property
    def algorithm(self) -> Literal["rsa", "ec"]:
        public_key = self.certificate.public_key()
        if isinstance(public_key, rsa.RSAPublicKey):
            return "rsa"
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            return "ec"
        raise KeyStoreError(f"{self.description}: only RSA and EC keys are supported, not {type(public_key).__name__}")

    @property
    def key_size(self) -> int:
        return self.certificate.public_key().key_size  # type: ignore[union-attr]

    def max_signature_size(self) -> int:
        """An upper bound of `sign`'s output length, in bytes (DER ECDSA adds at most 9 bytes of framing)."""
        size = (self.key_size + 7) // 8
        return size if self.algorithm == "rsa" else 2 * size + 9

    @abstractmethod
    def sign(self, data: bytes, hash_name: str) -> bytes:
        """RSA PKCS#1 v1.5 or ECDSA (DER-encoded) signature of `data` hashed with `hash_name`."""

    def close(self) -> None:  # noqa: B027 - a key in memory holds nothing open
        """Release what the store holds open (a PKCS#11 session)."""


def hash_algorithm(hash_name: str) -> hashes.HashAlgorithm:
    try:
        return HASHES[hash_name.lower().replace("-", "")]()
    except KeyError:
        raise KeyStoreError(f"unsupported digest algorithm {hash_name!r}: use sha256, sha384 or sha512") from None


def _public_der(key) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def split_certificates(certificates: Iterable[x509.Certificate], public_key, where: str) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The certificate of `public_key`, and the others (its chain)."""
    wanted = _public_der(public_key)
    certificates = list(certificates)
    for certificate in certificates:
        if _public_der(certificate.public_key()) == wanted:
            return certificate, [c for c in certificates if c is not certificate]
    raise KeyStoreError(f"{where}: no certificate matches the private key")


def read_certificates(path: Path) -> list[x509.Certificate]:
    """Every PEM certificate in a file (none is fine: a key file may hold only the key)."""
    data = _read(path)
    return x509.load_pem_x509_certificates(data) if b"-----BEGIN CERTIFICATE-----" in data else []


def _read(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise KeyStoreError(f"cannot read {path}: {exc.strerror}") from None


# ---------------------------------------------------------------------------- keys in memory (PEM, PKCS#12)


class SoftwareKey(SigningKey):
    """A key held in memory by `cryptography`."""

    def __init__(self, private_key, certificate: x509.Certificate, chain: Iterable[x509.Certificate], description: str) -> None:
        if not isinstance(private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise KeyStoreError(f"{description}: only RSA and EC keys are supported, not {type(private_key).__name__}")
        super().__init__(certificate, chain, description)
        self._private_key = private_key

    def sign(self, data: bytes, hash_name: str) -> bytes:
        algorithm = hash_algorithm(hash_name)
        if isinstance(self._private_key, rsa.RSAPrivateKey):
            return self._private_key.sign(data, padding.PKCS1v15(), algorithm)
        return self._private_key.sign(data, ec.ECDSA(algorithm))


def load_pem(key_file: Path, cert_file: Path | None = None, password: str | None = None) -> SoftwareKey:
    """A PEM private key (PKCS#8 or traditional, encrypted when `password` is given) and its certificate chain.

    The certificates are read from `cert_file` and from the key file itself; the one matching the key is the signer's.
    """
    try:
        private_key = load_pem_private_key(_read(key_file), password.encode() if password else None)
    except (ValueError, TypeError) as exc:
        raise KeyStoreError(f"{key_file}: not a usable PEM private key (or wrong password): {exc}") from None
    certificates = read_certificates(key_file) + (read_certificates(cert_file) if cert_file else [])
    certificate, chain = split_certificates(certificates, private_key.public_key(), str(cert_file or key_file))
    return SoftwareKey(private_key, certificate, chain, f"PEM key {key_file}")


def load_pkcs12(path: Path, password: str | None) -> SoftwareKey:
    """The key, certificate and CA certificates of a PKCS#12 (.p12/.pfx) file."""
    try:
        private_key, certificate, others = pkcs12.load_key_and_certificates(_read(path), password.encode() if password else None)
    except ValueError as exc:
        raise KeyStoreError(f"{path}: not a readable PKCS#12 file (or wrong password): {exc}") from None
    if private_key is None or certificate is None:
        raise KeyStoreError(f"{path}: the PKCS#12 file holds no private key with its certificate")
    return SoftwareKey(private_key, certificate, others, f"PKCS#12 {path}")


# ---------------------------------------------------------------------------- PKCS#11 tokens


class Pkcs11Key(SigningKey):
    """A private key on a PKCS#11 token (HSM, smart card, SoftHSM2): the token signs, the key stays on it.

    One logged-in session per key, used under a lock (a PKCS#11 session runs one operation at a time).
    RSA keys sign with CKM_SHA*_RSA_PKCS; EC keys with CKM_ECDSA over a digest computed here, the
    mechanism every token supports, and the raw r‖s answer is re-encoded as DER.
    """

    def __init__(self, session, private_key, certificate: x509.Certificate, chain: Iterable[x509.Certificate], description: str) -> None:
        super().__init__(certificate, chain, description)
        self._session = session
        self._private_key = private_key
        self._lock = threading.Lock()

    def sign(self, data: bytes, hash_name: str) -> bytes:
        from pkcs11 import Mechanism, PKCS11Error

        name = hash_algorithm(hash_name).name
        try:
            with self._lock:
                if self.algorithm == "rsa":
                    mechanism = {"sha256": Mechanism.SHA256_RSA_PKCS, "sha384": Mechanism.SHA384_RSA_PKCS, "sha512": Mechanism.SHA512_RSA_PKCS}[name]
                    return self._private_key.sign(data, mechanism=mechanism)
                raw = self._private_key.sign(hashlib.new(name, data).digest(), mechanism=Mechanism.ECDSA)
        except PKCS11Error as exc:
            raise KeyStoreError(f"{self.description}: the token refused to sign: {type(exc).__name__} {exc}") from None
        half = len(raw) // 2
        return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))

    def close(self) -> None:
        with self._lock:
            self._session.close()


_logged_in_with: dict[tuple[str, str], str | None] = {}  # (module, token label) -> the PIN this process logged in with


def load_pkcs11(module: str, token_label: str, key_label: str, pin: str | None, cert_file: Path | None = None) -> Pkcs11Key:
    """The private key labelled `key_label` on the token `token_label`, and its certificate.

    The certificate (and chain) comes from `cert_file` when given, else from the token: the certificate
    object with the key's label.  The pair is checked with one probe signature, so a certificate that
    is not the key's fails here and not in every signature made later.
    """
    import pkcs11
    from pkcs11 import Attribute, KeyType, ObjectClass

    where = f"PKCS#11 token {token_label!r} ({module})"
    try:
        token = pkcs11.lib(module).get_token(token_label=token_label)
        try:
            session = token.open(user_pin=pin)
        except pkcs11.UserAlreadyLoggedIn:
            # PKCS#11 logs in once per process and token: another open key did it, and the token cannot check this PIN again.
            if not hmac.compare_digest(_logged_in_with.get((module, token_label)) or "", pin or ""):
                raise KeyStoreError(f"{where}: cannot open a session: PinIncorrect (the token is logged in with another PIN)") from None
            session = token.open()
    except (pkcs11.PKCS11Error, RuntimeError, OSError) as exc:
        raise KeyStoreError(f"{where}: cannot open a session: {type(exc).__name__} {exc}") from None
    _logged_in_with[(module, token_label)] = pin
    try:
        private_key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=key_label)
        if cert_file is not None:
            certificates = read_certificates(cert_file)
        else:
            objects = session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: key_label})
            certificates = [x509.load_der_x509_certificate(obj[Attribute.VALUE]) for obj in objects]
        if not certificates:
            raise KeyStoreError(f"{where}: no certificate for key {key_label!r}: import it on the token with that label, or give cert_file")
        key = Pkcs11Key(session, private_key, certificates[0], certificates[1:], f"{where} key {key_label!r}")
        if key.algorithm != ("rsa" if private_key.key_type == KeyType.RSA else "ec"):
            raise KeyStoreError(f"{key.description}: the certificate {key.certificate.subject.rfc4514_string()} is not the key's (another key type)")
        check_pair(key)
    except pkcs11.PKCS11Error as exc:
        session.close()
        raise KeyStoreError(f"{where}: no usable key {key_label!r}: {type(exc).__name__} {exc}") from None
    except KeyStoreError:
        session.close()
        raise
    return key


def check_pair(key: SigningKey) -> None:
    """Sign a probe and verify it with the certificate: KeyStoreError when the certificate is not the key's."""
    probe = b"pdp-gateway key check"
    signature = key.sign(probe, "sha256")
    public_key = key.certificate.public_key()
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, probe, padding.PKCS1v15(), hashes.SHA256())
        else:
            public_key.verify(signature, probe, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg,union-attr]
    except InvalidSignature:
        raise KeyStoreError(f"{key.description}: the certificate {key.certificate.subject.rfc4514_string()} is not the key's") from None


# ---------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class KeySettings:
    """Where the signing key is: `store` says which of the other fields are used.  Secrets (password, PIN) come from the environment."""

    store: StoreKind
    key_file: Path | None = None  # pem: the private key (it may also hold the certificates)
    cert_file: Path | None = None  # pem, pkcs11: the signing certificate and its chain (PEM)
    pkcs12_file: Path | None = None  # pkcs12
    password: str | None = None  # pem (encrypted key), pkcs12: the password; pkcs11: the user PIN
    module: str | None = None  # pkcs11: the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so
    token_label: str | None = None  # pkcs11
    key_label: str | None = None  # pkcs11: label of the private key (and of its certificate on the token)


def load_key(settings: KeySettings) -> SigningKey:
    """Open the key store `settings` describes."""
    if settings.store == "pem" and settings.key_file:
        return load_pem(settings.key_file, settings.cert_file, settings.password)
    if settings.store == "pkcs12" and settings.pkcs12_file:
        return load_pkcs12(settings.pkcs12_file, settings.password)
    if settings.store == "pkcs11" and settings.module and settings.token_label and settings.key_label:
        return load_pkcs11(settings.module, settings.token_label, settings.key_label, settings.password, settings.cert_file)
    needed = {"pem": "key_file", "pkcs12": "pkcs12_file", "pkcs11": "module, token_label and key_label"}.get(settings.store)
    raise KeyStoreError(
        f"key store {settings.store!r} needs {needed}" if needed else f"unknown key store {settings.store!r}: use pem, pkcs12 or pkcs11"
    )

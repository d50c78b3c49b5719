"""Key stores: PEM, PKCS#12 and PKCS#11 (SoftHSM2) give the same signing key; every misconfiguration is a clear KeyStoreError."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from gateway.config import Config, ConfigError
from gateway.signing.keys import KeySettings, KeyStoreError, load_key, load_pem, load_pkcs11, load_pkcs12
from gateway.signing.settings import signing_settings
from tests.signing.conftest import PASSWORD, PIN, Pki, SoftHsm


def _verifies(key, data: bytes = b"invoice") -> None:
    """The key's signature verifies with its certificate's public key (raises otherwise)."""
    signature = key.sign(data, "sha256")
    public_key = key.certificate.public_key()
    if key.algorithm == "rsa":
        public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    else:
        public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))


def test_every_store_gives_the_same_certificate_and_chain(any_key, pki: Pki) -> None:
    assert any_key.certificate == pki.certificate
    assert "Test Seller SAS" in any_key.certificate.subject.rfc4514_string()
    _verifies(any_key)


def test_pem_and_pkcs12_carry_the_ca_in_the_chain(pem_key, pki: Pki) -> None:
    assert list(pem_key.chain) == pki.roots
    assert list(load_pkcs12(pki / "signing.p12", PASSWORD).chain) == pki.roots


def test_a_pem_file_may_hold_the_key_and_its_certificates(pki: Pki, tmp_path: Path) -> None:
    combined = tmp_path / "combined.pem"
    combined.write_bytes((pki / "chain.pem").read_bytes() + (pki / "signing.key").read_bytes())
    key = load_pem(combined)
    assert key.certificate == pki.certificate and list(key.chain) == pki.roots


def test_an_encrypted_pem_key_needs_its_password(pki: Pki, tmp_path: Path) -> None:
    private = serialization.load_pem_private_key((pki / "signing.key").read_bytes(), None)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw"))
    )
    _verifies(load_pem(encrypted, pki / "chain.pem", "pw"))
    with pytest.raises(KeyStoreError, match="wrong password"):
        load_pem(encrypted, pki / "chain.pem", "not the password")


def test_wrong_pkcs12_password_is_refused(pki: Pki) -> None:
    with pytest.raises(KeyStoreError, match="wrong password"):
        load_pkcs12(pki / "signing.p12", "guess")


def test_a_certificate_of_another_key_is_refused(pki: Pki, pki_ec: Pki, tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match="no certificate matches the private key"):
        load_pem(pki / "signing.key", pki_ec / "chain.pem")
    with pytest.raises(KeyStoreError, match="cannot read"):
        load_pem(tmp_path / "missing.key")


def test_the_token_signs_and_never_gives_its_private_key(softhsm: SoftHsm, token_key) -> None:
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    _verifies(token_key)
    with pkcs11.lib(softhsm.module).get_token(token_label=softhsm.rsa_token).open() as session:  # logged in already by token_key
        private = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=softhsm.key_label)
        assert private[Attribute.SENSITIVE] is True
        with pytest.raises(pkcs11.AttributeSensitive):
            private[Attribute.PRIVATE_EXPONENT]


def test_an_ec_key_on_the_token_with_its_certificate_in_a_file(softhsm: SoftHsm, pki_ec: Pki) -> None:
    key = load_pkcs11(softhsm.module, softhsm.ec_token, softhsm.key_label, PIN, pki_ec / "chain.pem")
    try:
        assert key.algorithm == "ec" and key.certificate == pki_ec.certificate and list(key.chain) == pki_ec.roots
        _verifies(key)  # the token's raw r‖s is re-encoded as DER
    finally:
        key.close()


@pytest.mark.parametrize(
    ("token", "label", "pin", "cert", "message"),
    [
        ("gateway-rsa", "seal", "0000", None, "PinIncorrect"),
        ("no-such-token", "seal", PIN, None, "NoSuchToken"),
        ("gateway-rsa", "other", PIN, None, "NoSuchKey"),
        ("gateway-ec", "seal", PIN, None, "no certificate for key"),
        ("gateway-rsa", "seal", PIN, "ec", "is not the key's"),
    ],
)
def test_token_misconfigurations_are_named(softhsm: SoftHsm, token_key, pki_ec: Pki, token, label, pin, cert, message) -> None:
    del token_key  # another key of the token is open meanwhile: the process is logged in, a wrong PIN must still fail
    with pytest.raises(KeyStoreError, match=message):
        load_pkcs11(softhsm.module, token, label, pin, pki_ec / "chain.pem" if cert else None)


def test_signing_settings_come_from_the_configuration_and_the_environment(pki: Pki) -> None:
    table = {"store": "pkcs12", "pkcs12_file": str(pki / "signing.p12"), "trust_roots": [str(pki / "ca.pem")], "tsa_url": "http://127.0.0.1:1/"}
    settings = signing_settings(Config(sections={"signing": table}), environ={"GATEWAY_SIGNING_SECRET": PASSWORD})
    assert settings.key == KeySettings("pkcs12", pkcs12_file=pki / "signing.p12", password=PASSWORD)
    assert settings.roots() == pki.roots and settings.tsa_url == "http://127.0.0.1:1/" and settings.expiry_warning_days == 30
    assert load_key(settings.key).certificate == pki.certificate
    assert signing_settings(Config(), environ={}).key is None


@pytest.mark.parametrize(
    "table",
    [{"store": "pem", "pasword": "x"}, {"store": "vault"}, {"trust_roots": "ca.pem"}, {"expiry_warning_days": -1}, {"key_file": 3}],
)
def test_bad_signing_settings_are_refused(table: dict) -> None:
    with pytest.raises(ConfigError):
        signing_settings(Config(sections={"signing": table}), environ={})


def test_a_store_without_its_files_is_refused() -> None:
    with pytest.raises(KeyStoreError, match="needs key_file"):
        load_key(KeySettings("pem"))
    with pytest.raises(KeyStoreError, match="needs module, token_label and key_label"):
        load_key(KeySettings("pkcs11", module="/x.so"))

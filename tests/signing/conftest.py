"""Signing fixtures: test PKIs made by certs/make-test-ca.sh, keys from PEM, PKCS#12 and a SoftHSM2 token, the example invoice in every syntax.

SoftHSM2 reads its configuration once per process (at the PKCS#11 library's initialisation), so one
session-wide token folder holds every token; it lives in a temporary folder named by SOFTHSM2_CONF.
Without softhsm2 the PKCS#11 tests skip, unless CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509

from gateway.formats.cii import write_cii
from gateway.formats.facturx import build_facturx
from gateway.formats.ubl import write_ubl
from gateway.model.invoice import Invoice
from gateway.model.serialize import invoice_from_json
from gateway.model.totals import complete
from gateway.signing.keys import SigningKey, load_pem, load_pkcs11, load_pkcs12
from tests.conftest import ROOT, load_example

SCRIPT = ROOT / "certs" / "make-test-ca.sh"
PASSWORD = "p12 secret"
PIN = "1234"
SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
)


@dataclass(frozen=True)
class Pki:
    """A folder written by make-test-ca.sh."""

    folder: Path

    def __truediv__(self, name: str) -> Path:
        return self.folder / name

    @property
    def roots(self) -> list[x509.Certificate]:
        return x509.load_pem_x509_certificates((self.folder / "ca.pem").read_bytes())

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate((self.folder / "signing.pem").read_bytes())


def make_pki(folder: Path, *options: str) -> Pki:
    env = {**os.environ, "GATEWAY_SIGNING_SECRET": PASSWORD}  # the variable the script reads by default
    subprocess.run(["sh", str(SCRIPT), str(folder), *options], check=True, env=env, capture_output=True)
    return Pki(folder)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """An RSA test CA and signing certificate."""
    return make_pki(tmp_path_factory.mktemp("pki-rsa"))


@pytest.fixture(scope="session")
def pki_ec(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """An EC P-256 test CA and signing certificate, from another CA than `pki`."""
    return make_pki(tmp_path_factory.mktemp("pki-ec"), "--ec", "--name", "EC Seller SAS")


@pytest.fixture(scope="session")
def pem_key(pki: Pki) -> SigningKey:
    return load_pem(pki / "signing.key", pki / "chain.pem")


# ---------------------------------------------------------------------------- SoftHSM2


@dataclass(frozen=True)
class SoftHsm:
    module: str
    rsa_token: str = "gateway-rsa"  # the key and its certificate on the token
    ec_token: str = "gateway-ec"  # the key on the token, its certificate in a file
    key_label: str = "seal"


def _import_key(token: str, key_file: Path, folder: Path) -> None:
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", token, "--so-pin", "5678", "--pin", PIN], check=True, capture_output=True)
    subprocess.run(
        ["softhsm2-util", "--import", str(key_file), "--token", token, "--label", "seal", "--id", "01", "--pin", PIN],
        check=True,
        capture_output=True,
        cwd=folder,
    )


def _store_certificate(module: str, token: str, certificate: x509.Certificate) -> None:
    import pkcs11
    from cryptography.hazmat.primitives.serialization import Encoding
    from pkcs11 import Attribute, CertificateType, ObjectClass

    with pkcs11.lib(module).get_token(token_label=token).open(user_pin=PIN, rw=True) as session:
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.LABEL: "seal",
                Attribute.ID: b"\x01",
                Attribute.SUBJECT: certificate.subject.public_bytes(),
                Attribute.VALUE: certificate.public_bytes(Encoding.DER),
            }
        )


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory, pki: Pki, pki_ec: Pki):
    """Two SoftHSM2 tokens holding the keys of `pki` (with its certificate) and `pki_ec` (key only)."""
    module = next((m for m in SOFTHSM_MODULES if Path(m).is_file()), None)
    if module is None or shutil.which("softhsm2-util") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("softhsm2 is not installed (apt-get install softhsm2): the PKCS#11 tests cannot run")
        pytest.skip("softhsm2 is not installed (apt-get install softhsm2); set CI=true to make this a failure")
    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    config = folder / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(config)
    hsm = SoftHsm(module)
    _import_key(hsm.rsa_token, pki / "signing.key", folder)  # make-test-ca.sh writes PKCS#8, which softhsm2-util imports
    _import_key(hsm.ec_token, pki_ec / "signing.key", folder)
    _store_certificate(module, hsm.rsa_token, pki.certificate)
    yield hsm
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture(scope="session")
def token_key(softhsm: SoftHsm):
    key = load_pkcs11(softhsm.module, softhsm.rsa_token, softhsm.key_label, PIN)
    yield key
    key.close()


@pytest.fixture(scope="session", params=["pem", "pkcs12", "pkcs11"])
def any_key(request: pytest.FixtureRequest, pki: Pki) -> SigningKey:
    """The `pki` signing key from each key store."""
    if request.param == "pem":
        return request.getfixturevalue("pem_key")
    if request.param == "pkcs12":
        return load_pkcs12(pki / "signing.p12", PASSWORD)
    return request.getfixturevalue("token_key")


# ---------------------------------------------------------------------------- documents


def completed(name: str) -> Invoice:
    invoice = invoice_from_json(load_example(name))
    complete(invoice)
    return invoice


@pytest.fixture(scope="session")
def invoice() -> Invoice:
    return completed("invoice-fr-b2b")


@pytest.fixture(scope="session")
def ubl(invoice: Invoice) -> bytes:
    return write_ubl(invoice)


@pytest.fixture(scope="session")
def cii(invoice: Invoice) -> bytes:
    return write_cii(invoice)


@pytest.fixture(scope="session")
def facturx(invoice: Invoice, cii: bytes) -> bytes:
    return build_facturx(invoice, cii)


def flip(data: bytes, index: int) -> bytes:
    """`data` with one bit of the byte at `index` flipped."""
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]

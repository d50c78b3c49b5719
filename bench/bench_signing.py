"""Benchmark of signing: prints figures, asserts nothing.

Signatures per second, single-threaded, on the French example invoice, for
- XAdES B-B on the UBL and PAdES B-B on the Factur-X PDF,
- with an RSA 2048 and an EC P-256 key in memory (PEM), and with the RSA key on a SoftHSM2 token
  (PKCS#11) when softhsm2 is installed;
- and verifications per second of each signed document.

The keys come from certs/make-test-ca.sh, the token is made in a temporary folder.

Usage: python bench/bench_signing.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gateway.formats.cii import write_cii
from gateway.formats.facturx import build_facturx
from gateway.formats.ubl import write_ubl
from gateway.model.serialize import invoice_from_json
from gateway.model.totals import complete
from gateway.signing.keys import SigningKey, load_pem, load_pkcs11
from gateway.signing.pades import sign_pdf
from gateway.signing.verify import verify_document
from gateway.signing.xades import sign_xml

ROOT = Path(__file__).resolve().parent.parent
SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"


def per_second(operation: Callable[[], object], seconds: float) -> float:
    operation()  # warm-up
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        operation()
        count += 1
    return count / (time.perf_counter() - start)


def make_pki(folder: Path, *options: str) -> Path:
    subprocess.run(["sh", str(ROOT / "certs" / "make-test-ca.sh"), str(folder), *options], check=True, capture_output=True)
    return folder


def token_key(work: Path, pki: Path) -> SigningKey | None:
    """The RSA key imported on a fresh SoftHSM2 token, or None without softhsm2."""
    if not Path(SOFTHSM).is_file() or shutil.which("softhsm2-util") is None:
        return None
    (work / "tokens").mkdir()
    (work / "softhsm2.conf").write_text(f"directories.tokendir = {work / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(work / "softhsm2.conf")
    for command in (
        ["--init-token", "--free", "--label", "bench", "--so-pin", "5678", "--pin", "1234"],
        ["--import", str(pki / "signing.key"), "--token", "bench", "--label", "seal", "--id", "01", "--pin", "1234"],
    ):
        subprocess.run(["softhsm2-util", *command], check=True, capture_output=True)
    return load_pkcs11(SOFTHSM, "bench", "seal", "1234", pki / "chain.pem")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement (default 3)")
    args = parser.parse_args()

    invoice = invoice_from_json(json.loads((ROOT / "docs" / "examples" / "invoice-fr-b2b.json").read_text()))
    complete(invoice)
    ubl, cii = write_ubl(invoice), write_cii(invoice)
    pdf = build_facturx(invoice, cii)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rsa, ec = make_pki(work / "rsa"), make_pki(work / "ec", "--ec")
        keys = {"RSA 2048 (PEM)": load_pem(rsa / "signing.key", rsa / "chain.pem"), "EC P-256 (PEM)": load_pem(ec / "signing.key", ec / "chain.pem")}
        on_token = token_key(work, rsa)
        if on_token is not None:
            keys["RSA 2048 (SoftHSM2)"] = on_token
        print(f"UBL {len(ubl)} bytes, Factur-X {len(pdf)} bytes, {args.seconds:g} s per figure, one thread")
        print(f"{'key':22} {'XAdES sign/s':>13} {'PAdES sign/s':>13} {'XAdES verify/s':>15} {'PAdES verify/s':>15}")
        for name, key in keys.items():
            signed_xml, signed_pdf = sign_xml(ubl, key), sign_pdf(pdf, key)
            figures = (
                per_second(lambda key=key: sign_xml(ubl, key), args.seconds),
                per_second(lambda key=key: sign_pdf(pdf, key), args.seconds),
                per_second(lambda signed=signed_xml: verify_document(signed), args.seconds),
                per_second(lambda signed=signed_pdf: verify_document(signed), args.seconds),
            )
            print(f"{name:22} {figures[0]:13.1f} {figures[1]:13.1f} {figures[2]:15.1f} {figures[3]:15.1f}")
            key.close()
        if on_token is None:
            print("(softhsm2 not installed: no PKCS#11 figures)")


if __name__ == "__main__":
    main()

"""`gateway sign document` and `gateway sign verify`, through the parser `add_commands` builds."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from gateway.signing.cli import EXIT_NOT_INTACT, EXIT_OK, EXIT_UNUSABLE, add_commands
from tests.signing.conftest import PASSWORD, PIN, Pki, SoftHsm, flip


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="gateway")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


@pytest.fixture(autouse=True)
def no_configuration(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GATEWAY_CONFIG_DIR", str(tmp_path / "no-config"))


def test_sign_then_verify_a_ubl_with_a_pem_key(ubl: bytes, pki: Pki, tmp_path: Path, capsys) -> None:
    source, signed = tmp_path / "invoice.xml", tmp_path / "signed.xml"
    source.write_bytes(ubl)
    assert run("sign", "document", str(source), "--key", str(pki / "signing.key"), "--cert", str(pki / "chain.pem"), "-o", str(signed)) == EXIT_OK
    assert run("sign", "verify", str(signed), "--roots", str(pki / "ca.pem")) == EXIT_OK
    out = capsys.readouterr().out
    assert "INTACT: 1 signature(s) in the XML document" in out and "chain:        trusted" in out and "Test Seller SAS" in out
    signed.write_bytes(flip(signed.read_bytes(), signed.read_bytes().index(b"F2026-000142") + 4))
    assert run("sign", "verify", str(signed), "--json") == EXIT_NOT_INTACT
    assert '"intact": false' in capsys.readouterr().out


def test_sign_a_facturx_with_pkcs12_and_with_the_token(facturx: bytes, pki: Pki, softhsm: SoftHsm, tmp_path: Path, monkeypatch, capsys) -> None:
    source = tmp_path / "invoice.pdf"
    source.write_bytes(facturx)
    monkeypatch.setenv("P12_SECRET", PASSWORD)
    assert (
        run("sign", "document", str(source), "--pkcs12", str(pki / "signing.p12"), "--secret-env", "P12_SECRET", "-o", str(tmp_path / "a.pdf"))
        == EXIT_OK
    )
    monkeypatch.setenv("GATEWAY_SIGNING_SECRET", PIN)
    token = ("--pkcs11-module", softhsm.module, "--token", softhsm.rsa_token, "--key-label", softhsm.key_label)
    assert run("sign", "document", str(source), *token, "-o", str(tmp_path / "b.pdf")) == EXIT_OK
    for name in ("a.pdf", "b.pdf"):
        assert run("sign", "verify", str(tmp_path / name)) == EXIT_OK  # intact; the chain is "unknown" without --roots
    assert "chain:        unknown" in capsys.readouterr().out


def test_unusable_input_and_missing_key(ubl: bytes, facturx: bytes, tmp_path: Path, capsys) -> None:
    unsigned = tmp_path / "invoice.pdf"
    unsigned.write_bytes(facturx)
    assert run("sign", "verify", str(unsigned)) == EXIT_NOT_INTACT
    assert "NOT SIGNED" in capsys.readouterr().out
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"hello")
    assert run("sign", "verify", str(junk)) == EXIT_UNUSABLE
    assert run("sign", "document", str(unsigned), "-o", str(tmp_path / "out.pdf")) == EXIT_UNUSABLE
    assert "no key" in capsys.readouterr().err
    assert run("sign", "document", str(unsigned), "--pkcs12", str(tmp_path / "missing.p12"), "-o", str(tmp_path / "out.pdf")) == EXIT_UNUSABLE

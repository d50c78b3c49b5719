"""The audit export, verified by its own stand-alone verifier in an isolated interpreter (`python -I`)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.archive.checkpoints import public_key_hex

from .helpers import rewrite_zip, run_cli, run_verifier

JANUARY, FEBRUARY, MARCH = (datetime(2026, month, 10, 12, tzinfo=UTC) for month in (1, 2, 3))


def _flip_first_byte(data: bytes) -> bytes:
    return bytes([data[0] ^ 0x01]) + data[1:]


def test_export_verifies_offline_and_tampering_is_named(setup, tmp_path, monkeypatch):
    setup.append(10, at=JANUARY, prefix="january")
    february = setup.append(10, at=FEBRUARY, prefix="february")
    setup.append(5, at=MARCH, prefix="march")
    export = tmp_path / "audit.zip"
    assert run_cli(monkeypatch, setup, "export", "--from", "2026-02-01", "--to", "2026-02-28", "-o", str(export)) == 0

    with zipfile.ZipFile(export) as zf:
        names = set(zf.namelist())
        lines = [json.loads(line) for line in zf.read("entries.jsonl").splitlines()]
        manifest = json.loads(zf.read("manifest.json"))
    assert {"manifest.json", "entries.jsonl", "checkpoints.jsonl", "verifier.py", "README.txt"} <= names
    assert {n for n in names if n.startswith("documents/")} == {f"documents/{e.content_sha256}" for e in february}
    assert [line["seq"] for line in lines] == list(range(1, 26))  # the covering checkpoint was made: 25 entries
    assert "kind" not in lines[0] and lines[10]["kind"] == "input" and "invoice_id" not in lines[20]  # other periods: hashes only
    assert manifest["entries_in_period"] == 10 and manifest["public_key"] == setup.archive.public_key

    key = setup.archive.public_key
    clean = run_verifier(export, tmp_path / "auditor", "check", str(export), "--public-key", key)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.startswith("OK: 25 entries, 10 documents, 1 checkpoints verified")

    tampered = tmp_path / "tampered-document.zip"
    rewrite_zip(export, tampered, f"documents/{february[3].content_sha256}", _flip_first_byte)
    broken = run_verifier(tampered, tmp_path / "auditor", "check", str(tampered), "--public-key", key)
    assert broken.returncode == 1
    assert f"first: entry 14: the stored document {february[3].content_sha256} was altered" in broken.stdout

    def edit_entry(data: bytes) -> bytes:
        lines = [json.loads(line) for line in data.splitlines()]
        lines[15]["tenant_id"] = 99
        return b"\n".join(json.dumps(line).encode() for line in lines)

    tampered = tmp_path / "tampered-entry.zip"
    rewrite_zip(export, tampered, "entries.jsonl", edit_entry)
    broken = run_verifier(tampered, tmp_path / "auditor", "check", str(tampered), "--public-key", key)
    assert broken.returncode == 1 and "first: entry 16: a field was changed" in broken.stdout

    other_key = public_key_hex(Ed25519PrivateKey.generate())
    pinned = run_verifier(export, tmp_path / "auditor", "check", str(export), "--public-key", other_key)
    assert pinned.returncode == 1 and "not a trusted key" in pinned.stdout


def test_export_json_output_and_unusable_input(sqlite_setup, tmp_path, monkeypatch):
    sqlite_setup.append(3)
    export = tmp_path / "all.zip"
    assert run_cli(monkeypatch, sqlite_setup, "export", "--from", "2000-01-01", "--to", "2999-12-31", "-o", str(export)) == 0
    result = run_verifier(export, tmp_path / "auditor", "check", str(export), "--json")
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert report["ok"] and report["entries"] == 3 and "public key taken from the export" in report["notes"][0]
    garbage = tmp_path / "auditor" / "not-an-export.zip"
    garbage.write_bytes(hashlib.sha256(b"x").digest())
    assert run_verifier(export, tmp_path / "auditor", "check", str(garbage)).returncode == 2

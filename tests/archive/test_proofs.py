"""Inclusion proofs: an auditor holding only one signed checkpoint checks one document."""

from __future__ import annotations

import hashlib
import json

import pytest

from gateway.archive.checkpoints import checkpoint_dict
from gateway.archive.service import ArchiveError
from gateway.archive.verifier import check_proof

from .helpers import BASE_PYTHON, run_cli


def test_auditor_checks_one_document_against_the_checkpoint_they_hold(setup):
    setup.append(37)
    held = checkpoint_dict(setup.checkpoint())  # what the auditor received earlier, and nothing else
    setup.append(20, prefix="later")
    setup.checkpoint()
    document = b"doc 12"  # entry 13
    with setup.database.session() as session:
        proof = setup.archive.prove(session, hashlib.sha256(document).hexdigest(), checkpoint_id=held["id"])
        latest = setup.archive.prove(session, hashlib.sha256(document).hexdigest())
    assert proof["checkpoint"] == held and proof["entry"]["seq"] == 13
    trusted = {setup.archive.public_key}
    assert check_proof({**proof, "checkpoint": held}, document, trusted) == []
    assert latest["checkpoint"]["tree_size"] == 57 and check_proof(latest, document, trusted) == []

    assert "does not match entry 13" in check_proof(proof, b"doc 13", trusted)[0]
    bad_path = {**proof, "path": [proof["path"][0][::-1], *proof["path"][1:]]}
    assert "not in the tree" in check_proof(bad_path, document, trusted)[0]
    moved = {**proof, "entry": {**proof["entry"], "kind": "ubl"}}
    assert "a field was changed" in check_proof(moved, document, trusted)[0]
    assert "signature does not verify" in check_proof({**proof, "checkpoint": {**held, "tree_size": 38}}, document, trusted)[0]
    assert "not trusted" in check_proof(proof, document, {"0" * 64})[0]


def test_proof_checked_by_the_stand_alone_verifier(sqlite_setup, tmp_path, monkeypatch, capsys):
    import subprocess
    from pathlib import Path

    from gateway.archive import verifier

    sqlite_setup.append(9)
    assert run_cli(monkeypatch, sqlite_setup, "checkpoint") == 0
    proof_file = tmp_path / "proof.json"
    digest = hashlib.sha256(b"doc 4").hexdigest()
    assert run_cli(monkeypatch, sqlite_setup, "prove", "--document", digest, "-o", str(proof_file)) == 0
    assert json.loads(proof_file.read_text())["entry"]["seq"] == 5
    (tmp_path / "verifier.py").write_bytes(Path(verifier.__file__).read_bytes())
    (tmp_path / "doc").write_bytes(b"doc 4")
    (tmp_path / "other").write_bytes(b"doc 5")
    key = sqlite_setup.archive.public_key

    def audit(document: str) -> subprocess.CompletedProcess[str]:
        command = [BASE_PYTHON, "-I", "verifier.py", "proof", "proof.json", "--document", document, "--public-key", key]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)

    assert audit("doc").returncode == 0
    assert audit("other").returncode == 1


def test_nothing_to_prove(sqlite_setup, monkeypatch, capsys):
    sqlite_setup.append(2)
    with sqlite_setup.database.session() as session:
        with pytest.raises(ArchiveError, match="no archived document"):
            sqlite_setup.archive.prove(session, "0" * 64)
        with pytest.raises(ArchiveError, match="not covered"):
            sqlite_setup.archive.prove(session, hashlib.sha256(b"doc 0").hexdigest())
    assert run_cli(monkeypatch, sqlite_setup, "prove", "--document", "0" * 64) == 2
    assert "no archived document" in capsys.readouterr().err

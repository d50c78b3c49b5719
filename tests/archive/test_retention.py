"""Retention: expiry is an archived event; only bytes past retention that no live entry needs are deleted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from gateway.archive.verifier import RETENTION_EXPIRY, canonical_json

from .helpers import run_cli, run_verifier

NOW = datetime.now(UTC)
ELEVEN_YEARS_AGO = NOW - timedelta(days=11 * 366)


def test_expiry_is_archived_and_verification_stays_clean(sqlite_setup, tmp_path, monkeypatch):
    old = sqlite_setup.append(3, at=ELEVEN_YEARS_AGO, prefix="old")
    with sqlite_setup.database.session() as session:
        shared_old = sqlite_setup.archive.append(session, tenant_id=1, invoice_id=None, kind="input", data=b"shared", at=ELEVEN_YEARS_AGO)
        shared_new = sqlite_setup.archive.append(session, tenant_id=1, invoice_id=None, kind="input", data=b"shared")
    sqlite_setup.append(2, prefix="recent")

    event = sqlite_setup.archive.expire(sqlite_setup.database)
    assert event is not None and event.kind == RETENTION_EXPIRY and event.seq == 8
    listed = json.loads(sqlite_setup.archive.blobs.get(event.content_sha256))
    assert listed["seqs"] == [1, 2, 3, 4] and listed["retention_years"] == 10
    assert not any(sqlite_setup.archive.blobs.path(e.content_sha256).exists() for e in old)
    assert sqlite_setup.archive.blobs.path(shared_old.content_sha256).exists()  # entry 5 still needs these bytes
    assert shared_new.content_sha256 == shared_old.content_sha256
    assert sqlite_setup.archive.expire(sqlite_setup.database) is None  # nothing new past retention

    result = sqlite_setup.verify()
    assert result.ok, result.problems
    assert (result.entries, result.expired) == (8, 4)

    export = tmp_path / "all.zip"
    assert run_cli(monkeypatch, sqlite_setup, "export", "--from", "2000-01-01", "--to", "2999-12-31", "-o", str(export)) == 0
    audited = run_verifier(export, tmp_path / "auditor", "check", str(export), "--public-key", sqlite_setup.archive.public_key)
    assert audited.returncode == 0, audited.stdout
    assert "4 expired by retention" in audited.stdout


def test_an_expiry_before_the_end_of_retention_is_flagged(sqlite_setup):
    recent = sqlite_setup.append(2)
    forged = {"before": NOW.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "retention_years": 10, "seqs": [recent[0].seq]}
    with sqlite_setup.database.session() as session:
        sqlite_setup.archive.append(session, tenant_id=None, invoice_id=None, kind=RETENTION_EXPIRY, data=canonical_json(forged))
    sqlite_setup.archive.blobs.path(recent[0].content_sha256).unlink()
    result = sqlite_setup.verify()
    assert [(p.seq, p.reason) for p in result.problems] == [(1, "content-missing"), (3, "early-expiry")]

"""`gateway archive …` commands, GET /api/v1/archive/verify, configuration, and a 10,000-entry archive."""

from __future__ import annotations

import json
import time
import uuid

import jsonschema
import pytest

from gateway.api import archive as archive_api
from gateway.app import create_app
from gateway.archive.service import ArchiveSettings
from gateway.config import ConfigError
from gateway.store.tenants import create_api_key, create_tenant

from .helpers import run_cli


def test_cli_verify_checkpoint_and_expire(sqlite_setup, monkeypatch, capsys):
    sqlite_setup.append(4)
    assert run_cli(monkeypatch, sqlite_setup, "checkpoint") == 0
    assert "checkpoint 1: entries 1 to 4" in capsys.readouterr().out
    assert run_cli(monkeypatch, sqlite_setup, "verify") == 0
    assert capsys.readouterr().out.startswith("OK: 4 entries, 4 documents, 1 checkpoints verified")
    assert run_cli(monkeypatch, sqlite_setup, "expire") == 0
    assert "nothing past the retention of 10 years" in capsys.readouterr().out
    sqlite_setup.tamper("UPDATE archive_entries SET kind = 'ubl' WHERE seq = 2")
    assert run_cli(monkeypatch, sqlite_setup, "verify", "--json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["first_problem"]["seq"] == 2 and report["first_problem"]["reason"] == "entry-hash-mismatch"


def test_api_verify_needs_a_key_and_reports(sqlite_setup):
    app = create_app(sqlite_setup.config)
    if "archive" not in app.blueprints:  # until app.py registers it
        app.register_blueprint(archive_api.bp)
    with sqlite_setup.database.session() as session:
        key = create_api_key(session, create_tenant(session, f"tenant-{uuid.uuid4().hex[:8]}"))
    sqlite_setup.append(3)
    sqlite_setup.checkpoint()
    client = app.test_client()
    assert client.get("/api/v1/archive/verify").status_code == 401
    answer = client.get("/api/v1/archive/verify", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200
    assert answer.json["ok"] is True and answer.json["entries"] == 3 and answer.json["first_problem"] is None
    jsonschema.validate(answer.json, archive_api.VERIFICATION_SCHEMA)
    sqlite_setup.tamper("DELETE FROM archive_entries WHERE seq = 2")
    answer = client.get("/api/v1/archive/verify", headers={"Authorization": f"Bearer {key}"})
    assert answer.json["ok"] is False and answer.json["first_problem"]["seq"] == 2
    jsonschema.validate(answer.json, archive_api.VERIFICATION_SCHEMA)
    app.extensions["gateway.database"].dispose()


def test_settings_from_the_archive_table():
    settings = ArchiveSettings.from_section({"retention_years": 6, "tsa_url": "http://127.0.0.1:1/", "trusted_public_keys": ["ab" * 32]})
    assert (settings.retention_years, settings.checkpoint_interval_seconds, settings.trusted_public_keys) == (6, 3600, ("ab" * 32,))
    with pytest.raises(ConfigError, match="unknown setting"):
        ArchiveSettings.from_section({"retention": 6})
    with pytest.raises(ConfigError, match="must be of type int"):
        ArchiveSettings.from_section({"retention_years": "6"})
    with pytest.raises(ConfigError, match="positive"):
        ArchiveSettings.from_section({"retention_years": 0})


def test_checkpoint_if_due(sqlite_setup):
    from datetime import timedelta

    with sqlite_setup.database.session() as session:
        assert sqlite_setup.archive.checkpoint_if_due(session) is None  # an empty archive: nothing to sign
    sqlite_setup.append(1)
    with sqlite_setup.database.session() as session:
        assert sqlite_setup.archive.checkpoint_if_due(session).tree_size == 1  # never checkpointed
        assert sqlite_setup.archive.checkpoint_if_due(session) is None  # nothing new
    sqlite_setup.append(1)
    with sqlite_setup.database.session() as session:
        assert sqlite_setup.archive.checkpoint_if_due(session) is None  # too soon
        later = sqlite_setup.archive.latest_checkpoint(session).time + timedelta(hours=2)
        assert sqlite_setup.archive.checkpoint_if_due(session, now=later).tree_size == 2
    assert sqlite_setup.verify().ok


def test_a_checkpoint_of_the_empty_archive_verifies(sqlite_setup):
    """Schedulers before this fix signed the empty archive at start; such a checkpoint is checked, not reported as truncation."""
    with sqlite_setup.database.session() as session:
        sqlite_setup.archive.checkpoint(session)
    sqlite_setup.append(3)
    result = sqlite_setup.verify()
    assert result.ok and result.checkpoints == 1, result.summary()


def test_ten_thousand_untouched_entries_verify_clean(setup):
    distinct = 100  # each byte stored once: 100 documents shared by 10,000 entries
    with setup.database.session() as session:
        for i in range(10_000):
            setup.archive.append(session, tenant_id=i % 7, invoice_id=None, kind="input", data=f"document {i % distinct}".encode())
    setup.checkpoint()
    started = time.perf_counter()
    result = setup.verify()
    elapsed = time.perf_counter() - started
    assert result.ok, result.problems[:3]
    assert (result.entries, result.documents, result.checkpoints) == (10_000, distinct, 1)
    assert elapsed < 20

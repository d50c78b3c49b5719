"""`gateway payments import FILE…` in-process on a fresh migrated gateway configured through the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from gateway.store.session import Database
from gateway.store.tenants import create_tenant
from tests.jobs import helpers
from tests.payments.conftest import DATA


def test_import_files_report_each_and_refuse_a_malformed_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, request):
    config = helpers.config_for("sqlite", tmp_path / "data", request)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(config.data_dir))
    monkeypatch.setenv("GATEWAY_DATABASE_URL", config.database_url)
    monkeypatch.setenv("GATEWAY_CONFIG_DIR", str(config.config_dir))
    database = Database(config)
    with database.session() as session:
        create_tenant(session, "atelier")
    database.dispose()
    broken = tmp_path / "broken.mt940"
    broken.write_bytes((DATA / "statement.mt940").read_bytes().replace(b"C5000,00NTRF", b"C5000.00NTRF"))
    code = main(["payments", "import", "--tenant", "atelier", str(DATA / "camt053_v08.xml"), str(broken), str(DATA / "camt053_v08.xml")])
    out, err = capsys.readouterr()
    assert code == 2
    first, again = out.splitlines()
    assert first.endswith("camt053_v08.xml: 3 new line(s), 0 matched, 0 to review, 0 already imported")
    assert again.endswith("0 new line(s), 0 matched, 0 to review, 3 already imported")
    assert "broken.mt940: refused: line 7: not an MT940 statement line" in err


def test_check_reads_the_files_without_a_tenant_or_a_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setenv("GATEWAY_DATABASE_URL", f"sqlite:///{tmp_path / 'never-created.db'}")
    broken = tmp_path / "broken.mt940"
    broken.write_bytes((DATA / "statement.mt940").read_bytes().replace(b"C5000,00NTRF", b"C5000.00NTRF"))
    code = main(["payments", "import", "--check", str(DATA / "camt053_v08.xml"), str(DATA / "statement.mt940"), str(broken)])
    out, err = capsys.readouterr()
    assert code == 2 and not (tmp_path / "never-created.db").exists()
    assert out.splitlines() == [
        f"{DATA / 'camt053_v08.xml'}: camt.053.001.08, 1 statement(s), 3 line(s)",
        f"{DATA / 'statement.mt940'}: mt940, 1 statement(s), 3 line(s)",
    ]
    assert "broken.mt940: would be refused: line 7: not an MT940 statement line" in err
    assert main(["payments", "import", str(DATA / "camt053_v08.xml")]) == 2 and "--tenant is required" in capsys.readouterr().err

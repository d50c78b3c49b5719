"""What an operator meets first: `gateway --version`, the tenants and their API keys (list, revoke), help written for users,
the language of a conversion, and what `archive export` does to the archive."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version

import pytest
from sqlalchemy import func, select

import gateway
from gateway.app import create_app
from gateway.archive.models import ArchiveCheckpoint
from gateway.archive.service import Archive
from gateway.cli import LANGUAGES, build_parser, main
from gateway.config import Config
from gateway.formats.render import LABELS
from gateway.store.session import Database, upgrade
from tests.conftest import EXAMPLES, ROOT


@pytest.fixture
def data(tmp_path, monkeypatch) -> Config:
    """A migrated data folder of its own, which the in-process commands use."""
    config = Config(data_dir=tmp_path / "data", config_dir=tmp_path / "no-config")
    upgrade(config)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(config.data_dir))
    monkeypatch.setenv("GATEWAY_CONFIG_DIR", str(config.config_dir))
    monkeypatch.delenv("GATEWAY_DATABASE_URL", raising=False)
    return config


def run(capsys, *args: object) -> tuple[int, str, str]:
    """`main()` in-process: (exit code, stdout, stderr)."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse: --help, --version and usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_version_prints_the_package_version():
    result = subprocess.run([sys.executable, "-m", "gateway", "--version"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout, result.stderr) == (0, f"gateway {version('pdp-gateway')}\n", "")


def test_tenants_list_and_keys_list_show_no_secret(data, capsys):
    assert run(capsys, "tenants", "create", "Atelier Dupont")[0] == 0
    assert run(capsys, "tenants", "create", "Boulangeries Martin")[0] == 0
    keys = [run(capsys, "keys", "create", "--tenant", "Atelier Dupont")[1].strip() for _ in range(2)]
    code, out, _ = run(capsys, "tenants", "list")
    lines = out.splitlines()
    assert code == 0 and [line.split("\t")[0] for line in lines] == ["Atelier Dupont", "Boulangeries Martin"]
    assert lines[0].endswith("\t2 active key(s)") and lines[1].endswith("\t0 active key(s)") and re.search(r"\tcreated \d{4}-\d\d-\d\dT", lines[0])

    code, out, _ = run(capsys, "keys", "list", "--tenant", "Atelier Dupont")
    assert code == 0 and [line.split("\t")[0] for line in out.splitlines()] == [f"{key[:11]}…" for key in keys]
    assert all(line.endswith("\tactive") and "\tcreated " in line for line in out.splitlines())
    assert not any(key in out or key[11:] in out for key in keys)  # the prefix only, never the secret part
    assert run(capsys, "keys", "list", "--tenant", "Nobody")[0] == 2


def test_a_revoked_key_is_refused_by_the_api(data, capsys):
    run(capsys, "tenants", "create", "Atelier Dupont")
    kept, revoked = (run(capsys, "keys", "create", "--tenant", "Atelier Dupont")[1].strip() for _ in range(2))
    app = create_app(data)
    client = app.test_client()
    assert client.get("/api/v1/invoices", headers={"Authorization": f"Bearer {revoked}"}).status_code == 200

    code, out, _ = run(capsys, "keys", "revoke", "--tenant", "Atelier Dupont", f"{revoked[:11]}…")  # as `keys list` shows it
    assert code == 0 and out.startswith(f"key {revoked[:11]}… of tenant 'Atelier Dupont' revoked ")
    assert client.get("/api/v1/invoices", headers={"Authorization": f"Bearer {revoked}"}).status_code == 401
    assert client.get("/api/v1/invoices", headers={"Authorization": f"Bearer {kept}"}).status_code == 200
    listed = run(capsys, "keys", "list", "--tenant", "Atelier Dupont")[1].splitlines()
    assert [line.split("\t")[2].split(" ")[0] for line in listed] == ["active", "revoked"]
    assert run(capsys, "keys", "revoke", "--tenant", "Atelier Dupont", revoked[:11])[0] == 0  # again: still revoked, nothing else
    code, _, err = run(capsys, "keys", "revoke", "--tenant", "Atelier Dupont", "gw_00000000")
    assert code == 2 and "No key of tenant 'Atelier Dupont' with the prefix 'gw_00000000'" in err and kept[:11] in err
    app.extensions["gateway.database"].dispose()


def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("gateway",)):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def _docstrings() -> list[str]:
    """The paragraphs of the command modules' docstrings (written for developers), whitespace normalised."""
    areas = [m.name for m in pkgutil.iter_modules(gateway.__path__) if m.ispkg and (ROOT / "gateway" / m.name / "cli.py").exists()]
    modules = [gateway.cli, gateway.reception.inbound_cli, *(importlib.import_module(f"gateway.{area}.cli") for area in areas)]
    paragraphs = [" ".join(p.split()) for module in modules for p in (module.__doc__ or "").split("\n\n")]
    return [p for p in paragraphs if len(p) > 40]


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_every_help_is_written_for_users():
    """Each command's --help has a description of its own, written for the people who run the gateway: no docstring of the
    code (none of its paragraphs, no `code` markup, no Python vocabulary) and no paragraph of the main help repeated."""
    import gateway.reception.inbound_cli  # noqa: F401  (its docstring too)

    docstrings = _docstrings()
    root = build_parser()
    root_paragraphs = [_flat(p) for p in (root.description or "").split("\n\n") + (root.epilog or "").split("\n\n")]
    walked = list(_parsers(root))
    assert len(walked) > 30
    for path, parser in walked:
        text, flat = parser.format_help(), _flat(parser.format_help())
        where = " ".join(path)
        assert parser.description and len(parser.description) > 15, f"{where}: no description"
        assert not [p for p in docstrings if p in flat], f"{where}: a docstring leaks into its help"
        for word in ("add_commands", "subparsers", ":param", "Returns", "Args:", "`", "__", "None", "argparse"):
            assert word not in text, f"{where}: {word!r} in its help"
        if len(path) > 1:
            assert not [p for p in root_paragraphs if p in flat], f"{where}: repeats the main help"
    for path, parser in walked:  # every command is listed with a one-line summary
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                assert all(choice.help for choice in action._choices_actions), f"{' '.join(path)}: a command without a summary"


def test_convert_lists_the_languages_it_renders(capsys, tmp_path):
    assert tuple(LABELS) == LANGUAGES
    code, _, err = run(capsys, "convert", EXAMPLES / "invoice-fr-b2b.json", "--to", "facturx", "--language", "de", "-o", tmp_path / "x.pdf")
    assert code == 2 and "argument --language: invalid choice: 'de' (choose from 'fr', 'en')" in err
    assert not (tmp_path / "x.pdf").exists()


def _checkpoints(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(ArchiveCheckpoint)) or 0


def test_archive_export_says_that_it_signs_the_entries_not_covered_or_leaves_them_with_no_checkpoint(data, capsys, tmp_path):
    archive, database = Archive.for_config(data), Database(data)
    with database.session() as session:
        for n in range(3):
            archive.append(session, tenant_id=None, invoice_id=None, kind="test", data=f"entry {n}".encode())
    today = datetime.now(UTC).date()
    period = ("--from", (today - timedelta(days=1)).isoformat(), "--to", (today + timedelta(days=1)).isoformat())

    code, out, _ = run(capsys, "archive", "export", *period, "--no-checkpoint", "-o", tmp_path / "unsigned.zip")
    assert code == 0 and "3 latest entries are not covered by a signed checkpoint (--no-checkpoint)" in out and _checkpoints(database) == 0
    code, out, _ = run(capsys, "archive", "export", *period, "-o", tmp_path / "signed.zip")
    assert code == 0 and "checkpoint 1 was made now to sign the 3 entries not covered yet (up to entry 3)" in out and _checkpoints(database) == 1
    code, out, _ = run(capsys, "archive", "export", *period, "-o", tmp_path / "again.zip")
    assert code == 0 and "checkpoint" not in out.split(";")[1] and _checkpoints(database) == 1  # all signed already: nothing made
    help_text = _flat(run(capsys, "archive", "export", "--help")[1])
    assert "signed first with a new checkpoint (said so on the output)" in help_text and "--no-checkpoint" in help_text
    database.dispose()


def test_the_test_certificate_script_reads_the_variable_the_docs_name(tmp_path):
    """certs/README.md: secrets come from GATEWAY_SIGNING_SECRET; the script protects the PKCS#12 with it by default."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    assert "GATEWAY_SIGNING_SECRET" in (ROOT / "certs" / "README.md").read_text()
    env = {**os.environ, "GATEWAY_SIGNING_SECRET": "s3cret-from-the-docs"}
    result = subprocess.run(["sh", str(ROOT / "certs" / "make-test-ca.sh"), str(tmp_path / "pki"), "--ec"], env=env, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr
    key, certificate, _ = pkcs12.load_key_and_certificates((tmp_path / "pki" / "signing.p12").read_bytes(), b"s3cret-from-the-docs")
    assert key is not None and certificate is not None and date.today() < certificate.not_valid_after_utc.date()

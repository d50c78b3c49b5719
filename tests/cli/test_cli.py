"""The `gateway` command against a temporary data folder: the main flows in real subprocesses (python -m gateway.cli),
the many small variations in-process through the same `main()` (sharing the compiled stylesheets keeps them fast)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.cli import main
from gateway.config import Config
from gateway.store.tenants import key_sha256
from tests.conftest import EXAMPLES, ROOT

SUBCOMMANDS = [[], ["serve"], ["db"], ["db", "upgrade"], ["tenants"], ["tenants", "create"], ["keys"], ["keys", "create"], ["validate"], ["convert"]]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    data = tmp_path_factory.mktemp("cli")
    return {**os.environ, "GATEWAY_DATA_DIR": str(data), "GATEWAY_CONFIG_DIR": str(data / "no-config"), "PYTHONPATH": str(ROOT)}


def gateway(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway", *map(str, args)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)


@pytest.fixture
def run(env, capsys, monkeypatch):
    """`main()` in-process with the module's environment: (exit code, stdout, stderr)."""
    for name in ("GATEWAY_DATA_DIR", "GATEWAY_CONFIG_DIR"):
        monkeypatch.setenv(name, env[name])

    def call(*args: str | Path) -> tuple[int, str, str]:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse: --help and usage errors
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return call


@pytest.fixture(scope="module")
def converted(env, tmp_path_factory) -> dict[str, Path]:
    """The French example converted to each syntax by the CLI."""
    out = tmp_path_factory.mktemp("converted")
    files = {}
    for target, suffix in (("ubl", "xml"), ("cii", "xml"), ("facturx", "pdf")):
        files[target] = out / f"invoice.{target}.{suffix}"
        result = gateway(env, "convert", EXAMPLES / "invoice-fr-b2b.json", "--to", target, "-o", files[target])
        assert result.returncode == 0, result.stderr
    return files


def test_help_in_a_subprocess(env):
    result = gateway(env, "--help")
    assert result.returncode == 0 and "usage: gateway" in result.stdout and "convert" in result.stdout


@pytest.mark.parametrize("args", SUBCOMMANDS, ids=lambda a: " ".join(a) or "gateway")
def test_every_command_has_help(run, args):
    code, out, _ = run(*args, "--help")
    assert code == 0 and "usage: gateway" in out


def test_db_upgrade_tenants_and_keys(env):
    assert gateway(env, "db", "upgrade").returncode == 0
    assert gateway(env, "db", "upgrade").returncode == 0  # idempotent
    created = gateway(env, "tenants", "create", "Atelier Dupont")
    assert created.returncode == 0 and "Atelier Dupont" in created.stdout
    again = gateway(env, "tenants", "create", "Atelier Dupont")
    assert again.returncode == 2 and "already exists" in again.stderr
    key_run = gateway(env, "keys", "create", "--tenant", "Atelier Dupont")
    assert key_run.returncode == 0 and "shown only once" in key_run.stderr
    key = key_run.stdout.strip()
    assert gateway(env, "keys", "create", "--tenant", "Nobody").returncode == 2

    app = create_app(Config(data_dir=Path(env["GATEWAY_DATA_DIR"])))
    database = app.extensions["gateway.database"]
    with database.engine.connect() as conn:
        stored = [row[0] for row in conn.exec_driver_sql("SELECT key_sha256 FROM api_keys")]
    assert stored == [key_sha256(key)]
    response = app.test_client().get("/api/v1/invoices", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    database.dispose()


def test_convert_outputs_each_syntax(converted):
    assert b"<rsm:CrossIndustryInvoice" in converted["cii"].read_bytes()
    assert b"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" in converted["ubl"].read_bytes()
    assert converted["facturx"].read_bytes().startswith(b"%PDF")


def test_convert_from_documents(run, converted, tmp_path):
    """UBL → CII (BASIC profile) and Factur-X PDF → UBL, through the canonical invoice."""
    cii = tmp_path / "from-ubl.xml"
    assert run("convert", converted["ubl"], "--to", "cii", "--profile", "basic", "-o", cii)[0] == 0
    assert b"F2026-000142" in cii.read_bytes() and b"urn:factur-x.eu:1p0:basic" in cii.read_bytes()
    ubl = tmp_path / "from-pdf.xml"
    assert run("convert", converted["facturx"], "--to", "ubl", "-o", ubl)[0] == 0
    assert b"14947.54" in ubl.read_bytes()


def _example_file(tmp_path: Path, name: str, **changes: object) -> Path:
    data = json.loads((EXAMPLES / "invoice-fr-b2b.json").read_text())
    data.update(changes)
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False))
    return path


@pytest.mark.parametrize("target", ["ubl", "cii", "facturx"])
def test_convert_writes_nothing_and_exits_1_when_the_result_fails_validation(run, tmp_path, target):
    wrong = _example_file(tmp_path, "wrong-total.json", totals={"tax_inclusive_amount": "15000.00"})
    out = tmp_path / f"out.{target}"
    code, _, err = run("convert", wrong, "--to", target, "-o", out)
    assert code == 1 and not out.exists(), err
    assert "BR-CO-15" in err and "nothing written" in err and "--allow-invalid" in err


def test_convert_allow_invalid_writes_with_a_warning(run, tmp_path):
    wrong = _example_file(tmp_path, "wrong-total.json", totals={"tax_inclusive_amount": "15000.00"})
    out = tmp_path / "out.xml"
    code, _, err = run("convert", wrong, "--to", "cii", "--allow-invalid", "-o", out)
    assert code == 0 and b"<rsm:CrossIndustryInvoice" in out.read_bytes()
    assert "warning: the cii result fails validation" in err


def test_convert_no_french_checks_without_the_br_fr_rules(run, tmp_path):
    example = json.loads((EXAMPLES / "invoice-fr-b2b.json").read_text())
    without_mentions = _example_file(tmp_path, "no-notes.json", notes=[n for n in example["notes"] if n.get("subject_code") != "PMT"])
    code, _, err = run("convert", without_mentions, "--to", "cii", "-o", tmp_path / "fr.xml")
    assert code == 1 and "BR-FR-05" in err
    assert run("convert", without_mentions, "--to", "cii", "--no-french", "-o", tmp_path / "en.xml")[0] == 0


def test_convert_help_says_what_a_failing_result_does(run):
    code, out, _ = run("convert", "--help")
    assert code == 0 and "--allow-invalid" in out and "nothing written" in out


def test_validate_valid_json_in_a_subprocess(env):
    result = gateway(env, "validate", EXAMPLES / "invoice-fr-b2b.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("VALID: 0 fatal")


@pytest.mark.parametrize("kind", ["ubl", "cii", "facturx"])
def test_validate_valid_documents(run, converted, kind):
    code, out, err = run("validate", converted[kind])
    assert code == 0, out + err
    assert out.startswith("VALID: 0 fatal")


def test_validate_invalid_document_and_json_report(env, run, converted, tmp_path):
    broken = tmp_path / "broken.xml"
    broken.write_bytes(converted["ubl"].read_bytes().replace(b"<cbc:InvoiceTypeCode>380<", b"<cbc:InvoiceTypeCode>999<"))
    readable = gateway(env, "validate", broken)
    assert readable.returncode == 1 and readable.stdout.startswith("INVALID") and "FATAL" in readable.stdout
    # Grouped for people: each problem once, with the artefacts and syntaxes that raised it and their exact locations.
    assert "group(s)" in readable.stdout and "raised by" in readable.stdout and "BR-CL-01" in readable.stdout
    code, out, _ = run("validate", broken, "--json")
    report = json.loads(out)
    assert code == 1 and report["valid"] is False and report["artefacts"] == ["XSD-ubl-invoice", "EN16931-UBL", "BR-FR-UBL"]
    assert sum(g["count"] for g in report["groups"]) == len(report["findings"])
    assert "BR-CL-01" in {g["rule_id"] for g in report["groups"]}
    without_french = json.loads(run("validate", broken, "--json", "--no-french")[1])
    assert without_french["artefacts"] == ["XSD-ubl-invoice", "EN16931-UBL"]


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not an invoice at all", "error"), (b"<html/>", "error"), (b'{"number": "1"}', "/seller"), (b"{broken json", "not valid JSON")],
)
def test_unusable_input_exits_2(run, tmp_path, content, message):
    path = tmp_path / "input"
    path.write_bytes(content)
    for args in (["validate", path], ["convert", path, "--to", "ubl", "-o", tmp_path / "out.xml"]):
        code, _, err = run(*args)
        assert code == 2 and message in err, err
    assert run("validate", tmp_path / "missing.xml")[0] == 2
    assert not (tmp_path / "out.xml").exists()


def test_unusable_input_in_a_subprocess(env, tmp_path):
    path = tmp_path / "input.xml"
    path.write_bytes(b"<Invoice")
    result = gateway(env, "validate", path)
    assert result.returncode == 2 and result.stderr.startswith("gateway: error: Not well-formed XML")


def test_the_installed_command_shows_no_library_warning(env, tmp_path):
    """The console script users run: its own message only (pyhanko's DSA deprecation warning, a library's, is not theirs)."""
    path = tmp_path / "input.xml"
    path.write_bytes(b"<Invoice")
    script = Path(sys.executable).with_name("gateway")
    clean = {k: v for k, v in env.items() if k != "PYTHONWARNINGS"}
    result = subprocess.run([script, "validate", path], env=clean, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("gateway: error: Not well-formed XML") and "Warning" not in result.stderr


def test_usage_errors_exit_2(run):
    assert run("convert", EXAMPLES / "invoice-fr-b2b.json", "--to", "pdf", "-o", "x")[0] == 2
    assert run("convert", EXAMPLES / "invoice-fr-b2b.json", "--to", "cii", "--profile", "platinum", "-o", "x")[0] == 2
    assert run("frobnicate")[0] == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_migrates_and_answers(tmp_path):
    port = _free_port()
    env = {**os.environ, "GATEWAY_DATA_DIR": str(tmp_path), "GATEWAY_CONFIG_DIR": str(tmp_path / "none"), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port)], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert json.load(response) == {"status": "ok"}
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                    ready = json.load(response)
                    assert ready == {
                        "status": "ready",
                        "database": "ok",
                        "storage": "ok",
                        "scheduler": "running",  # serve runs the delivery worker and the scheduler in-process
                        "signing": {"status": "disabled", "certificates": []},
                    }
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "gateway serve did not answer within 60 s"
                time.sleep(0.2)
        assert (tmp_path / "gateway.db").is_file()
    finally:
        server.terminate()
        server.wait(timeout=10)

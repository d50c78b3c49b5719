"""The commands: `gateway deliveries list / retry`, and `gateway serve` delivering with its in-process worker (to a configured
e-mail server, and on a fresh install to the sandbox)."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from gateway.cli import main
from gateway.config import Config
from gateway.store.session import Database
from gateway.store.tenants import create_api_key, create_tenant
from tests.conftest import load_example
from tests.connectors.smtp_server import free_port
from tests.jobs import helpers

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli_env(setup, monkeypatch, tmp_path):
    monkeypatch.setenv("GATEWAY_DATABASE_URL", setup.config.database_url)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(setup.config.data_dir))
    monkeypatch.setenv("GATEWAY_CONFIG_DIR", str(tmp_path / "no-config"))


def test_deliveries_list_and_retry(setup, cli_env, capsys):
    [invoice_id] = helpers.submit(setup.database, setup.archive, helpers.new_tenant(setup.database), 1)
    setup.drain(setup.deliverer(connectors={}))  # no connector: a dead letter
    assert main(["deliveries", "list", "--state", "dead"]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if invoice_id in line]
    delivery_id = line.split()[0]
    assert "dead" in line and "no chorus_pro connector is configured" in line
    assert main(["deliveries", "retry", delivery_id]) == 0
    assert main(["deliveries", "retry", delivery_id]) == 2
    assert "only dead or unroutable deliveries" in capsys.readouterr().err
    assert main(["deliveries", "retry", "00000000-0000-0000-0000-000000000000"]) == 2
    setup.drain(setup.deliverer())  # leave nothing due


def wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_serve_delivers_with_its_in_process_worker(tmp_path, net):
    """The acceptance path in one process: POST an invoice to `gateway serve`, its worker e-mails it."""
    config_dir, data_dir = tmp_path / "config", tmp_path / "data"
    config_dir.mkdir()
    email = net.connectors()["email"]
    lines = ["[routing]", 'peppol_participants = "ignore"', "[delivery]", "idle_seconds = 0.1", "[delivery.connectors.email]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in email.items()]
    (config_dir / "routing.toml").write_text("\n".join(lines) + "\n")
    port = free_port()
    env = {**os.environ, "GATEWAY_CONFIG_DIR": str(config_dir), "GATEWAY_DATA_DIR": str(data_dir), "GATEWAY_LOG_LEVEL": "WARNING"}
    env.pop("GATEWAY_DATABASE_URL", None)
    command = [sys.executable, "-m", "gateway", "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        ready, _, _ = select.select([server.stdout], [], [], 60)
        assert ready and b"serving on" in server.stdout.readline()
        wait_for_port(port)
        database = Database(Config(data_dir=data_dir, config_dir=config_dir))
        with database.session() as session:
            key = create_api_key(session, create_tenant(session, "serve-test"))
        database.dispose()
        number = f"F-SERVE-{time.time_ns()}"
        answer = requests.post(
            f"http://127.0.0.1:{port}/api/v1/invoices",
            json={**load_example("invoice-fr-b2b"), "number": number},
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
        assert answer.status_code == 201, answer.text
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(number.encode() in m.content for m in net.smtp.messages):
            time.sleep(0.1)
        assert any(number.encode() in m.content for m in net.smtp.messages)
        route = requests.get(f"http://127.0.0.1:{port}{answer.json()['links']['self']}/route", headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert (route.json()["state"], route.json()["channel"]) in (("sent", "email"), ("sending", "email"))
    finally:
        server.terminate()
        server.wait(30)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_fresh_install_delivers_to_the_sandbox_and_plays_its_statuses_back(tmp_path):
    """What the README promises: the shipped configuration, nothing configured, an invoice posted — it reaches the sandbox,
    which answers 202, 204 and 205 within seconds, each labelled as the sandbox's."""
    data_dir, port = tmp_path / "data", free_port()
    env = {**os.environ, "GATEWAY_DATA_DIR": str(data_dir), "GATEWAY_LOG_LEVEL": "WARNING"}
    for name in ("GATEWAY_DATABASE_URL", "GATEWAY_CONFIG_DIR"):
        env.pop(name, None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port)], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        ready, _, _ = select.select([server.stdout], [], [], 60)
        assert ready and b"serving on" in server.stdout.readline()
        wait_for_port(port)
        database = Database(Config(data_dir=data_dir))
        with database.session() as session:
            key = create_api_key(session, create_tenant(session, "fresh"))
        database.dispose()
        base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {key}"}
        answer = requests.post(f"{base}/api/v1/invoices", json=load_example("invoice-fr-b2b"), headers=headers, timeout=60)
        assert answer.status_code == 201, answer.text
        statuses = f"{base}{answer.json()['links']['self']}/statuses"
        deadline, events = time.monotonic() + 90, []
        while time.monotonic() < deadline and "205" not in [e["code"] for e in events]:
            time.sleep(0.5)
            events = requests.get(statuses, headers=headers, timeout=10).json()["events"]
        assert [(e["code"], e["source"]) for e in events] == [
            ("200", "gateway-intake"), ("201", "gateway"), ("202", "sandbox"), ("204", "sandbox"), ("205", "sandbox"),
        ]  # fmt: skip
        route = requests.get(f"{base}{answer.json()['links']['self']}/route", headers=headers, timeout=10).json()
        assert (route["state"], route["channel"], route["sandbox"], route["decided_by"]) == ("sent", "sandbox", True, "sandbox")
    finally:
        server.terminate()
        server.wait(30)

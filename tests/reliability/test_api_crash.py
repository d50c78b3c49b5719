"""The whole path under SIGKILL: `gateway serve` and `gateway worker` killed at random moments while invoices flow.

Two client threads post intake JSON (full intake: generation, official validation, Factur-X, archive) with an
Idempotency-Key each, retrying on connection errors and 503 until they get a 201 — an invoice counts as accepted
from its first 201.  Meanwhile the API process and the worker process are SIGKILLed at random moments and
started again.  At the end: the stored invoices are exactly the accepted ones (none lost, none stored twice),
each delivered once at the loopback servers (e-mail: by Message-ID, a repeat only after an interrupted
attempt, see docs/delivery.md), status history 200 → 201, one archived receipt, and `gateway archive verify`
exits 0.

The issue's figure, 1,000 invoices per database, is the default: a full intake costs ~0.3 s of CPU per invoice,
about 5 minutes per database on the 2-core CI machine; GATEWAY_CRASH_INVOICES=100 makes a quick local run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable

import pytest
import requests
from sqlalchemy import select

from gateway.archive.service import Archive
from gateway.store import models as db
from gateway.store.session import Database
from gateway.store.tenants import create_api_key, create_tenant
from tests.connectors.smtp_server import free_port
from tests.jobs import helpers
from tests.reliability.helpers import EMAIL_BUYER, ROOT, Outcome, environment, start_api, start_worker, wait_delivered, write_config

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

INVOICES = int(os.environ.get("GATEWAY_CRASH_INVOICES", "1000"))
CLIENTS = 2
KILLS = 6


class Client:
    """Posts invoices until each is answered 201, retrying (same Idempotency-Key) across crashes."""

    def __init__(self, port: int, key: str) -> None:
        self.url = f"http://127.0.0.1:{port}/api/v1/invoices"
        self.headers = {"Authorization": f"Bearer {key}"}
        self.accepted: dict[str, str] = {}  # Idempotency-Key → invoice id
        self.retries = Counter()
        self.unexpected: list[str] = []
        self._lock = threading.Lock()

    def post(self, key: str, body: dict) -> None:
        while True:
            try:
                answer = requests.post(self.url, json=body, headers={**self.headers, "Idempotency-Key": key}, timeout=60)
            except requests.RequestException as exc:  # the API was killed, or is starting again
                self.count(type(exc).__name__)
                time.sleep(0.2)
                continue
            if answer.status_code == 201:
                with self._lock:
                    self.accepted[key] = answer.json()["id"]
                return
            if answer.status_code == 503:
                self.count("503")
                time.sleep(0.2)
                continue
            with self._lock:
                self.unexpected.append(f"{key}: {answer.status_code} {answer.text[:300]}")
            return

    def count(self, what: str) -> None:
        with self._lock:
            self.retries[what] += 1

    def run(self, work: list[tuple[str, dict]]) -> None:
        for key, body in work:
            self.post(key, body)


def chaos(rng: random.Random, progress: Callable[[], int], restart: dict[str, Callable[[], None]], kills: Counter) -> None:
    """SIGKILL and restart the API, the worker or both, KILLS times, each at a random moment: once a random number of
    invoices has been accepted, after a further random 0–1 s (somewhere inside a request or a delivery)."""
    for threshold in sorted(rng.sample(range(1, INVOICES), KILLS)):
        while progress() < threshold:
            time.sleep(0.05)
        time.sleep(rng.uniform(0, 1))
        for name in rng.choice([["api"], ["worker"], ["api", "worker"]]):
            restart[name]()
            kills[name] += 1


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_sigkilled_api_and_worker_lose_nothing(kind, request, tmp_path, net):
    started = time.monotonic()
    config = helpers.config_for(kind, tmp_path / "data", request)
    env = environment(config, write_config(tmp_path / "config", net))
    database, archive = Database(config), Archive.for_config(config)
    with database.session() as session:
        key = create_api_key(session, create_tenant(session, f"crash-{uuid.uuid4().hex[:8]}"))
    port = free_port()
    seed = int(os.environ.get("GATEWAY_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    prefix = uuid.uuid4().hex[:6].upper()
    work = [(f"{prefix}-{i}", helpers.invoice_json(f"A{prefix}-{i:05d}", helpers.PUBLIC_BUYER if i % 2 else EMAIL_BUYER)) for i in range(INVOICES)]
    processes: dict[str, subprocess.Popen] = {}

    def start(name: str) -> None:
        if name == "api":
            processes[name] = start_api(env, tmp_path / "api.log", port)
        else:
            processes[name] = start_worker(env, tmp_path / "worker.log")

    def kill_and_restart(name: str) -> None:
        processes[name].send_signal(signal.SIGKILL)
        processes[name].wait()
        start(name)

    start("api")
    start("worker")
    client = Client(port, key)
    threads = [threading.Thread(target=client.run, args=(work[i::CLIENTS],)) for i in range(CLIENTS)]
    kills: Counter = Counter()
    try:
        for thread in threads:
            thread.start()
        restart = {name: lambda name=name: kill_and_restart(name) for name in ("api", "worker")}
        chaos(rng, lambda: len(client.accepted), restart, kills)
        for thread in threads:
            thread.join()
        posted = time.monotonic()
        left = wait_delivered(database, 300)
    finally:
        for proc in processes.values():
            proc.send_signal(signal.SIGTERM)
        for proc in processes.values():
            proc.wait(60)
    assert not client.unexpected, client.unexpected[:5]
    assert left == 0, f"seed {seed}: {left} deliveries still pending"

    with database.session() as session:
        stored = set(session.scalars(select(db.Invoice.id)))
    assert stored == set(client.accepted.values()) and len(stored) == INVOICES, f"seed {seed}"
    public = {client.accepted[k] for k, body in work if body["buyer"]["name"] != EMAIL_BUYER["name"]}
    outcome = Outcome.read(database, archive)
    try:
        copies = outcome.check(net, public, stored - public)
    except AssertionError as exc:
        raise AssertionError(f"seed {seed}: {exc}") from exc
    assert all({d.kind for d in o.invoice.documents} >= {"input", "cii", "ubl", "facturx", "canonical"} for o in outcome.deliveries.values())
    verify = subprocess.run([sys.executable, "-m", "gateway", "archive", "verify"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout[-2000:] + verify.stderr[-2000:]
    database.dispose()

    print(
        f"\n{kind}: {INVOICES} invoices accepted in {posted - started:.1f} s, all delivered after {time.monotonic() - started:.1f} s; "
        f"SIGKILLs (seed {seed}): {dict(kills)}; client retries: {dict(client.retries)}; "
        f"{len(outcome.interrupted())} deliveries with an interrupted attempt; {copies} repeated e-mail(s) (same Message-ID)"
    )

"""The crash test: 200 invoices, the `gateway worker` process SIGKILLed at random moments several times and restarted.

At the end every invoice is delivered exactly once at the loopback servers, counted by idempotency key
at the server (Chorus Pro: deposited invoices by number; e-mail: messages by Message-ID), has exactly
the status history 200 → 201, and one archived receipt; the archive chain verifies.

E-mail cannot be asked whether a message was accepted (docs/delivery.md): a kill between the
server's "250" and the commit sends the message again with the same Message-ID.  Such copies are
counted, printed, and allowed only for deliveries whose attempt was interrupted by a kill.
Half the invoices go to Chorus Pro (a buyer rule), half by e-mail (the buyer's contact address).
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select as sql_select

from gateway.archive.models import ArchiveEntry
from gateway.archive.service import Archive
from gateway.jobs.models import OUTCOME_INTERRUPTED, SENT, Delivery
from gateway.store.session import Database
from tests.jobs import helpers

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

INVOICES = 200
KILLS = 6
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory):
    with helpers.networks(tmp_path_factory.mktemp("crash-networks")) as networks:
        yield networks


def toml(tables: dict[str, dict[str, Any]]) -> str:
    """A TOML file of flat tables (JSON scalars and lists of strings are valid TOML values)."""
    lines = []
    for name, values in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items() if not isinstance(value, dict)]
    return "\n".join(lines) + "\n"


def write_config(directory: Path, net: helpers.Networks) -> None:
    connectors = net.connectors()
    directory.mkdir()
    (directory / "routing.toml").write_text(
        toml(
            {
                "routing": {"peppol_participants": "ignore"},
                "delivery": {
                    "lease_seconds": 3,  # a killed worker's claims are taken again after 3 s
                    "idle_seconds": 0.05,
                    "max_attempts": 100,
                    "backoff_base_seconds": 0.2,
                    "backoff_max_seconds": 1,
                    "status_poll_seconds": 3600,
                },
                "delivery.documents": {"chorus_pro": "cii", "email": "ubl"},  # the cheap fixtures carry no Factur-X PDF
                "delivery.connectors.chorus_pro": connectors["chorus_pro"],
                "delivery.connectors.email": connectors["email"],
            }
        )
        + '[[routing.rules]]\nbuyer = "35600000000048"\nchannel = "chorus_pro"\n'
    )


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """`gateway worker --threads 2`, once it has said it runs."""
    with log.open("ab") as err:
        command = [sys.executable, "-m", "gateway.cli", "worker", "--threads", "2"]
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=err)
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    assert ready and proc.stdout.readline().startswith(b"gateway worker:"), log.read_text()[-2000:]
    return proc


def pending(database: Database) -> int:
    with database.session() as session:
        return session.scalar(sql_select(func.count()).select_from(Delivery).where(Delivery.state != SENT)) or 0


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_sigkilled_workers_deliver_every_invoice_exactly_once(kind, request, tmp_path, net):
    started = time.monotonic()
    config = helpers.config_for(kind, tmp_path / "data", request)
    write_config(tmp_path / "config", net)
    database, archive = Database(config), Archive.for_config(config)
    tenant = helpers.new_tenant(database)
    public = helpers.submit(database, archive, tenant, INVOICES // 2, helpers.PUBLIC_BUYER)
    private = helpers.submit(database, archive, tenant, INVOICES // 2, helpers.PRIVATE_BUYER)
    submitted = time.monotonic()
    env = {
        **os.environ,
        "GATEWAY_CONFIG_DIR": str(tmp_path / "config"),
        "GATEWAY_DATA_DIR": str(config.data_dir),
        "GATEWAY_DATABASE_URL": config.database_url,
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "worker.log"
    seed = int(os.environ.get("GATEWAY_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    remaining = []
    for _ in range(KILLS):
        worker = start_worker(env, log)
        time.sleep(rng.uniform(0.2, 1.5))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        remaining.append(pending(database))
    worker = start_worker(env, log)
    try:
        deadline = time.monotonic() + 120
        while pending(database) and time.monotonic() < deadline:
            time.sleep(0.25)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0

    with database.session() as session:
        deliveries = {d.invoice_id: d for d in session.scalars(sql_select(Delivery))}
        for delivery in deliveries.values():
            _ = delivery.attempt_rows, delivery.invoice.events
        receipts = Counter(session.scalars(sql_select(ArchiveEntry.invoice_id).where(ArchiveEntry.kind == "receipt")))
        verification = archive.verify(session)
    assert {d.state for d in deliveries.values()} == {SENT}, f"seed {seed}"

    # Chorus Pro: each public invoice deposited (and integrated) exactly once.
    numbers = {deliveries[i].invoice.number for i in public}
    deposited = Counter(n for n in net.deposited_numbers() if n in numbers)
    assert set(deposited) == numbers and set(deposited.values()) == {1}, f"seed {seed}: {deposited.most_common(3)}"
    assert len([f for f in net.chorus.deposits() if f.state == "IN_INTEGRE" and f.numero in {deliveries[i].remote_id for i in public}]) == len(public)

    # E-mail: each private invoice's Message-ID at the server; repeated copies only after an interrupted attempt.
    by_id = Counter(net.message_ids())
    assert all(by_id[deliveries[i].remote_id] >= 1 for i in private), f"seed {seed}"
    copies = {i: by_id[deliveries[i].remote_id] - 1 for i in private if by_id[deliveries[i].remote_id] > 1}
    interrupted = {i for i, d in deliveries.items() if any(a.outcome == OUTCOME_INTERRUPTED for a in d.attempt_rows)}
    recorded_for_the_dead = {i for i, d in deliveries.items() if any(a.outcome == OUTCOME_INTERRUPTED and a.receipt for a in d.attempt_rows)}
    assert set(copies) <= interrupted, f"seed {seed}: repeated e-mails without an interrupted attempt"

    # Status history and receipts.
    assert {tuple(e.code for e in d.invoice.events) for d in deliveries.values()} == {("200", "201")}
    assert all(receipts[i] == 1 for i in deliveries) and len(receipts) == INVOICES
    assert verification.ok, verification.summary()
    database.dispose()

    print(
        f"\n{kind}: {INVOICES} invoices submitted in {submitted - started:.1f} s; {KILLS} SIGKILLs (seed {seed}), pending after each: "
        f"{remaining}; {len(interrupted)} deliveries with an interrupted attempt, {len(recorded_for_the_dead)} of them answered before "
        f"the kill and recorded by the next worker; {sum(copies.values())} repeated e-mail(s) (same Message-ID); "
        f"total {time.monotonic() - started:.1f} s"
    )

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

import os
import random
import signal
import time

import pytest

from gateway.archive.service import Archive
from gateway.jobs.models import OUTCOME_INTERRUPTED
from gateway.store.session import Database
from tests.jobs import helpers
from tests.reliability.helpers import Outcome, environment, pending, start_worker, wait_delivered, write_config

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

INVOICES = 200
KILLS = 6


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_sigkilled_workers_deliver_every_invoice_exactly_once(kind, request, tmp_path, net):
    started = time.monotonic()
    config = helpers.config_for(kind, tmp_path / "data", request)
    env = environment(config, write_config(tmp_path / "config", net))
    database, archive = Database(config), Archive.for_config(config)
    tenant = helpers.new_tenant(database)
    public = helpers.submit(database, archive, tenant, INVOICES // 2, helpers.PUBLIC_BUYER)
    private = helpers.submit(database, archive, tenant, INVOICES // 2, helpers.PRIVATE_BUYER)
    submitted = time.monotonic()
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
        wait_delivered(database)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0

    outcome = Outcome.read(database, archive)
    try:
        copies = outcome.check(net, public, private)
    except AssertionError as exc:
        raise AssertionError(f"seed {seed}: {exc}") from exc
    interrupted = outcome.interrupted()
    recorded_for_the_dead = {i for i, d in outcome.deliveries.items() if any(a.outcome == OUTCOME_INTERRUPTED and a.receipt for a in d.attempt_rows)}
    database.dispose()

    print(
        f"\n{kind}: {INVOICES} invoices submitted in {submitted - started:.1f} s; {KILLS} SIGKILLs (seed {seed}), pending after each: "
        f"{remaining}; {len(interrupted)} deliveries with an interrupted attempt, {len(recorded_for_the_dead)} of them answered before "
        f"the kill and recorded by the next worker; {copies} repeated e-mail(s) (same Message-ID); "
        f"total {time.monotonic() - started:.1f} s"
    )

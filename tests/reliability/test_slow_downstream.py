"""Downstream servers that are slow (10 s answers) or flapping (up, down, up …), against a real `gateway worker` process.

- Chorus Pro answering after 10 s, connector timeout 2 s: every attempt ends as a timeout after ~2 s (the worker
  never waits 10 s), each delivery gets exactly `max_attempts` attempts spaced by the configured backoff, then is a
  dead letter; the worker's thread count stays at its delivery threads + scheduler, its memory flat.
- An SMTP server stopped and started every few hundred milliseconds: deliveries fail and are retried with backoff,
  and every invoice arrives once the server stays up; threads and memory bounded likewise.
"""

from __future__ import annotations

import itertools
import random
import signal
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import select

from gateway.archive.service import Archive
from gateway.jobs.models import DEAD, OUTCOME_FAILED, Delivery
from gateway.store.session import Database
from tests.jobs import helpers
from tests.reliability.helpers import environment, pending, process_stats, start_worker, write_config

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

THREADS = 2
RSS_GROWTH_KIB = 40 * 1024  # a leak per attempt would exceed this; Python's allocator settles well under it


class Sampler:
    """Threads and RSS of a process, sampled every 0.2 s until stopped."""

    def __init__(self, pid: int) -> None:
        self.pid, self.samples = pid, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self.samples.append(process_stats(self.pid))
            except (FileNotFoundError, ProcessLookupError):
                return

    def stop(self) -> tuple[int, int, int]:
        """(most threads, first RSS, last RSS) in KiB."""
        self._stop.set()
        self._thread.join()
        return max(t for t, _ in self.samples), self.samples[0][1], self.samples[-1][1]


def run_worker(env: dict[str, str], log, until, seconds: float) -> tuple[int, int, int]:
    worker = start_worker(env, log, THREADS)
    sampler = Sampler(worker.pid)
    try:
        deadline = time.monotonic() + seconds
        while not until() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stats = sampler.stop()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0
    return stats


@pytest.mark.parametrize("kind", ["sqlite"])
def test_a_slow_chorus_pro_times_out_and_is_retried_as_configured(kind, request, tmp_path, net):
    config = helpers.config_for(kind, tmp_path / "data", request)
    max_attempts, base = 3, 0.5
    connectors = net.connectors(timeout=2.0)
    settings = {"max_attempts": max_attempts, "backoff_base_seconds": base, "lease_seconds": 60}  # the lease must outlast the slowest send
    env = environment(config, write_config(tmp_path / "config", net, connectors=connectors, **settings))
    database = Database(config)
    helpers.submit(database, Archive.for_config(config), helpers.new_tenant(database), 4, helpers.PUBLIC_BUYER)
    net.chorus.delay = 10.0
    try:
        threads, rss_first, rss_last = run_worker(env, tmp_path / "worker.log", lambda: pending(database) == 0 or all_dead(database), 120)
    finally:
        net.chorus.delay = 0.0
    with database.session() as session:
        deliveries = session.scalars(select(Delivery)).all()
        assert {d.state for d in deliveries} == {DEAD}
        for delivery in deliveries:
            attempts = sorted(delivery.attempt_rows, key=lambda a: a.number)
            assert len(attempts) == max_attempts, [(a.outcome, a.error_code, a.error, a.started_at, a.finished_at) for a in attempts]
            assert {(a.outcome, a.error_code) for a in attempts} == {(OUTCOME_FAILED, "timeout")}
            assert all((a.finished_at - a.started_at).total_seconds() < 8 for a in attempts)  # the 2 s timeout, not the 10 s answer
            gaps = [(b.started_at - a.finished_at).total_seconds() for a, b in itertools.pairwise(attempts)]
            assert all(gap >= base / 2 * 0.9 for gap in gaps), gaps  # equal jitter: at least half the configured delay
    assert threads <= THREADS + 6, threads  # main, delivery threads, scheduler and its pool: no thread per stuck request
    assert rss_last - rss_first < RSS_GROWTH_KIB
    database.dispose()
    print(f"\nslow Chorus Pro: {len(deliveries)} dead letters, {max_attempts} timed-out attempts each; threads ≤ {threads}")
    print(f"RSS {rss_first} → {rss_last} KiB")


def all_dead(database: Database) -> bool:
    with database.session() as session:
        return set(session.scalars(select(Delivery.state))) == {DEAD}


@pytest.mark.parametrize("kind", ["sqlite"])
def test_a_flapping_smtp_server_delivers_everything_in_the_end(kind, request, tmp_path, net):
    config = helpers.config_for(kind, tmp_path / "data", request)
    env = environment(config, write_config(tmp_path / "config", net, backoff_base_seconds=0.1, backoff_max_seconds=0.5))
    database = Database(config)
    invoices = helpers.submit(database, Archive.for_config(config), helpers.new_tenant(database), 30, helpers.PRIVATE_BUYER)
    stop = threading.Event()
    rng = random.Random()

    def flap() -> None:
        """Down and up every 0.2–0.6 s for 8 s, then up for good."""
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and not stop.is_set():
            net.smtp.stop()
            time.sleep(rng.uniform(0.2, 0.6))
            net.smtp.start()
            time.sleep(rng.uniform(0.2, 0.6))

    flapper = threading.Thread(target=flap)
    flapper.start()
    try:
        threads, rss_first, rss_last = run_worker(env, tmp_path / "worker.log", lambda: pending(database) == 0 and not flapper.is_alive(), 120)
    finally:
        stop.set()
        flapper.join()
    assert pending(database) == 0
    with database.session() as session:
        deliveries = {d.invoice_id: d for d in session.scalars(select(Delivery))}
        failed = sum(1 for d in deliveries.values() for a in d.attempt_rows if a.outcome == OUTCOME_FAILED)
    by_id = Counter(net.message_ids())
    assert all(by_id[deliveries[i].remote_id] >= 1 for i in invoices)
    copies = sum(by_id[deliveries[i].remote_id] - 1 for i in invoices)
    assert copies <= failed  # a second copy only where the server went down after its "250" (the e-mail caveat)
    assert threads <= THREADS + 6, threads
    assert rss_last - rss_first < RSS_GROWTH_KIB
    database.dispose()
    print(f"\nflapping SMTP: {len(invoices)} delivered, {failed} failed attempts retried, {copies} repeated e-mail(s); threads ≤ {threads}")
    print(f"RSS {rss_first} → {rss_last} KiB")

"""Delivery threads and the scheduler: what `gateway worker` runs, and `gateway serve` runs one of in-process.

Each thread claims one due delivery at a time and delivers it; when nothing is due it waits
`idle_seconds`.  Retries need no timer of their own: a failed delivery is due again at its
`next_attempt_at`.  The APScheduler background scheduler runs the periodic jobs:

- retries: deliveries whose worker died (lease expired) are released as "failed-retrying", their open
  attempt closed as interrupted (workers would also take them on their own; this makes it visible);
- status polling: `polling.poll` through each connector's `fetch_statuses`, and every few seconds for the sandbox alone
  (its simulated recipient answers within seconds, a real network within hours);
- archive checkpoints: `Archive.checkpoint_if_due`.
- webhooks: `gateway.webhooks.sender.send_due` sends the due signed webhook deliveries.
- IMAP polling, when `[reception.imap]` names a host: `gateway.reception.imap` receives the new mail.
- dunning, unless `[dunning] enabled = false`: `gateway.dunning.service.run` sends the reminders due today.
- recurring invoices, unless `[recurring] enabled = false`: `gateway.recurring.service.run` issues today's occurrences.

Stopping lets each thread finish the delivery it holds.  A thread or process killed mid-delivery
loses nothing: its claim expires after `lease_seconds` and another worker takes the row.  A thread whose
database went away mid-delivery gives its claim back as soon as the database answers again (due at once,
the attempt closed as interrupted), instead of leaving the delivery to wait for its lease.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import weakref
from collections.abc import Callable
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from gateway.dunning import service as dunning
from gateway.jobs import outbox, polling
from gateway.jobs.deliver import Deliverer, OutcomeNotRecorded
from gateway.jobs.models import SANDBOX
from gateway.jobs.outbox import Claim
from gateway.reception import imap
from gateway.recurring import service as recurring
from gateway.store.models import utcnow
from gateway.webhooks import sender as webhooks

log = logging.getLogger(__name__)

RELEASE_INTERVAL_SECONDS = 60.0
WEBHOOK_INTERVAL_SECONDS = 5.0
SANDBOX_INTERVAL_SECONDS = 2.0
SANDBOX_HORIZON = timedelta(hours=1)  # deliveries sent longer ago are left to the regular status polling
_STARTED: weakref.WeakSet[Worker] = weakref.WeakSet()  # the workers this process runs, for the readiness probe


def in_process_workers() -> list[Worker]:
    """The workers started (and not stopped) in this process: `gateway serve` runs one, a bare web process none."""
    return list(_STARTED)


def worker_name(index: int) -> str:
    """Who holds a claim: host, process and thread number (shown in the attempts)."""
    return f"{socket.gethostname()}:{os.getpid()}:{index}"


class Worker:
    """`threads` delivery threads, and the scheduler when `scheduler` is true."""

    def __init__(self, deliverer: Deliverer, threads: int, *, scheduler: bool = True) -> None:
        self.deliverer = deliverer
        self.threads = threads
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._scheduler = self._build_scheduler() if scheduler else None

    def start(self) -> None:
        for index in range(self.threads):
            thread = threading.Thread(target=self._loop, args=(worker_name(index),), name=f"delivery-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self._scheduler is not None:
            self._scheduler.start()
        _STARTED.add(self)

    @property
    def running(self) -> bool:
        """Whether every delivery thread, and the scheduler when there is one, is still alive (a crashed one is not ready)."""
        scheduler_ok = self._scheduler is None or self._scheduler.running
        return not self._stop.is_set() and scheduler_ok and all(thread.is_alive() for thread in self._threads)

    def stop(self, timeout: float = 60.0) -> None:
        """Stop taking work and wait for the deliveries in hand."""
        self._stop.set()
        _STARTED.discard(self)
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        for thread in self._threads:
            thread.join(timeout)

    def _loop(self, name: str) -> None:
        idle = self.deliverer.settings.idle_seconds
        unrecorded: list[Claim] = []  # claims whose outcome the database could not take: given back before any new work
        while not self._stop.is_set():
            try:
                while unrecorded:
                    self.deliverer.release(unrecorded[0])
                    unrecorded.pop(0)
                busy = self.deliverer.run_once(name)
            except OutcomeNotRecorded as exc:
                log.warning("%s; it is given back once the database answers", exc)
                unrecorded.append(exc.claim)
                busy = False
            except Exception:  # the database is away, …: log, wait, try again; the outbox keeps the work
                log.exception("delivery worker %s", name)
                busy = False
            if not busy:
                self._stop.wait(idle)

    # ------------------------------------------------------------------ scheduled jobs

    def release_expired(self) -> int:
        with self.deliverer.database.session() as session:
            return outbox.release_expired(session)

    def poll_statuses(self) -> int:
        return polling.poll(self.deliverer)

    def play_back_sandbox(self) -> int:
        """The sandbox's answers to the deliveries of the last hour, within seconds of their time."""
        return polling.poll(self.deliverer, channels=(SANDBOX,), sent_after=utcnow() - SANDBOX_HORIZON)

    def checkpoint(self) -> None:
        with self.deliverer.database.session() as session:
            self.deliverer.archive.checkpoint_if_due(session)

    def _build_scheduler(self) -> BackgroundScheduler:
        settings = self.deliverer.settings
        scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
        jobs: list[tuple[str, Callable[[], object], float, bool]] = [
            ("retries", self.release_expired, min(RELEASE_INTERVAL_SECONDS, settings.lease_seconds), True),
            ("status-polling", self.poll_statuses, settings.status_poll_seconds, False),
            ("sandbox-playback", self.play_back_sandbox, SANDBOX_INTERVAL_SECONDS, True),
            ("archive-checkpoint", self.checkpoint, settings.checkpoint_check_seconds, True),
            ("webhooks", lambda: webhooks.send_due(self.deliverer.database), WEBHOOK_INTERVAL_SECONDS, True),
        ]
        poller = imap.configured_poller(self.deliverer.database, self.deliverer.archive)
        if poller is not None:
            jobs.append(("imap-poll", poller.poll_once, poller.settings.interval_seconds, True))
        for name, periodic in (("dunning", dunning.periodic), ("recurring", recurring.periodic)):
            found = periodic(self.deliverer.database, self.deliverer.archive)
            if found is not None:
                jobs.append((name, found[0], found[1], False))
        for name, job, seconds, at_start in jobs:
            first = utcnow() + timedelta(seconds=1 if at_start else seconds)
            scheduler.add_job(job, "interval", seconds=seconds, id=name, name=name, next_run_time=first)
        return scheduler

"""Shared by the fault tests and the end-to-end benchmark: gateway processes on loopback, their configuration, and the
end-of-run checks (every invoice delivered once, status history complete, one archived receipt, archive intact).

`gateway serve` and `gateway worker` run as real subprocesses with the configuration in environment variables
and a config folder (`write_config`); they are killed with SIGKILL and started again like any crashed process.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func
from sqlalchemy import select as sql_select

from gateway.archive.models import ArchiveEntry
from gateway.archive.service import Archive
from gateway.archive.verifier import VerificationResult
from gateway.config import Config
from gateway.jobs.models import OUTCOME_INTERRUPTED, SENT, Delivery
from gateway.store.session import Database
from tests.jobs import helpers

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_BUYER_SIRET = "35600000000048"  # the example's buyer: a Chorus Pro structure of the loopback server
# The e-mail buyer with the electronic address BR-FR requires (a Peppol scheme: routing skips Peppol, not configured here, and e-mails).
EMAIL_BUYER = {**helpers.PRIVATE_BUYER, "electronic_address": {"value": "443061841", "scheme": "0225"}}


def toml(tables: dict[str, dict[str, Any]]) -> str:
    """A TOML file of flat tables (JSON scalars and lists of strings are valid TOML values)."""
    lines = []
    for name, values in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items() if not isinstance(value, dict)]
    return "\n".join(lines) + "\n"


def write_config(
    directory: Path,
    net: helpers.Networks,
    *,
    connectors: dict[str, Any] | None = None,
    tables: dict[str, dict[str, Any]] | None = None,
    **delivery: Any,
) -> Path:
    """A config folder: public buyer to Chorus Pro, private buyer by e-mail, fast leases and retries (overridden by `delivery`),
    more `tables` ([signing] …, or tables replacing these); the API runs no in-process worker (`gateway worker` processes deliver)."""
    chosen = connectors or net.connectors()
    settings = {
        "in_process_worker": False,
        "lease_seconds": 3,  # a killed worker's claims are taken again after 3 s
        "idle_seconds": 0.05,
        "max_attempts": 100,
        "backoff_base_seconds": 0.2,
        "backoff_max_seconds": 1,
        "status_poll_seconds": 3600,
        **delivery,
    }
    directory.mkdir()
    (directory / "routing.toml").write_text(
        toml(
            {
                "routing": {"peppol_participants": "ignore"},
                "delivery": settings,
                "delivery.documents": {"chorus_pro": "cii", "email": "ubl"},
                "delivery.connectors.chorus_pro": chosen["chorus_pro"],
                "delivery.connectors.email": chosen["email"],
                **(tables or {}),
            }
        )
        + f'[[routing.rules]]\nbuyer = "{PUBLIC_BUYER_SIRET}"\nchannel = "chorus_pro"\n'
    )
    return directory


def environment(config: Config, config_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a gateway subprocess for `config`."""
    return {
        **os.environ,
        "GATEWAY_CONFIG_DIR": str(config_dir),
        "GATEWAY_DATA_DIR": str(config.data_dir),
        "GATEWAY_DATABASE_URL": config.database_url,
        "GATEWAY_LOG_LEVEL": "WARNING",
        **extra,
    }


def start_worker(env: dict[str, str], log: Path, threads: int = 2) -> subprocess.Popen:
    """`gateway worker --threads N`, once it has said it runs."""
    with log.open("ab") as err:
        command = [sys.executable, "-m", "gateway", "worker", "--threads", str(threads)]
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=err)
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    assert ready and proc.stdout.readline().startswith(b"gateway worker:"), log.read_text()[-2000:]
    return proc


def start_api(env: dict[str, str], log: Path, port: int, threads: int = 4) -> subprocess.Popen:
    """`gateway serve` on 127.0.0.1:`port`, once it answers its health check."""
    with log.open("ab") as out:
        command = [sys.executable, "-m", "gateway", "serve", "--port", str(port), "--threads", str(threads)]
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-2000:]
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return proc
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"gateway serve did not answer within 60 s: {log.read_text()[-2000:]}")


def pending(database: Database) -> int:
    with database.session() as session:
        return session.scalar(sql_select(func.count()).select_from(Delivery).where(Delivery.state != SENT)) or 0


def wait_delivered(database: Database, seconds: float = 120) -> int:
    """Wait (generously) until no delivery is pending; how many still are."""
    deadline = time.monotonic() + seconds
    while (left := pending(database)) and time.monotonic() < deadline:
        time.sleep(0.25)
    return left


def process_stats(pid: int) -> tuple[int, int]:
    """(threads, resident set size in KiB) of a running process, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["Threads"]), int(fields["VmRSS"].split()[0])


@dataclass
class Outcome:
    """What the database and the archive say at the end of a run."""

    deliveries: dict[str, Delivery]  # by invoice id, with attempts and invoice events loaded
    receipts: Counter[str]  # archived receipts per invoice id
    verification: VerificationResult

    @classmethod
    def read(cls, database: Database, archive: Archive) -> Outcome:
        with database.session() as session:
            deliveries = {d.invoice_id: d for d in session.scalars(sql_select(Delivery))}
            for delivery in deliveries.values():
                _ = delivery.attempt_rows, delivery.invoice.events, delivery.invoice.documents
            receipts = Counter(session.scalars(sql_select(ArchiveEntry.invoice_id).where(ArchiveEntry.kind == "receipt")))
            return cls(deliveries, receipts, archive.verify(session))

    def interrupted(self) -> set[str]:
        """Invoices one of whose attempts was cut by a kill."""
        return {i for i, d in self.deliveries.items() if any(a.outcome == OUTCOME_INTERRUPTED for a in d.attempt_rows)}

    def check(self, net: helpers.Networks, public: Iterable[str], private: Iterable[str]) -> int:
        """Assert: every delivery sent once (Chorus Pro by invoice number; e-mail by Message-ID, a repeat only after an
        interrupted attempt), status history exactly 200 → 201, one archived receipt each, the archive verifies.
        The number of repeated e-mails."""
        public, private = set(public), set(private)
        assert set(self.deliveries) == public | private
        assert {d.state for d in self.deliveries.values()} == {SENT}
        numbers = {self.deliveries[i].invoice.number for i in public}
        deposited = Counter(n for n in net.deposited_numbers() if n in numbers)
        assert set(deposited) == numbers and set(deposited.values()) == {1}, deposited.most_common(3)
        remote_ids = {self.deliveries[i].remote_id for i in public}
        assert len([f for f in net.chorus.deposits() if f.state == "IN_INTEGRE" and f.numero in remote_ids]) == len(public)
        by_id = Counter(net.message_ids())
        assert all(by_id[self.deliveries[i].remote_id] >= 1 for i in private)
        copies = {i: by_id[self.deliveries[i].remote_id] - 1 for i in private if by_id[self.deliveries[i].remote_id] > 1}
        assert set(copies) <= self.interrupted(), "repeated e-mails without an interrupted attempt"
        assert {tuple(e.code for e in d.invoice.events) for d in self.deliveries.values()} == {("200", "201")}
        assert all(self.receipts[i] == 1 for i in self.deliveries) and len(self.receipts) == len(self.deliveries)
        assert self.verification.ok, self.verification.summary()
        return sum(copies.values())


class TcpProxy:
    """A loopback TCP relay to `target`: `stop()` cuts every connection and refuses new ones (a server going down or
    restarting, seen from the client), `start()` listens again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def stop(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, set()
        if listener is not None:
            with contextlib.suppress(OSError):  # wakes a thread blocked in accept(): close() alone leaves it listening on Linux
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # stopped while this connection was being set up: refuse it
                    client.close()
                    upstream.close()
                    return
                self._sockets |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

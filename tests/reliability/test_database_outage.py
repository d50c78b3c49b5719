"""PostgreSQL going away under load: connections dropped mid-request, and the server unreachable (a restart).

The shared test server must not be restarted, nor other tests' connections touched, so:
- dropped connections: `pg_terminate_backend` on this test's own connections only (its `application_name`),
  every 50 ms while invoices are posted;
- a restart: the application reaches PostgreSQL through a loopback TCP relay (`TcpProxy`); stopping the relay
  cuts every connection and refuses new ones, exactly what a client sees of a server restart.

Requests then fail cleanly (503 JSON `database_unavailable` with Retry-After, never a 500), succeed again
afterwards (the pool's pre-ping replaces dead connections), and nothing is half-written: every stored invoice
has all its documents on disk, its status event, its outbox row, and the archive chain verifies.  A delivery
worker running through the outage keeps going and delivers afterwards.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from pathlib import Path
from types import MappingProxyType

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from gateway.api.errors import RETRY_AFTER_SECONDS
from gateway.app import create_app
from gateway.archive.models import ArchiveEntry
from gateway.archive.service import Archive
from gateway.config import Config
from gateway.jobs.deliver import Deliverer
from gateway.jobs.models import OUTCOME_INTERRUPTED, OUTCOME_SENT, Delivery
from gateway.jobs.outbox import DATABASE_AWAY
from gateway.jobs.worker import Worker
from gateway.store import models as db
from gateway.store.session import Database, upgrade
from gateway.store.tenants import create_api_key, create_tenant
from tests.conftest import POSTGRES_URL, _postgres_schema_url
from tests.jobs import helpers
from tests.reliability.helpers import TcpProxy, wait_delivered

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

INVOICES = 8


def gateway(request: pytest.FixtureRequest, data_dir: Path, net: helpers.Networks, *, port: int | None = None) -> tuple[Config, str]:
    """A migrated configuration on a fresh schema whose connections carry a unique application_name (through the relay on `port`)."""
    url = _postgres_schema_url(request)
    upgrade(Config(data_dir=data_dir, database_url=url, config_dir=data_dir / "no-config"))
    name = f"gw-outage-{uuid.uuid4().hex[:8]}"
    url = f"{url}&application_name={name}"
    if port is not None:
        url = url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{port}/")
    sections = {"routing": helpers.routing_section(), "delivery": {"connectors": net.connectors(), "idle_seconds": 0.05, "max_attempts": 50}}
    return Config(data_dir=data_dir, database_url=url, config_dir=data_dir / "no-config", sections=MappingProxyType(sections)), name


def new_key(config: Config) -> str:
    database = Database(config)
    with database.session() as session:
        key = create_api_key(session, create_tenant(session, f"outage-{uuid.uuid4().hex[:8]}"))
    database.dispose()
    return key


def post(client, key: str, number: str, idempotency_key: str):
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": idempotency_key}
    return client.post("/api/v1/invoices", json=helpers.invoice_json(number), headers=headers)


def assert_unavailable(answer) -> None:
    assert answer.status_code == 503, answer.get_data(as_text=True)[:500]
    assert (answer.mimetype, answer.json["code"], answer.json["status"]) == ("application/problem+json", "database_unavailable", 503)
    assert answer.headers["Retry-After"] == RETRY_AFTER_SECONDS


def assert_whole(config: Config, numbers: set[str]) -> None:
    """Exactly these invoices, each with its documents on disk, its status history, one outbox row; the archive verifies."""
    database, archive = Database(config), Archive.for_config(config)
    with database.session() as session:
        invoices = session.scalars(select(db.Invoice)).all()
        assert Counter(i.number for i in invoices) == Counter(numbers)
        for invoice in invoices:
            assert {d.kind for d in invoice.documents} >= {"input", "cii", "ubl", "facturx", "canonical"}
            assert all(database.blobs.path(d.sha256).is_file() for d in invoice.documents)
            assert [e.code for e in invoice.events] in (["200"], ["200", "201"])  # accepted, then perhaps delivered
        assert session.scalar(select(func.count()).select_from(Delivery)) == len(numbers)
        kinds = Counter(session.scalars(select(ArchiveEntry.kind)))
        assert kinds["status"] == sum(len(i.events) for i in invoices) and kinds["facturx"] == len(numbers)
        assert archive.verify(session).ok
    database.dispose()


def test_dropped_connections_answer_503_then_recover(request, tmp_path, net):
    config, name = gateway(request, tmp_path, net)
    app, key = create_app(config), new_key(config)
    client = app.test_client()
    admin = sa.create_engine(POSTGRES_URL, poolclass=sa.pool.NullPool)
    stop, terminated = threading.Event(), Counter()

    def drop_connections() -> None:
        """Terminate this test's own backends only (by application_name) every 50 ms."""
        with admin.connect() as conn:
            while not stop.wait(0.05):
                query = sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = :name AND pid <> pg_backend_pid()"
                )
                terminated["backends"] += conn.execute(query, {"name": name}).scalar() or 0
                conn.commit()

    prefix = uuid.uuid4().hex[:6]
    answers: dict[str, int] = {}
    killer = threading.Thread(target=drop_connections)
    killer.start()
    try:
        for i in range(INVOICES):
            answer = post(client, key, f"D{prefix}-{i}", f"{prefix}-{i}")
            if answer.status_code != 201:
                assert_unavailable(answer)
            answers[f"{prefix}-{i}"] = answer.status_code
    finally:
        stop.set()
        killer.join()
        admin.dispose()
    assert terminated["backends"] > 0 and 503 in answers.values(), (terminated, answers)

    for i, (idempotency_key, status) in enumerate(answers.items()):  # the same requests again, now that the connections stay
        if status != 201:
            assert post(client, key, f"D{prefix}-{i}", idempotency_key).status_code == 201
    assert_whole(config, {f"D{prefix}-{i}" for i in range(INVOICES)})
    app.extensions["gateway.database"].dispose()
    print(f"\ndropped connections: {terminated['backends']} backends terminated; first answers {Counter(answers.values())}")


class Signal(logging.Handler):
    """Set when a log record containing `text` is emitted (by any thread)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text, self.seen = text, threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()


def hold_first_insert(engine: sa.Engine, table: str) -> tuple[threading.Event, threading.Event]:
    """(reached, go): the first INSERT into `table` on `engine` signals `reached`, then waits for `go` before it runs."""
    reached, go = threading.Event(), threading.Event()

    def before(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()} ") and not reached.is_set():
            reached.set()
            assert go.wait(60), "the test never let the held INSERT go"

    sa.event.listen(engine, "before_cursor_execute", before)
    return reached, go


def test_a_database_restart_answers_503_then_recovers_and_delivers(request, tmp_path, net):
    """The server goes away while a request is writing and while the worker is delivering: each meets it at a point the test
    chooses (no sleeps), answers 503 or gives its claim back, and everything is whole once the server is back."""
    with TcpProxy(("127.0.0.1", int(sa.engine.make_url(POSTGRES_URL).port or 5432))) as proxy:
        config, _ = gateway(request, tmp_path, net, port=proxy.port)
        app, key = create_app(config), new_key(config)
        client = app.test_client()
        prefix = uuid.uuid4().hex[:6]
        assert post(client, key, f"R{prefix}-0", f"{prefix}-0").status_code == 201

        # The worker takes R-0 and is held at Chorus Pro's door until the database is down.
        deposit_arrived, deposit_go = threading.Event(), threading.Event()
        net.chorus.before_deposit = lambda: (deposit_arrived.set(), deposit_go.wait(60))
        request.addfinalizer(lambda: setattr(net.chorus, "before_deposit", None))
        given_back = Signal("it is given back once the database answers")
        logging.getLogger("gateway.jobs.worker").addHandler(given_back)
        request.addfinalizer(lambda: logging.getLogger("gateway.jobs.worker").removeHandler(given_back))
        database = Database(config)
        worker = Worker(Deliverer(database, app.extensions["gateway.archive"], config), 1, scheduler=False)
        worker.start()
        request.addfinalizer(worker.stop)  # also when an assertion fails: no worker left running against a dead relay
        assert deposit_arrived.wait(60)

        # A request is writing its invoice (after generating and validating it) when the server goes down.
        writing, write_go = hold_first_insert(app.extensions["gateway.database"].engine, "invoices")
        in_flight: list = []
        request_thread = threading.Thread(target=lambda: in_flight.append(post(client, key, f"R{prefix}-1", f"{prefix}-1")))
        request_thread.start()
        assert writing.wait(60)
        proxy.stop()
        write_go.set()
        request_thread.join()
        assert_unavailable(in_flight[0])
        assert_unavailable(post(client, key, f"R{prefix}-2", f"{prefix}-2"))
        assert_unavailable(client.get("/api/v1/invoices", headers={"Authorization": f"Bearer {key}"}))

        deposit_go.set()  # Chorus Pro answers; the worker cannot record the outcome and keeps the claim to give back
        assert given_back.seen.wait(60)

        proxy.start()  # back on the same port
        for i in (1, 2):
            assert post(client, key, f"R{prefix}-{i}", f"{prefix}-{i}").status_code == 201
        assert client.get("/api/v1/invoices", headers={"Authorization": f"Bearer {key}"}).json["total"] == 3
        assert wait_delivered(database) == 0
        worker.stop()
        with database.session() as session:
            [first] = session.scalars(select(Delivery).join(db.Invoice).where(db.Invoice.number == f"R{prefix}-0")).all()
            outcomes = [(a.outcome, a.error) for a in sorted(first.attempt_rows, key=lambda a: a.number)]
        assert outcomes[0] == (OUTCOME_INTERRUPTED, DATABASE_AWAY) and outcomes[-1][0] == OUTCOME_SENT, outcomes
        database.dispose()
        app.extensions["gateway.database"].dispose()
        assert_whole(config, {f"R{prefix}-{i}" for i in range(3)})

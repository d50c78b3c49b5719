"""Hostile-input fixtures: the API app of tests/api, a real waitress server on loopback, and what every attack must respect."""

from __future__ import annotations

import copy
import resource
import threading
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from waitress import wasyncore

from gateway.config import Config
from gateway.portal.models import ADMINISTRATOR
from gateway.server import create_server
from tests.api.conftest import api, app, other_api  # noqa: F401 (the session's API app, one per database; a tenant per test)
from tests.conftest import load_example
from tests.portal.conftest import populate, sign_in

BOUND_SECONDS = 15.0  # generous on a loaded 2-core machine; a bomb that expands takes minutes, or never ends
BOUND_PYTHON_MB = 100  # Python allocations during one refused request (a 200 MB Flate bomb inflated would show)


@dataclass
class Cost:
    seconds: float = 0.0
    python_peak_mb: float = 0.0
    rss_growth_mb: float = 0.0  # growth of the process's high-water mark (0 when earlier work already reached it)


@contextmanager
def bounded(*, trace: bool = True) -> Iterator[Cost]:
    """Measure a block: wall time, peak Python allocations (tracemalloc) and resident-set high-water growth; then assert the bounds."""
    cost = Cost()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        yield cost
    finally:
        cost.seconds = time.perf_counter() - started
        if trace:
            cost.python_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        cost.rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert cost.seconds < BOUND_SECONDS, cost
    assert cost.python_peak_mb < BOUND_PYTHON_MB, cost


@pytest.fixture
def invoice(api) -> dict:  # noqa: F811
    """One accepted invoice of `api`'s tenant (a unique number)."""
    data = copy.deepcopy(load_example("invoice-fr-b2b"))
    data["number"] = f"SEC-{uuid.uuid4().hex[:10]}"
    response = api.post("/api/v1/invoices", json=data)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@contextmanager
def serving(app: Flask, config: Config, **overrides: object) -> Iterator[int]:  # noqa: F811
    """`app` behind the waitress server `gateway serve` uses (its limits included), on a free loopback port; yields the port."""
    server = create_server(app, config, threads=2, host="127.0.0.1", port=0, **overrides)
    stop = threading.Event()

    def run() -> None:
        # waitress' own loop, a turn at a time until told to stop; its sockets are closed by this thread (closing them
        # from the test's raced the loop's select(), and waking it through waitress' trigger once met a closed pipe).
        while not stop.is_set():
            wasyncore.loop(timeout=0.05, map=server._map, count=1)
        wasyncore.close_all(server._map)

    thread = threading.Thread(target=run, name="waitress-under-test", daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:
        server.task_dispatcher.shutdown()
        stop.set()
        thread.join(10)
        assert not thread.is_alive()


@pytest.fixture(scope="module")
def portal_client(app) -> tuple[FlaskClient, list[str]]:  # noqa: F811
    """An administrator of a fresh portal tenant, signed in; and the numbers of that tenant's invoices."""
    world = populate(app)
    client = app.test_client()
    assert sign_in(client, world.users[ADMINISTRATOR]).status_code == 302
    return client, [number for name, number in world.numbers.items() if name != "other"]

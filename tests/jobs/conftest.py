"""Delivery test fixtures: a fresh database per module (SQLite, PostgreSQL) — workers claim every due row, so the
outbox must not be shared with other test modules — and the loopback Chorus Pro and SMTP servers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.archive.service import Archive
from gateway.config import Config
from gateway.jobs.deliver import Deliverer
from gateway.store.session import Database
from tests.jobs import helpers


@dataclass
class Setup:
    kind: str
    config: Config
    database: Database
    archive: Archive
    net: helpers.Networks

    def deliverer(self, routing: dict[str, Any] | None = None, **delivery: Any) -> Deliverer:
        """A deliverer with fast retries, the test routing and both loopback connectors (unless `connectors` says otherwise)."""
        section = {"idle_seconds": 0.02, "backoff_base_seconds": 0.01, "backoff_max_seconds": 0.05, "max_attempts": 3, **delivery}
        section.setdefault("connectors", self.net.connectors())
        config = helpers.with_sections(self.config, routing=routing if routing is not None else helpers.routing_section(), delivery=section)
        return Deliverer(self.database, self.archive, config)

    def drain(self, deliverer: Deliverer, worker: str = "test-worker") -> int:
        """Deliver until nothing is due; how many deliveries were processed."""
        done = 0
        while deliverer.run_once(worker):
            done += 1
        return done


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[helpers.Networks]:
    with helpers.networks(tmp_path_factory.mktemp("networks")) as networks:
        yield networks


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def setup(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, net: helpers.Networks) -> Iterator[Setup]:
    config = helpers.config_for(request.param, tmp_path_factory.mktemp(f"jobs-{request.param}"), request)
    database = Database(config)
    yield Setup(request.param, config, database, Archive.for_config(config), net)
    database.dispose()

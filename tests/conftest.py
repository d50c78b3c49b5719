"""Shared test fixtures: the example invoices and the public conformance corpus."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"
CORPUS = Path(os.environ.get("GATEWAY_CORPUS", ROOT.parent / "shared" / "corpus"))


def load_example(name: str) -> dict:
    """An intake JSON example from docs/examples (name without .json)."""
    return json.loads((EXAMPLES / f"{name}.json").read_text())


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The ../shared/corpus folder; tests using it skip cleanly when it is absent."""
    if not (CORPUS / "expected.json").is_file():
        pytest.skip(f"conformance corpus not found at {CORPUS}")
    return CORPUS


# ---------------------------------------------------------------------------- databases (SQLite and PostgreSQL)

# The tests' webhook receivers listen on loopback over http: their `[webhooks]` table allows that, as an on-premise
# operator's would (docs/webhooks.md); the SSRF guard still refuses every other non-public address.
LOOPBACK_WEBHOOKS = {"allow_http": True, "allow_private_networks": ["127.0.0.0/8", "::1/128"]}
POSTGRES_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_schema_url(request: pytest.FixtureRequest) -> str:
    """A fresh schema in the test PostgreSQL database (dropped at the end of the session); skip when the server is unreachable, unless CI=true."""
    import uuid

    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_URL, poolclass=sa.pool.NullPool)
    schema = f"gw_test_{uuid.uuid4().hex[:10]}"
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL} ({exc.orig}); set CI=true to make this a failure")

    def drop() -> None:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()

    request.addfinalizer(drop)
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def gateway_config(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A migrated gateway configuration, once on SQLite (a temporary data folder) and once on PostgreSQL (a fresh schema)."""
    from gateway.config import Config
    from gateway.store.session import upgrade

    data_dir = tmp_path_factory.mktemp(f"gateway-{request.param}")
    url = _postgres_schema_url(request) if request.param == "postgresql" else ""
    config = Config(data_dir=data_dir, database_url=url, config_dir=data_dir / "no-config", sections={"webhooks": LOOPBACK_WEBHOOKS})
    upgrade(config)
    return config


@pytest.fixture(autouse=True)
def _root_logging_restored():
    """A command run in-process (`gateway.cli.main`) points the root logger at the test's captured stderr, closed once the
    test ends: later tests' log lines then fail with "I/O operation on closed file".  Each test leaves the root logger as it found it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The random order's seed, also under -q (the header that shows it is hidden then): `--randomly-seed=N` replays it."""
    seed = getattr(config.option, "randomly_seed", None)
    if seed is not None and not getattr(config.option, "randomly_dont_reorganize", False):
        terminalreporter.write_line(f"tests ran in random order: replay it with --randomly-seed={seed}")

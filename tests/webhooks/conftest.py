"""Webhook fixtures: the app on SQLite and PostgreSQL, tenants, and a real HTTP receiver on 127.0.0.1 that checks signatures
with the snippet of docs/webhooks.md."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gateway.app import create_app
from tests.api.conftest import Api, new_tenant_key

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def documented_verify() -> Callable[..., bool]:
    """The `verify` function of the Python snippet in docs/webhooks.md, exactly as published."""
    [snippet] = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    scope: dict = {}
    exec(compile(snippet, str(DOC), "exec"), scope)
    return scope["verify"]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An ERP endpoint: answers each request with the next of `answers` (then 200), and keeps what it got."""

    url: str = ""
    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(Received(dict(self.headers.items()), body))
            self.send_response(state.answers.pop(0) if state.answers else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def app(gateway_config):
    app = create_app(gateway_config)
    yield app
    app.extensions["gateway.database"].dispose()


@pytest.fixture
def database(app):
    return app.extensions["gateway.database"]


@pytest.fixture
def api(app) -> Api:
    return Api(app, new_tenant_key(app))


@pytest.fixture
def other_api(app) -> Api:
    return Api(app, new_tenant_key(app))

"""Webhook fixtures: the app on SQLite and PostgreSQL, tenants, and a real HTTP receiver on 127.0.0.1 that checks signatures
with the snippet of docs/webhooks.md."""

from __future__ import annotations

import json
import re
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.webhooks import signing
from gateway.webhooks.models import EVENTS
from tests.api.conftest import Api, new_tenant_key

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def documented_verify() -> Callable[..., bool]:
    """The `verify` function of the Python snippet in docs/webhooks.md, exactly as published."""
    [snippet] = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    scope: dict = {}
    exec(compile(snippet, str(DOC), "exec"), scope)
    return scope["verify"]


verify = documented_verify()


def subscribe(api: Api, url: str, events: list[str] | None = None) -> str:
    """Subscribe `url` through the API; the secret, shown this once."""
    response = api.post("/api/v1/webhooks", json={"url": url, "events": events or list(EVENTS)})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["secret"].startswith("whsec_") and body["url"] == url
    return body["secret"]


def deliveries(api: Api, **query: str) -> list[dict]:
    response = api.get("/api/v1/webhooks/deliveries", query_string=query)
    assert response.status_code == 200
    return response.get_json()["items"]


def verified(receiver: Receiver, secret: str) -> list[dict]:
    """The bodies received, each checked with the documented snippet and against the delivery headers."""
    bodies = []
    for got in receiver.received:
        assert verify(secret, got.body, got.headers[signing.HEADER]), got.headers
        body = json.loads(got.body)
        assert (got.headers["X-Gateway-Event"], got.headers["X-Gateway-Delivery"]) == (body["event"], body["id"])
        bodies.append(body)
    return bodies


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An ERP endpoint: answers each request with the next of `answers` (then 200), with `location` as Location header
    when set, and keeps what it got (and, over TLS, the server names clients asked for)."""

    url: str = ""
    answers: list[int] = field(default_factory=list)
    location: str = ""
    received: list[Received] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)


@contextmanager
def serving(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 (https://localhost:… with `tls`, whose server names it records), for the block."""
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(Received(dict(self.headers.items()), body))
            self.send_response(state.answers.pop(0) if state.answers else 200)
            if state.location:
                self.send_header("Location", state.location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/hooks"
    if tls is not None:
        tls.sni_callback = lambda _socket, name, _context: state.server_names.append(name)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        state.url = f"https://localhost:{server.server_port}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as state:
        yield state


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

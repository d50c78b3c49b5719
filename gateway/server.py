"""The HTTP server of `gateway serve`: waitress, with the gateway's limits applied at the door.

waitress reads a whole request body (spooling it to a temporary file) before the application sees it,
up to its own limit of 1 GB by default: the application's `max_body_bytes` alone would answer 413 only
after a client had filled the disk.  The server's limit is therefore the configured one: a body
declared (or, chunked, growing) past it is refused by waitress before it is stored.  That refusal is
answered by the application's own error handler (waitress' is plain text), so an API client gets the
API's problem details (application/problem+json), the same as for any other error; the portal gets Flask's page.
A slow client costs a socket, not a thread: waitress hands a request to a thread only once it is
complete, and closes connections silent for `channel_timeout` seconds.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import Flask
from waitress import create_server as waitress_server
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer
from waitress.task import ErrorTask
from waitress.utilities import RequestEntityTooLarge as WaitressTooLarge
from werkzeug.exceptions import RequestEntityTooLarge

from gateway.config import Config

CHANNEL_TIMEOUT_SECONDS = 60


class _ApplicationAnswer:
    """A waitress error (`to_response` is what waitress' ErrorTask calls) whose answer the Flask application writes."""

    def __init__(self, app: Flask, request: HTTPRequestParser) -> None:
        self.app = app
        self.request = request

    def to_response(self, _ident: str | None = None) -> tuple[str, list[tuple[str, str]], bytes]:
        with self.app.test_request_context(self.request.path, method=self.request.command):
            response = self.app.make_response(self.app.handle_http_exception(RequestEntityTooLarge()))
        return response.status, list(response.headers.items()), response.get_data()


class _ErrorTask(ErrorTask):
    """waitress' refusal of a body over the limit, answered by the application; other transport errors stay waitress'."""

    def execute(self) -> None:
        if isinstance(self.request.error, WaitressTooLarge):
            self.request.error = _ApplicationAnswer(self.channel.app, self.request)
        super().execute()


class _Channel(HTTPChannel):
    error_task_class = _ErrorTask

    def __init__(self, app: Flask, *args: Any, **kwargs: Any) -> None:
        self.app = app  # the Flask app itself: waitress' `server.application` may be wrapped in its proxy-header middleware
        super().__init__(*args, **kwargs)


def create_server(app: Flask, config: Config, threads: int = 4, **overrides: Any) -> Any:
    """A waitress server for `app` on the configured host and port (`overrides`: any waitress setting, e.g. port=0 in tests)."""
    settings: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "threads": threads,
        "max_request_body_size": config.max_body_bytes + 1,  # waitress refuses a body of this size or more
        "channel_timeout": CHANNEL_TIMEOUT_SECONDS,
        "ident": "pdp-gateway",
    }
    sockets: dict[int, Any] = {}
    server = waitress_server(app, map=sockets, **{**settings, **overrides})
    for listener in sockets.values():  # one per listening address ("localhost" may be two)
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = functools.partial(_Channel, app)
    return server

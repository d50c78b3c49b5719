"""The HTTP server of `gateway serve`: waitress, with the gateway's limits applied at the door.

waitress reads a whole request body (spooling it to a temporary file) before the application sees it,
up to its own limit of 1 GB by default: the application's `max_body_bytes` alone would answer 413 only
after a client had filled the disk.  The server's limit is therefore the configured one: a body
declared (or, chunked, growing) past it is refused by waitress with a plain 413 before it is stored.
A slow client costs a socket, not a thread: waitress hands a request to a thread only once it is
complete, and closes connections silent for `channel_timeout` seconds.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from waitress import create_server as waitress_server

from gateway.config import Config

CHANNEL_TIMEOUT_SECONDS = 60


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
    return waitress_server(app, **{**settings, **overrides})

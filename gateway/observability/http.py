"""Flask hooks: a request id for every request (taken from `X-Request-Id` when usable), bound to the logs and
returned in the response; the latency histogram; one access-log line per request.

The access line names the path without its query string (filters may hold buyer names); probes
(/healthz, /readyz, /metrics) are logged at DEBUG so they do not drown the rest.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

from gateway.observability import context
from gateway.observability.metrics import HTTP_LATENCY
from gateway.store.models import ID_PATTERN

HEADER = "X-Request-Id"
PROBES = ("/healthz", "/readyz", "/metrics")

log = logging.getLogger("gateway.http")


def _start() -> None:
    invoice_id = (request.view_args or {}).get("invoice_id")
    g.observed = (time.perf_counter(), context.bind(request_id=context.accepted_request_id(request.headers.get(HEADER))))
    if isinstance(invoice_id, str) and ID_PATTERN.match(invoice_id):
        context.bind(invoice_id=invoice_id)  # undone with the request's binding


def _finish(response: Response) -> Response:
    started, _token = g.observed
    seconds = time.perf_counter() - started
    endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
    HTTP_LATENCY.labels(request.method, endpoint, str(response.status_code)).observe(seconds)
    response.headers[HEADER] = context.request_id() or ""
    level = logging.DEBUG if request.path in PROBES else logging.INFO
    log.log(level, "%s %s %d %.1f ms", request.method, request.path, response.status_code, seconds * 1000)
    return response


def _end(_exc: BaseException | None = None) -> None:
    observed = g.pop("observed", None)
    if observed is not None:
        context.reset(observed[1])


def install(app: Flask) -> None:
    """Register the hooks; call before the blueprints so the request id is bound before anything logs."""
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_end)

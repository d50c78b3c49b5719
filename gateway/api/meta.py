"""Unauthenticated endpoints: liveness, readiness, metrics and the OpenAPI document.

`/healthz` says the process answers (no database, nothing slow: a liveness probe restarts what fails it).
`/readyz` says whether this process can do its work: the database answers, the document folder is
writable, the in-process worker and scheduler run (when this process has them: `gateway serve`), the
signing certificate has not expired.  `/metrics` is for Prometheus: with `[gateway] metrics_token` set it
needs that bearer token, without one it answers loopback clients only (a scraper on the same host, or
through a tunnel); its labels hold counts, never tenant data.  `/api/problems` describes the problem types
the API's errors point at (their `type`).
"""

from __future__ import annotations

import hmac
import logging
import tempfile
import time
from typing import Any

from flask import Blueprint, Response, current_app, request
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gateway.api import problems
from gateway.api.context import config, database, db_session
from gateway.api.errors import ApiError, error_response, json_response
from gateway.api.openapi import openapi_document
from gateway.jobs.worker import in_process_workers
from gateway.observability.metrics import exposition
from gateway.signing.expiry import signing_health

bp = Blueprint("meta", __name__)
log = logging.getLogger(__name__)
SIGNING_CHECK_SECONDS = 300  # opening a PKCS#11 token on every probe would be wasteful
LOOPBACK = ("127.0.0.1", "::1")
NOT_READY_SIGNING = ("expired", "unavailable")  # signing would fail, or produce signatures verifiers reject


def _signing() -> dict[str, Any]:
    """The signing key's health (certificate expiry warned ahead of time), re-checked at most every few minutes."""
    cached = current_app.extensions.get("gateway.signing-health")
    if cached is None or time.monotonic() - cached[0] > SIGNING_CHECK_SECONDS:
        cached = (time.monotonic(), signing_health(config()))
        current_app.extensions["gateway.signing-health"] = cached
    return cached[1]


def _database() -> str:
    try:
        db_session().execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.error("readiness: database unavailable: %s", exc)
        return "unavailable"
    return "ok"


def _storage() -> str:
    """Whether a document could be stored now: a small file is created and removed in the document folder."""
    root = database().blobs.root
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".readyz-") as probe:
            probe.write(b"ok")
            probe.flush()
    except OSError as exc:
        log.error("readiness: document folder %s not writable: %s", root, exc)
        return "unavailable"
    return "ok"


def _scheduler() -> str:
    workers = in_process_workers()
    if not workers:
        return "not-in-process"  # a web-only process: `gateway worker` runs elsewhere
    return "running" if all(worker.running for worker in workers) else "stopped"


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers requests.  Nothing is checked beyond that, so a database outage does not restart it."""
    return json_response({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Readiness: 200 when the database, the document folder, the in-process scheduler and the signing key are usable, else 503."""
    checks: dict[str, Any] = {"database": _database(), "storage": _storage(), "scheduler": _scheduler(), "signing": _signing()}
    ready = (
        checks["database"] == "ok"
        and checks["storage"] == "ok"
        and checks["scheduler"] != "stopped"
        and checks["signing"]["status"] not in NOT_READY_SIGNING
    )
    if ready:
        return json_response({"status": "ready", **checks})
    failing = [f"{name} {value}" for name, value in checks.items() if value in ("unavailable", "stopped")]
    if checks["signing"]["status"] in NOT_READY_SIGNING:
        failing.append(f"signing {checks['signing']['status']}")
    return error_response(503, "not_ready", f"Not ready: {', '.join(failing)}.", members=checks)


@bp.get("/metrics")
def metrics() -> Response:
    """The Prometheus text exposition; see the module docstring for who may read it."""
    token = config().metrics_token
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise ApiError(401, "unauthorized", "The metrics token is required: Authorization: Bearer <metrics_token>.")
    elif request.remote_addr not in LOOPBACK:
        raise ApiError(403, "forbidden", "Metrics are served to loopback clients only, unless [gateway] metrics_token is set.")
    return Response(exposition(database()), mimetype=None, content_type=CONTENT_TYPE_PLAIN_0_0_4)


@bp.get("/api/problems")
def problem_types() -> Response:
    """The catalogue of the problem types the API answers with (what each error's `type` points at)."""
    return json_response({"items": [problems.type_description(code) for code in problems.TYPES]})


@bp.get("/api/problems/<code>")
def problem_type(code: str) -> Response:
    """One problem type: its title, status and what it means."""
    if code not in problems.TYPES:
        raise ApiError(404, "not_found", f"No problem type {code}: GET /api/problems lists them.")
    return json_response(problems.type_description(code))


@bp.get("/api/openapi.json")
def openapi() -> Response:
    return json_response(openapi_document())

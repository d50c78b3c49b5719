"""Every API error has one shape: `{"error": {"code", "message", "details": [{"pointer", "message"}]}}`.

Input problems map to their 4xx; an official artefact that cannot run is a 503
(never a pass).  An unreachable database (dropped connections, a restart) is a 503
with Retry-After, and so is a document folder that refuses writes (507 when full):
the request's transaction is rolled back, nothing half-written is acknowledged, and
the client retries (with its Idempotency-Key).  Anything else is a bug, logged with
its traceback and answered with a JSON 500 that reveals nothing.  Paths outside the API keep Flask's default
pages.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from flask import Flask, Response, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

from gateway.errors import InputError
from gateway.store.blobs import StorageError
from gateway.validation.schematron import ArtefactError

log = logging.getLogger(__name__)

JSON_PATHS = ("/api/", "/healthz", "/readyz", "/metrics")
RETRY_AFTER_SECONDS = "5"


class ApiError(Exception):
    """An error answer decided by the web layer (auth, parameters, idempotency …)."""

    def __init__(self, status: int, code: str, message: str, details: Iterable[tuple[str, str]] = (), headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details)
        self.headers = headers or {}


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer with stable bytes (the idempotency replay returns them unchanged)."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return Response(body, status=status, mimetype="application/json", headers=headers)


def error_response(status: int, code: str, message: str, details: Iterable[tuple[str, str]] = (), headers: dict[str, str] | None = None) -> Response:
    error = {"code": code, "message": message, "details": [{"pointer": p, "message": m} for p, m in details]}
    return json_response({"error": error}, status, headers)


def input_error_response(exc: InputError) -> Response:
    """The answer to an input error; lists every detail it carries (intake errors list them all)."""
    details = getattr(exc, "details", None)
    if details is not None:
        return error_response(exc.status, exc.code, exc.message, [(d.pointer, d.message) for d in details])
    pairs = [(exc.pointer, exc.message)] if exc.pointer is not None else []
    return error_response(exc.status, exc.code, exc.message, pairs)


def api_error_response(exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


def _is_api_request() -> bool:
    return request.path.startswith(JSON_PATHS)


def _http_error(exc: HTTPException) -> Response | HTTPException:
    if not _is_api_request():
        return exc
    code = "too_large" if exc.code == 413 else (exc.name or "error").lower().replace(" ", "_")
    allowed = getattr(exc, "valid_methods", None)
    headers = {"Allow": ", ".join(allowed)} if allowed else None
    return error_response(exc.code or 500, code, exc.description or exc.name, headers=headers)


def _artefact_error(exc: ArtefactError) -> Response:
    log.error("validation artefact failure: %s", exc)
    return error_response(503, "validation_unavailable", f"An official validation artefact could not run; nothing was accepted. {exc}")


def _unavailable(code: str, message: str, status: int = 503) -> Response:
    headers = {"Retry-After": RETRY_AFTER_SECONDS}
    if not _is_api_request():
        return Response(message, status, mimetype="text/plain", headers=headers)
    return error_response(status, code, message, headers=headers)


def _storage_error(exc: StorageError) -> Response:
    log.error("document storage refused a write: %s", exc)
    if exc.full:
        return _unavailable("storage_full", "The document storage is full; nothing was accepted.", 507)
    return _unavailable("storage_unavailable", "The document storage cannot be written; nothing was accepted.")


def _database_unavailable(exc: DBAPIError) -> bool:
    """A lost or refused connection (a server restart, dropped connections, a locked SQLite file), not a bug in a statement."""
    return isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated


def _unexpected(exc: Exception) -> Response | HTTPException:
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    if isinstance(exc, PoolTimeout) or (isinstance(exc, DBAPIError) and _database_unavailable(exc)):
        log.error("database unavailable on %s %s: %s", request.method, request.path, str(exc).splitlines()[0])
        return _unavailable(
            "database_unavailable", "The database is unavailable; retry later (with the same Idempotency-Key a completed request answers as before)."
        )
    log.exception("unhandled error on %s %s", request.method, request.path)
    if not _is_api_request():
        return InternalServerError(original_exception=exc)
    return error_response(500, "internal_error", "An internal error occurred; it has been logged.")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, api_error_response)
    app.register_error_handler(InputError, input_error_response)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(ArtefactError, _artefact_error)
    app.register_error_handler(StorageError, _storage_error)
    app.register_error_handler(Exception, _unexpected)

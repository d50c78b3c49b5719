"""Every API error is an RFC 9457 problem (`application/problem+json`, see `gateway.api.problems`).

Input problems map to their 4xx; an official artefact that cannot run is a 503
(never a pass).  An unreachable database (dropped connections, a restart) is a 503
with Retry-After, and so is a document folder that refuses writes (507 when full):
the request's transaction is rolled back, nothing half-written is acknowledged, and
the client retries (with its Idempotency-Key).  Anything else is a bug, logged with
its traceback and answered with a 500 problem that reveals nothing.  Paths outside the API keep Flask's default
pages.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, InternalServerError

from gateway.api import problems
from gateway.errors import InputError
from gateway.store.blobs import StorageError
from gateway.store.session import unavailable
from gateway.validation.schematron import ArtefactError

log = logging.getLogger(__name__)

JSON_PATHS = ("/api/", "/healthz", "/readyz", "/metrics")
RETRY_AFTER_SECONDS = "5"


class ApiError(Exception):
    """An error answer decided by the web layer (auth, parameters, idempotency …); `members` are the problem's own members."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Iterable[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
        members: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details)
        self.headers = headers or {}
        self.members = members or {}


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer with stable bytes (the idempotency replay returns them unchanged)."""
    return Response(_dumps(data), status=status, mimetype="application/json", headers=headers)


def error_response(
    status: int,
    code: str,
    message: str,
    details: Iterable[tuple[str, str]] = (),
    headers: dict[str, str] | None = None,
    members: dict[str, Any] | None = None,
) -> Response:
    """The problem details answer: `message` is its `detail`, each (pointer, message) of `details` an entry of `errors`."""
    body = problems.problem(status, code, message, details, members)
    return Response(_dumps(body), status=status, mimetype=problems.MEDIA_TYPE, headers=headers)


def input_error_response(exc: InputError, message: str | None = None) -> Response:
    """The answer to an input error; lists every detail it carries (intake errors list them all)."""
    details = getattr(exc, "details", None)
    pairs = [(exc.pointer, exc.message)] if exc.pointer is not None else []
    if details is not None:
        pairs = [(d.pointer, d.message) for d in details]
    return error_response(exc.status, exc.code, message or exc.message, pairs, members=exc.members())


def api_error_response(exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers, exc.members)


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


def _unexpected(exc: Exception) -> Response | HTTPException:
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    if unavailable(exc):
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

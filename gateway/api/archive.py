"""/api/v1/archive: verification of the tamper-evident archive.

The answer names the first broken entry by sequence number and reason only: no
other tenant's invoice is revealed.  A broken archive is a 200 with `"ok": false`
(the check itself succeeded).  `OPENAPI_PATHS` documents the route for openapi.py.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from gateway.api import conventions
from gateway.api.auth import authenticate
from gateway.api.context import config, db_session
from gateway.api.errors import json_response
from gateway.api.problems import PROBLEM_CONTENT
from gateway.archive.service import Archive

bp = Blueprint("archive", __name__, url_prefix="/api/v1/archive")
bp.before_request(authenticate)
conventions.apply(bp)  # documented query parameters only; ETag and 304


@bp.get("/verify")
def verify() -> Response:
    """Recompute the whole archive from the stored bytes (seconds for 100,000 entries)."""
    return json_response(Archive.for_config(config()).verify(db_session()).to_dict())


_INTEGER, _STRING = {"type": "integer"}, {"type": "string"}
_PROBLEM = {
    "type": "object",
    "required": ["seq", "checkpoint", "reason", "message"],
    "properties": {
        "seq": {"type": ["integer", "null"], "description": "The first entry concerned."},
        "checkpoint": {"type": ["integer", "null"], "description": "The checkpoint concerned, if any."},
        "reason": {
            "type": "string",
            "description": "missing-entry, out-of-order, broken-link, entry-hash-mismatch, content-mismatch, content-missing, size-mismatch, "
            "malformed-entry, malformed-expiry, early-expiry, checkpoint-signature-invalid, checkpoint-unknown-key, checkpoint-mismatch, "
            "timestamp-mismatch or truncated.",
        },
        "message": _STRING,
    },
}
VERIFICATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["ok", "entries", "checkpoints", "documents", "expired", "head", "unanchored", "first_problem", "problems", "notes"],
    "properties": {
        "ok": {"type": "boolean"},
        "entries": _INTEGER,
        "checkpoints": _INTEGER,
        "documents": _INTEGER,
        "expired": {"type": "integer", "description": "Entries whose bytes were deleted at the end of their retention (an archived event)."},
        "head": {"type": "object", "properties": {"seq": _INTEGER, "entry_hash": _STRING}},
        "unanchored": {"type": "integer", "description": "Entries after the last signed checkpoint."},
        "first_problem": {"oneOf": [_PROBLEM, {"type": "null"}]},
        "problems": {"type": "array", "items": _PROBLEM},
        "notes": {"type": "array", "items": _STRING},
    },
}
OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/archive/verify": {
        "get": {
            "operationId": "verifyArchive",
            "summary": "Verify the tamper-evident archive",
            "description": "Recomputes every document hash, entry hash, chain link, Merkle root and checkpoint signature from the stored "
            "bytes; names the first broken entry and why.",
            "responses": {
                "200": {"description": "The verification result", "content": {"application/json": {"schema": VERIFICATION_SCHEMA}}},
                "401": {
                    "description": "Missing, unknown or revoked API key",
                    "content": PROBLEM_CONTENT,
                },
            },
        }
    }
}

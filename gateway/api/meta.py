"""Unauthenticated endpoints: the health check and the OpenAPI document."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, Response, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gateway.api.context import config, db_session
from gateway.api.errors import json_response
from gateway.api.openapi import openapi_document
from gateway.signing.expiry import signing_health

bp = Blueprint("meta", __name__)
log = logging.getLogger(__name__)
SIGNING_CHECK_SECONDS = 300  # opening a PKCS#11 token on every probe would be wasteful


def _signing() -> dict[str, Any]:
    """The signing key's health (certificate expiry warned ahead of time), re-checked at most every few minutes."""
    cached = current_app.extensions.get("gateway.signing-health")
    if cached is None or time.monotonic() - cached[0] > SIGNING_CHECK_SECONDS:
        cached = (time.monotonic(), signing_health(config()))
        current_app.extensions["gateway.signing-health"] = cached
    return cached[1]


@bp.get("/healthz")
def healthz() -> Response:
    """200 when the database answers, 503 otherwise; the signing key's state is reported (an expiring certificate warns, never fails)."""
    signing = _signing()
    try:
        db_session().execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.error("health check: database unavailable: %s", exc)
        return json_response({"status": "unavailable", "database": "unavailable", "signing": signing}, 503)
    return json_response({"status": "ok", "database": "ok", "signing": signing})


@bp.get("/api/openapi.json")
def openapi() -> Response:
    return json_response(openapi_document())

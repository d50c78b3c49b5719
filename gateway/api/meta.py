"""Unauthenticated endpoints: the health check and the OpenAPI document."""

from __future__ import annotations

import logging

from flask import Blueprint, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gateway.api.context import db_session
from gateway.api.errors import json_response
from gateway.api.openapi import openapi_document

bp = Blueprint("meta", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> Response:
    """200 when the database answers, 503 otherwise."""
    try:
        db_session().execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.error("health check: database unavailable: %s", exc)
        return json_response({"status": "unavailable", "database": "unavailable"}, 503)
    return json_response({"status": "ok", "database": "ok"})


@bp.get("/api/openapi.json")
def openapi() -> Response:
    return json_response(openapi_document())

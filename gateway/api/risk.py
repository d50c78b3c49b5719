"""/api/v1/invoices/{id}/risk: an incoming invoice's anomaly and fraud checks as they were when it arrived — its level
(auto_approve, normal, hold), score and findings, each with its explanation and evidence; /api/v1/risk/settings: the
tenant's thresholds (docs/risk.md).  `OPENAPI_PATHS` documents the routes."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response

from gateway.api import conventions
from gateway.api.auth import authenticate, current_tenant
from gateway.api.context import db_session
from gateway.api.errors import ApiError, json_response
from gateway.api.invoices import json_request, own_invoice
from gateway.api.problems import UNAUTHORIZED, error_responses
from gateway.risk import service
from gateway.risk.checks import Thresholds

bp = Blueprint("risk", __name__, url_prefix="/api/v1")
bp.before_request(authenticate)
conventions.apply(bp)


def _settings_json(thresholds: Thresholds) -> dict[str, int]:
    return asdict(thresholds)


@bp.get("/risk/settings")
def get_settings() -> Response:
    """The tenant's thresholds (the defaults until it sets them)."""
    return json_response(_settings_json(service.thresholds_of(db_session(), current_tenant().id)))


@bp.put("/risk/settings")
def put_settings() -> Response:
    """Set the thresholds: 200 with them, 422 naming every problem (nothing changed)."""
    _, data = json_request()
    session = db_session()
    try:
        thresholds = service.set_thresholds(session, current_tenant().id, data)
    except service.SettingsError as refused:
        raise ApiError(422, "invalid_risk_settings", "The risk settings are refused; nothing was changed.", refused.problems) from None
    session.commit()
    return json_response(_settings_json(thresholds))


@bp.get("/invoices/<invoice_id>/risk")
def get_risk(invoice_id: str) -> Response:
    invoice = own_invoice(invoice_id)
    assessment = service.assessment_of(db_session(), invoice.id)
    if assessment is None:
        raise ApiError(404, "not_found", f"Invoice {invoice_id} has no risk assessment: only incoming invoices accepted at reception have one.")
    return json_response(service.assessment_json(assessment))


FINDING = {
    "type": "object", "required": ["kind", "severity", "points", "explanation", "evidence"],
    "properties": {"kind": {"type": "string"}, "severity": {"enum": ["high", "medium", "low", "info"]}, "points": {"type": "integer"},
                   "explanation": {"type": "string"}, "evidence": {"type": "object"}},
}  # fmt: skip
ASSESSMENT = {
    "type": "object", "required": ["level", "score", "findings"],
    "properties": {"level": {"enum": ["auto_approve", "normal", "hold"]}, "score": {"type": "integer"},
                   "findings": {"type": "array", "items": FINDING}, "assessed_at": {"type": "string", "format": "date-time"}},
}  # fmt: skip
SETTINGS = {
    "type": "object", "additionalProperties": False,
    "properties": {"hold": {"type": "integer", "minimum": 0, "maximum": 100, "default": 60, "description": "held from this score"},
                   "normal": {"type": "integer", "minimum": 0, "maximum": 100, "default": 10, "description": "reviewed as usual from this score"},
                   "known_after": {"type": "integer", "minimum": 0, "maximum": 100, "default": 3,
                                   "description": "earlier invoices before a supplier's may be approved without a person"}},
}  # fmt: skip
OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/risk/settings": {
        "get": {"operationId": "getRiskSettings", "summary": "The tenant's risk thresholds",
                "responses": {"200": {"description": "The thresholds", "content": {"application/json": {"schema": SETTINGS}}},
                              **error_responses(UNAUTHORIZED)}},
        "put": {"operationId": "putRiskSettings", "summary": "Set the tenant's risk thresholds",
                "requestBody": {"required": True, "content": {"application/json": {"schema": SETTINGS}}},
                "responses": {"200": {"description": "The thresholds stored", "content": {"application/json": {"schema": SETTINGS}}},
                              **error_responses({400: "Malformed JSON", **UNAUTHORIZED, 415: "Not JSON", 422: "Refused: each problem named"})}},
    },
    "/api/v1/invoices/{invoice_id}/risk": {
        "get": {
            "operationId": "getInvoiceRisk", "summary": "An incoming invoice's anomaly and fraud checks",
            "parameters": [{"name": "invoice_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}],
            "responses": {"200": {"description": "The assessment", "content": {"application/json": {"schema": ASSESSMENT}}},
                          **error_responses({**UNAUTHORIZED, 404: "Unknown invoice, or one without an assessment"})},
        }
    }
}  # fmt: skip

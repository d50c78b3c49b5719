"""/api/v1/invoices/{id}/risk: an incoming invoice's anomaly and fraud checks as they were when it arrived — its level
(auto_approve, normal, hold), score and findings, each with its explanation and evidence (docs/risk.md).
`OPENAPI_PATHS` documents the route."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from gateway.api import conventions
from gateway.api.auth import authenticate
from gateway.api.context import db_session
from gateway.api.errors import ApiError, json_response
from gateway.api.invoices import own_invoice
from gateway.api.problems import UNAUTHORIZED, error_responses
from gateway.risk import service

bp = Blueprint("risk", __name__, url_prefix="/api/v1")
bp.before_request(authenticate)
conventions.apply(bp)


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
OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/invoices/{invoice_id}/risk": {
        "get": {
            "operationId": "getInvoiceRisk", "summary": "An incoming invoice's anomaly and fraud checks",
            "parameters": [{"name": "invoice_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}],
            "responses": {"200": {"description": "The assessment", "content": {"application/json": {"schema": ASSESSMENT}}},
                          **error_responses({**UNAUTHORIZED, 404: "Unknown invoice, or one without an assessment"})},
        }
    }
}  # fmt: skip

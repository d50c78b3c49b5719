"""/api/v1/dunning: the tenant's policies (default and per buyer), a dry-run preview of the reminders due on a day,
and an invoice's reminders with their letters.  Sending is the worker's periodic run or `gateway dunning run`.
`OPENAPI_PATHS` documents the routes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from gateway.api import conventions
from gateway.api.auth import authenticate, current_tenant
from gateway.api.context import archive, config, db_session
from gateway.api.errors import ApiError, json_response
from gateway.api.invoices import json_request, own_invoice
from gateway.api.params import date_param
from gateway.api.problems import UNAUTHORIZED, error_responses
from gateway.dunning import policy, service
from gateway.dunning.models import DEFAULT, DunningPolicy, Reminder
from gateway.dunning.settings import DunningSettings
from gateway.store.models import ID_PATTERN

bp = Blueprint("dunning", __name__, url_prefix="/api/v1")
bp.before_request(authenticate)
conventions.apply(bp)


def _buyer(name: str) -> str:
    return DEFAULT if name == "default" else name


def _policy_json(row: DunningPolicy) -> dict[str, Any]:
    return {"buyer": row.buyer or None, "policy": row.body, "updated_at": row.updated_at.isoformat()}


@bp.get("/dunning/policies")
def get_policies() -> Response:
    """The tenant's policies, and the one we suggest to start from."""
    rows = service.policy_rows(db_session(), current_tenant().id)
    return json_response({"policies": [_policy_json(row) for row in rows], "suggested": policy.DEFAULT_POLICY})


@bp.put("/dunning/policies/<name>")
def put_policy(name: str) -> Response:
    """Set the default policy (`default`) or a buyer's (its SIREN): 200 with it, 422 naming every problem."""
    _, data = json_request()
    session = db_session()
    try:
        row = service.set_policy(session, current_tenant().id, data, _buyer(name))
    except policy.PolicyError as refused:
        raise ApiError(422, "invalid_policy", "The dunning policy is refused; nothing was changed.", refused.problems) from None
    session.commit()
    return json_response(_policy_json(row))


@bp.delete("/dunning/policies/<name>")
def delete_policy(name: str) -> Response:
    session = db_session()
    if not service.delete_policy(session, current_tenant().id, _buyer(name)):
        raise ApiError(404, "not_found", f"No dunning policy {name}.")
    session.commit()
    return Response(status=204)


@bp.get("/dunning/preview")
def get_preview() -> Response:
    """The reminders a run would send on `as_of` (default today): nothing is stored or sent."""
    settings = DunningSettings.from_section(config().sections.get("dunning", {}))
    as_of = date_param("as_of") or settings.today()
    planned = service.plan(db_session(), archive(), current_tenant().id, as_of, settings)
    return json_response({"as_of": as_of.isoformat(), "reminders": [item.to_json() for item in planned]})


@bp.get("/invoices/<invoice_id>/reminders")
def get_reminders(invoice_id: str) -> Response:
    """The invoice's reminders by tier: sent, failed, pending or skipped, with amounts, computation and channels' outcomes."""
    invoice = own_invoice(invoice_id)
    return json_response({"reminders": [service.reminder_json(r) for r in service.reminders_of(db_session(), invoice.id)]})


@bp.get("/invoices/<invoice_id>/reminders/<reminder_id>/letter")
def get_letter(invoice_id: str, reminder_id: str) -> Response:
    """The reminder's letter (PDF), as archived."""
    invoice = own_invoice(invoice_id)
    reminder = db_session().get(Reminder, reminder_id) if ID_PATTERN.match(reminder_id) else None
    if reminder is None or reminder.invoice_id != invoice.id or not reminder.letter_sha256:
        raise ApiError(404, "not_found", f"No letter for reminder {reminder_id}.")
    data = archive().read(reminder.letter_sha256)
    if data is None:
        raise ApiError(404, "not_found", "The letter's bytes have expired from the archive.")
    name = f"{reminder.tier}-{invoice.number}.pdf".replace('"', "")
    return Response(data, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


# ---------------------------------------------------------------------------- OpenAPI

_ANY = {"type": "object"}
_TIER = {
    "type": "object",
    "required": ["name", "days", "channels"],
    "properties": {
        "name": {"type": "string", "maxLength": 64},
        "days": {"type": "integer", "minimum": 0, "description": "Days after the due date; strictly increasing from tier to tier."},
        "channels": {"type": "array", "items": {"enum": list(policy.CHANNELS)}, "minItems": 1, "uniqueItems": True},
        "tone": {"enum": list(policy.TONES), "default": policy.FIRM, "description": "formal_notice (mise en demeure) is the last tier."},
        "claim_penalties": {"type": "boolean", "description": "Claim the late-payment penalties and the €40 indemnity (default: unless friendly)."},
        "templates": {"type": "object", "description": 'Jinja2 {"fr": {"subject": …, "body": …}, "en": …}; ours where absent.'},
    },
}
POLICY_SCHEMA = {
    "type": "object",
    "required": ["tiers"],
    "properties": {
        "tiers": {"type": "array", "items": _TIER, "minItems": 1, "maxItems": policy.MAX_TIERS},
        "language": {"enum": list(policy.LANGUAGES)},
        "email": {"type": "string", "description": "Where the reminders go instead of the buyer's address on the invoice."},
        "penalty_rate": {"type": "string", "description": "Yearly % replacing the invoice's stated rate (never below 3 × the legal rate)."},
    },
}
REMINDER_SCHEMA = {
    "type": "object",
    "required": ["id", "tier", "level", "as_of", "claimed", "penalties", "indemnity", "channels", "state"],
    "properties": {
        "id": {"type": "string"}, "invoice_id": {"type": "string"}, "tier": {"type": "string"}, "level": {"type": "integer"},
        "as_of": {"type": "string", "format": "date"}, "days_late": {"type": "integer"}, "currency": {"type": "string"},
        "claimed": {"type": "string"}, "penalties": {"type": "string"}, "indemnity": {"type": "string"},
        "channels": {"type": "array", "items": {"type": "string"}}, "state": {"enum": ["pending", "sent", "failed", "skipped"]},
        "attempts": {"type": "integer"}, "error": {"type": ["string", "null"]}, "letter_sha256": {"type": ["string", "null"]},
        "sent_at": {"type": ["string", "null"]}, "detail": _ANY,
    },
}  # fmt: skip


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}, "description": "`default`, or the buyer's SIREN"}
_INVOICE = {"name": "invoice_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/dunning/policies": {
        "get": {"operationId": "listDunningPolicies", "summary": "The tenant's dunning policies, and a suggested one",
                "responses": {"200": _json(_ANY, "Policies"), **error_responses(UNAUTHORIZED)}},
    },
    "/api/v1/dunning/policies/{name}": {
        "put": {
            "operationId": "putDunningPolicy", "summary": "Set the default dunning policy or a buyer's", "parameters": [_NAME],
            "requestBody": {"required": True, "content": {"application/json": {"schema": POLICY_SCHEMA}}},
            "responses": {"200": _json(_ANY, "The policy stored"), **error_responses({400: "Malformed JSON", **UNAUTHORIZED, 415: "Not JSON",
                                                                               422: "Refused: every problem by JSON pointer"})},
        },
        "delete": {"operationId": "deleteDunningPolicy", "summary": "Remove a dunning policy", "parameters": [_NAME],
                   "responses": {"204": {"description": "Removed"}, **error_responses({**UNAUTHORIZED, 404: "No such policy"})}},
    },
    "/api/v1/dunning/preview": {
        "get": {
            "operationId": "previewDunning", "summary": "The reminders a run would send on a day (dry run: nothing stored or sent)",
            "parameters": [{"name": "as_of", "in": "query", "schema": {"type": "string", "format": "date"}}],
            "responses": {"200": _json(_ANY, "The reminders due"), **error_responses({400: "Bad date", **UNAUTHORIZED})},
        }
    },
    "/api/v1/invoices/{invoice_id}/reminders": {
        "get": {
            "operationId": "listInvoiceReminders", "summary": "The invoice's dunning reminders", "parameters": [_INVOICE],
            "responses": {"200": _json({"type": "object", "properties": {"reminders": {"type": "array", "items": REMINDER_SCHEMA}}}, "Reminders"),
                          **error_responses({**UNAUTHORIZED, 404: "Unknown invoice"})},
        }
    },
    "/api/v1/invoices/{invoice_id}/reminders/{reminder_id}/letter": {
        "get": {
            "operationId": "getReminderLetter", "summary": "A reminder's letter (PDF)",
            "parameters": [_INVOICE, {"name": "reminder_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The letter", "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
                          **error_responses({**UNAUTHORIZED, 404: "Unknown invoice, reminder or letter"})},
        }
    },
}  # fmt: skip

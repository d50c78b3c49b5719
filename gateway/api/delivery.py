"""/api/v1: how an invoice is routed and delivered, the dead letters, and the retry of a dead letter.

- `GET /invoices/{id}/route`: the routing decision (which rule, directory entry or look-up decided, and
  every step tried) and the delivery with its attempts;
- `GET /deliveries?state=dead`: the tenant's deliveries in a state (the dead letters by default);
- `POST /deliveries/{id}/retry`: send a dead (or unroutable: routed again) delivery again.

A tenant sees and retries only its own deliveries; its API key is the admin of its deliveries.
`OPENAPI_PATHS` documents the routes for openapi.py.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request, url_for
from sqlalchemy import func, select

from gateway.api import conventions
from gateway.api.auth import authenticate, current_tenant
from gateway.api.context import db_session
from gateway.api.errors import ApiError, json_response
from gateway.api.invoices import UUID, int_param, own_invoice
from gateway.api.problems import PROBLEM_CONTENT
from gateway.jobs import outbox
from gateway.jobs.models import DEAD, PENDING, RETRYING, SANDBOX, STATES, UNROUTABLE, Delivery
from gateway.store import models as db

bp = Blueprint("delivery", __name__, url_prefix="/api/v1")
bp.before_request(authenticate)
conventions.apply(bp)  # documented query parameters only; ETag and 304

MAX_PER_PAGE = 100
NOT_ROUTED = "not-routed"


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "invoice_id": delivery.invoice_id,
        "state": delivery.state,
        "channel": delivery.channel,
        "sandbox": delivery.sandbox,
        "reason": delivery.reason,
        "document_kind": delivery.document_kind,
        "remote_id": delivery.remote_id,
        "last_error": delivery.last_error,
        "next_attempt_at": _time(delivery.next_attempt_at) if delivery.state in (PENDING, RETRYING) else None,
        "sent_at": _time(delivery.sent_at),
        "created_at": _time(delivery.created_at),
        "updated_at": _time(delivery.updated_at),
        "attempts": [
            {
                "number": a.number,
                "worker": a.worker,
                "started_at": _time(a.started_at),
                "finished_at": _time(a.finished_at),
                "channel": a.channel,
                "outcome": a.outcome,
                "transient": a.transient,
                "error_code": a.error_code,
                "error": a.error,
                "remote_id": a.remote_id,
            }
            for a in delivery.attempt_rows
        ],
        "links": {
            "invoice": url_for("api.get_invoice", invoice_id=delivery.invoice_id),
            "route": url_for("delivery.get_route", invoice_id=delivery.invoice_id),
            "retry": url_for("delivery.retry", delivery_id=delivery.id),
        },
    }


def _explanation(invoice: db.Invoice, delivery: Delivery | None) -> tuple[str, str]:
    """(state, reason) when no decision is stored yet."""
    if delivery is None:
        if invoice.state == db.STATE_REJECTED:
            return NOT_ROUTED, "The invoice was rejected at intake: a rejected invoice is never routed."
        return NOT_ROUTED, "The invoice has no delivery (it was stored before deliveries existed, or is incoming)."
    return delivery.state, "Not routed yet: a worker decides the channel when it takes the delivery."


@bp.get("/invoices/<invoice_id>/route")
def get_route(invoice_id: str) -> Response:
    """The routing decision of an invoice and its delivery."""
    invoice = own_invoice(invoice_id)
    delivery = db_session().scalars(select(Delivery).where(Delivery.invoice_id == invoice.id).order_by(Delivery.created_at.desc())).first()
    decision = (delivery.decision if delivery else None) or {}
    state, reason = (delivery.state, decision["reason"]) if decision and delivery else _explanation(invoice, delivery)
    return json_response(
        {
            "invoice_id": invoice.id,
            "state": state,
            "channel": decision.get("channel"),
            "sandbox": decision.get("channel") == SANDBOX,
            "decided_by": decision.get("decided_by"),
            "reason": reason,
            "steps": decision.get("steps", []),
            "recipient": decision.get("recipient", {}),
            "delivery": delivery_json(delivery) if delivery else None,
        }
    )


def _own_delivery(delivery_id: str) -> Delivery:
    delivery = db_session().get(Delivery, delivery_id) if UUID.match(delivery_id) else None
    if delivery is None or delivery.tenant_id != current_tenant().id:
        raise ApiError(404, "not_found", f"No delivery {delivery_id}.")
    return delivery


@bp.get("/deliveries")
def list_deliveries() -> Response:
    """The tenant's deliveries in one state (default: dead, the dead letters), latest change first."""
    state = request.args.get("state") or DEAD
    if state not in STATES:
        raise ApiError(400, "bad_request", f"Query parameter state must be one of {', '.join(STATES)}.", [("?state", "unknown state")])
    page, per_page = int_param("page", 1, 1, 100_000), int_param("per_page", 20, 1, MAX_PER_PAGE)
    filters = [Delivery.tenant_id == current_tenant().id, Delivery.state == state]
    session = db_session()
    total = session.scalar(select(func.count()).select_from(Delivery).where(*filters)) or 0
    rows = session.scalars(
        select(Delivery).where(*filters).order_by(Delivery.updated_at.desc(), Delivery.id).limit(per_page).offset((page - 1) * per_page)
    ).all()
    has_next = page * per_page < total
    return json_response(
        {
            "items": [delivery_json(row) for row in rows],
            "page": page,
            "per_page": per_page,
            "total": total,
            "next": url_for("delivery.list_deliveries", state=state, page=page + 1, per_page=per_page) if has_next else None,
        }
    )


@bp.post("/deliveries/<delivery_id>/retry")
def retry(delivery_id: str) -> Response:
    """Make a dead or unroutable delivery due now, with a fresh attempt budget."""
    session = db_session()
    delivery = _own_delivery(delivery_id)
    try:
        outbox.retry(session, delivery)
    except outbox.NotRetryable as exc:
        raise ApiError(409, "not_retryable", str(exc)) from None
    session.commit()
    return json_response(delivery_json(delivery))


# ---------------------------------------------------------------------------- OpenAPI

_STRING, _NULLABLE_STRING = {"type": "string"}, {"type": ["string", "null"]}
_TIME, _NULLABLE_TIME = {"type": "string", "format": "date-time"}, {"type": ["string", "null"], "format": "date-time"}


def _closed(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": list(properties), "properties": properties}


_STATE = {
    "enum": list(STATES),
    "description": "pending (waiting for a worker), sending (claimed), sent, failed-retrying (after a transient failure, at "
    "next_attempt_at), dead (a dead letter: permanent failure, refusal by the network, or attempts exhausted), unroutable.",
}
ATTEMPT_SCHEMA = _closed(
    {
        "number": {"type": "integer", "minimum": 1},
        "worker": _STRING,
        "started_at": _TIME,
        "finished_at": {**_NULLABLE_TIME, "description": "null while in flight"},
        "channel": _NULLABLE_STRING,
        "outcome": {
            "enum": ["sent", "rejected", "failed", "interrupted", "unroutable", "gave-up", None],
            "description": "interrupted: the worker died (crash, kill) before recording an outcome; the delivery was taken again.",
        },
        "transient": {"type": ["boolean", "null"], "description": "For a failure: whether retrying could help."},
        "error_code": _NULLABLE_STRING,
        "error": _NULLABLE_STRING,
        "remote_id": _NULLABLE_STRING,
    }
)
DELIVERY_SCHEMA = _closed(
    {
        "id": {"type": "string", "format": "uuid"},
        "invoice_id": {"type": "string", "format": "uuid"},
        "state": _STATE,
        "channel": {**_NULLABLE_STRING, "description": "chorus_pro, peppol, email, sandbox …; null until routed"},
        "sandbox": {
            "type": "boolean",
            "description": "Delivered to the sandbox's simulated recipient: nothing left the gateway, its statuses are played back.",
        },
        "reason": {
            **_NULLABLE_STRING,
            "description": "For a dead letter or an unroutable delivery: what happened and what to do about it; null otherwise.",
        },
        "document_kind": {"enum": ["facturx", "ubl", "cii", "ubl-peppol", None], "description": "ubl-peppol: the Peppol BIS 3.0 / French CIUS UBL"},
        "remote_id": {**_NULLABLE_STRING, "description": "The network's id: SMTP Message-ID, Chorus Pro numeroFluxDepot, SBDH InstanceIdentifier."},
        "last_error": _NULLABLE_STRING,
        "next_attempt_at": {**_NULLABLE_TIME, "description": "When a pending or retrying delivery is due."},
        "sent_at": _NULLABLE_TIME,
        "created_at": _TIME,
        "updated_at": _TIME,
        "attempts": {"type": "array", "items": ATTEMPT_SCHEMA},
        "links": _closed({"invoice": _STRING, "route": _STRING, "retry": _STRING}),
    }
)
STEP_SCHEMA = _closed(
    {
        "step": {"enum": ["rule", "directory", "heuristic", "peppol", "email", "default", "sandbox"]},
        "outcome": {"enum": ["decided", "no-match", "skipped", "not-found"]},
        "detail": _STRING,
    }
)
ROUTE_SCHEMA = _closed(
    {
        "invoice_id": {"type": "string", "format": "uuid"},
        "state": {**_STATE, "enum": [*STATES, NOT_ROUTED]},
        "channel": _NULLABLE_STRING,
        "sandbox": {"type": "boolean", "description": "Routed to the sandbox (the tenant has no real channel configured yet)."},
        "decided_by": {"enum": ["rule", "directory", "heuristic", "peppol", "email", "default", "sandbox", None]},
        "reason": {**_STRING, "description": "Which rule, directory entry or look-up decided, or why nothing did."},
        "steps": {"type": "array", "items": STEP_SCHEMA, "description": "Every step tried, in order."},
        "recipient": {"type": "object", "additionalProperties": _STRING, "description": "Recipient data the deciding step supplied."},
        "delivery": {"oneOf": [DELIVERY_SCHEMA, {"type": "null"}]},
    }
)
DELIVERY_LIST_SCHEMA = _closed(
    {
        "items": {"type": "array", "items": DELIVERY_SCHEMA},
        "page": {"type": "integer"},
        "per_page": {"type": "integer"},
        "total": {"type": "integer"},
        "next": _NULLABLE_STRING,
    }
)


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}


def _query_param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


_UNAUTHORIZED = {"description": "Missing, unknown or revoked API key", "content": PROBLEM_CONTENT}
OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/invoices/{invoice_id}/route": {
        "get": {
            "operationId": "getInvoiceRoute",
            "summary": "How the invoice is routed and delivered",
            "description": "The channel, which step decided it (a routing rule, the directory, the public-SIREN heuristic, a Peppol "
            "SML/SMP look-up, the buyer's e-mail, a default rule, or the sandbox while the tenant has no real channel) and every step "
            "tried; an unroutable invoice lists why each step gave nothing, and its reason says what would reach the buyer.  With the "
            "delivery and its attempts.",
            "parameters": [_path_param("invoice_id")],
            "responses": {
                "200": {"description": "The routing decision", "content": {"application/json": {"schema": ROUTE_SCHEMA}}},
                "401": _UNAUTHORIZED,
                "404": {"description": "No such invoice for this tenant", "content": PROBLEM_CONTENT},
            },
        }
    },
    "/api/v1/deliveries": {
        "get": {
            "operationId": "listDeliveries",
            "summary": "Deliveries in a state (the dead letters by default)",
            "parameters": [
                _query_param("state", "Delivery state (default dead).", {"enum": list(STATES), "default": DEAD}),
                _query_param("page", "Page number, from 1.", {"type": "integer", "minimum": 1, "default": 1}),
                _query_param("per_page", "Deliveries per page.", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 20}),
            ],
            "responses": {
                "200": {"description": "One page, latest change first", "content": {"application/json": {"schema": DELIVERY_LIST_SCHEMA}}},
                "400": {"description": "Bad query parameter", "content": PROBLEM_CONTENT},
                "401": _UNAUTHORIZED,
            },
        }
    },
    "/api/v1/deliveries/{delivery_id}/retry": {
        "post": {
            "operationId": "retryDelivery",
            "summary": "Send a dead letter again",
            "description": f"A dead delivery is due again at once on its channel, with a fresh attempt budget; an {UNROUTABLE} one is "
            "routed again (after the directory or the rules were fixed).  The idempotency key stays the same, so a network that "
            "already has the invoice does not get it twice.",
            "parameters": [_path_param("delivery_id")],
            "responses": {
                "200": {"description": "The delivery, pending again", "content": {"application/json": {"schema": DELIVERY_SCHEMA}}},
                "401": _UNAUTHORIZED,
                "404": {"description": "No such delivery for this tenant", "content": PROBLEM_CONTENT},
                "409": {"description": "Neither dead nor unroutable", "content": PROBLEM_CONTENT},
            },
        }
    },
}

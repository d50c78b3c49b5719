"""/api/v1/invoices/{id}/statuses: an invoice's lifecycle timeline, and the statuses a party sets itself.

The tenant is the seller of its outgoing invoices and the buyer of its incoming ones: it may set
the statuses its side emits (codes.STATUSES[…].emitters) among the party statuses 204–212, and
nothing else (403).  A change the reform's rules refuse is a 422; one that may not follow the
invoice's status (after 210 Refusée, out of order …) is a 409 and nothing is recorded.  The request
body is archived as the message that carried the change.  `OPENAPI_PATHS` documents the routes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, url_for
from jsonschema import Draft202012Validator

from gateway import intake
from gateway.api import conventions
from gateway.api.auth import authenticate, current_tenant
from gateway.api.context import archive, db_session
from gateway.api.errors import ApiError, json_response
from gateway.api.idempotency import idempotent
from gateway.api.invoices import json_request, own_invoice
from gateway.api.problems import error_responses
from gateway.lifecycle import codes, parties, service
from gateway.lifecycle.events import Amount, StatusChange
from gateway.lifecycle.models import LifecycleEvent
from gateway.store import models as db

bp = Blueprint("statuses", __name__, url_prefix="/api/v1")
bp.before_request(authenticate)
conventions.apply(bp)  # documented query parameters only; ETag and 304

MAX_CLOCK_SKEW = timedelta(minutes=5)

_DECIMAL = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
_TEXT = {"type": "string", "minLength": 1, "maxLength": 1000}
AMOUNT_INPUT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["amount"],
    "properties": {
        "type": {"enum": sorted(codes.AMOUNT_TYPES), "description": "MDT-207; default MEN (collected) for 212, MPA (paid) for 211."},
        "amount": {**_DECIMAL, "description": "MDT-215, incl. VAT; negative on 212 for a disbursement (with a comment)."},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "description": "Default: the invoice's currency."},
        "vat_rate": {**_DECIMAL, "description": "MDT-224, percent; required for each amount collected (212)."},
        "date": {"type": "string", "format": "date", "description": "MDT-219: when it was paid or collected."},
    },
}
STATUS_INPUT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["code"],
    "properties": {
        "code": {"enum": list(codes.PARTY_STATUSES), "description": "204 … 212 (see the labels in the timeline)."},
        "time": {"type": "string", "format": "date-time", "description": "When it was set, with its zone; default now."},
        "reason_code": {"type": "string", "enum": sorted(codes.REASONS), "description": "MDT-113; required for 206, 207, 208, 210."},
        "reason": {**_TEXT, "description": "MDT-114, free text."},
        "action_code": {"enum": sorted(codes.ACTIONS), "description": "MDT-121: what the emitter asks for (NIN: a rectifying invoice …)."},
        "comment": {**_TEXT, "maxLength": 5000, "description": "MDT-126; required for 208 and 210."},
        "amounts": {"type": "array", "maxItems": 50, "items": AMOUNT_INPUT, "description": "212: the amount collected split by VAT rate."},
    },
}
_validator = Draft202012Validator(STATUS_INPUT, format_checker=Draft202012Validator.FORMAT_CHECKER)


# ---------------------------------------------------------------------------- representations


def _amount_json(amount: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": amount["type_code"],
        "amount": amount.get("amount"),
        "currency": amount.get("currency"),
        "vat_rate": amount.get("vat_rate"),
        "date": amount.get("value_date"),
    }


def event_json(event: db.StatusEvent, life: LifecycleEvent | None, *, stated_early: bool = False) -> dict[str, Any]:
    """One timeline entry.  An event without a lifecycle row is the gateway's own (the intake's deposit): applied.

    `stated_early`: its stated time precedes an event recorded before it (`service.stated_early`)."""
    change = event.detail if life is not None and event.detail else {}
    status = codes.STATUSES.get(event.code)
    return {
        "id": event.id,
        "code": event.code,
        "label": event.label,
        "label_en": status.label_en if status else None,
        "mandatory": bool(status and status.mandatory),
        "time": event.time.isoformat(),
        "recorded_at": event.recorded_at.isoformat(),
        "stated_early": stated_early,
        "source": event.source,
        "role": life.role if life else (min(status.emitters) if status else None),
        "actor": life.actor if life else "gateway",
        "applied": life.applied if life else True,
        "flag": life.flag if life else None,
        "reason_code": change.get("reason_code"),
        "reason": change.get("reason"),
        "action_code": change.get("action_code"),
        "comment": change.get("comment"),
        "amounts": [_amount_json(amount) for amount in change.get("amounts", ())],
        "message": {"sha256": life.message_sha256, "content_type": life.message_type} if life and life.message_sha256 else None,
        "detail": event.detail if life is None else None,
    }


def _links(row: db.Invoice) -> dict[str, str]:
    return {"self": url_for("statuses.get_statuses", invoice_id=row.id), "invoice": url_for("api.get_invoice", invoice_id=row.id)}


# ---------------------------------------------------------------------------- reading the request


def _invalid(details: list[tuple[str, str]]) -> ApiError:
    return ApiError(422, "invalid_status", f"The status does not fit the status format ({len(details)} problem(s)).", details)


def _time(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _invalid([("/time", "not an RFC 3339 date-time")]) from None
    if moment.tzinfo is None:
        raise _invalid([("/time", "the time zone is required")])
    if moment > datetime.now(UTC) + MAX_CLOCK_SKEW:
        raise _invalid([("/time", "a status cannot be set in the future")])
    return moment


def _change(data: Any, row: db.Invoice) -> StatusChange:
    """The change a request body describes, the tenant's role on the invoice as emitter."""
    problems = sorted({(d.pointer, d.message) for error in _validator.iter_errors(data) for d in intake.schema_error_details(error)})
    if problems:
        raise _invalid(problems)
    texts = [(f"/{name}", data[name]) for name in ("reason", "comment") if name in data]
    bad = [(pointer, "contains characters that XML cannot carry") for pointer, text in texts if not intake.xml_safe(text)]
    if bad:
        raise _invalid(bad)
    code = data["code"]
    amounts = tuple(
        Amount(
            type_code=item.get("type", parties.DEFAULT_AMOUNT_TYPE.get(code, codes.PAID)),
            amount=Decimal(item["amount"]),
            currency=item.get("currency", row.currency),
            vat_rate=Decimal(item["vat_rate"]) if "vat_rate" in item else None,
            value_date=date.fromisoformat(item["date"]) if "date" in item else None,
        )
        for item in data.get("amounts", ())
    )
    return StatusChange(
        code=code,
        at=_time(data.get("time")),
        role=parties.role_on(row.direction),
        reason_code=data.get("reason_code"),
        reason=data.get("reason"),
        action_code=data.get("action_code"),
        comment=data.get("comment"),
        amounts=amounts,
    )


# ---------------------------------------------------------------------------- routes


@bp.get("/invoices/<invoice_id>/statuses")
def get_statuses(invoice_id: str) -> Response:
    """The invoice's lifecycle: every event (applied or flagged, with who, why and the message) and the PPF deadlines."""
    row, session = own_invoice(invoice_id), db_session()
    now = datetime.now(UTC)
    events = service.timeline(session, row)
    early = service.stated_early(event for event, _ in events)
    return json_response(
        {
            "invoice": {"id": row.id, "direction": row.direction, "number": row.number, "state": row.state},
            "status": row.status,
            "status_label": row.status_label,
            "events": [event_json(event, life, stated_early=event.id in early) for event, life in events],
            "deadlines": [d.to_dict(now) for d in service.deadlines_of(session, row.tenant_id, row.id)],
            "payment": position.to_dict() if (position := service.balance(session, archive(), row)) else None,
            "links": _links(row),
        }
    )


@bp.post("/invoices/<invoice_id>/statuses")
@idempotent
def post_status(invoice_id: str) -> Response:
    """Set a status the tenant's side emits (204 … 212): 201 with the recorded event."""
    row = own_invoice(invoice_id)
    raw, data = json_request()
    change = _change(data, row)
    parties.check_emitter(change, row.direction)
    recorded = service.record(
        db_session(),
        archive(),
        row,
        change,
        source=service.SOURCE_API,
        actor=f"tenant:{current_tenant().id}",
        message=raw,
        message_type="application/json",
        strict=True,
    )
    links = _links(row)
    early = recorded.event.id in service.stated_early(event for event, _ in service.timeline(db_session(), row))
    body = {
        **event_json(recorded.event, recorded.lifecycle, stated_early=early),
        **{"status": row.status, "status_label": row.status_label, "links": links},
    }
    return json_response(body, 201, {"Location": links["self"]})


# ---------------------------------------------------------------------------- OpenAPI

_STRING, _NULLABLE_STRING = {"type": "string"}, {"type": ["string", "null"]}
_NULLABLE_DECIMAL = {"type": ["string", "null"], "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
EVENT_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer"},
    "code": {**_STRING, "description": 'Lifecycle status code ("200" … "228"), or "rejected" for the intake\'s rejection.'},
    "label": _STRING,
    "label_en": _NULLABLE_STRING,
    "mandatory": {"type": "boolean", "description": "One of 200, 210, 212, 213: reported to the PPF."},
    "time": {"type": "string", "format": "date-time", "description": "When its emitter says it happened (a partner's clock)."},
    "recorded_at": {"type": "string", "format": "date-time", "description": "When the gateway recorded it; events are listed in this order."},
    "stated_early": {
        "type": "boolean",
        "description": "Its stated time precedes an event recorded before it (the emitter's clock, a message held back): applied in "
        "the order received, its time kept as given.",
    },
    "source": {**_STRING, "description": "api, gateway, gateway-intake, payment, partner, ppf, sandbox (the simulated recipient) …"},
    "role": {**_NULLABLE_STRING, "description": "Who emits it: SE seller, BY buyer, WK platform, DFH PPF, DL factor."},
    "actor": {**_STRING, "description": "Who told the gateway: tenant:<id>, a partner platform, gateway."},
    "applied": {"type": "boolean", "description": "False: flagged (out of order, after the end of the invoice's life …), recorded, not applied."},
    "flag": {**_NULLABLE_STRING, "description": "Why a flagged event was not applied."},
    "reason_code": _NULLABLE_STRING,
    "reason": _NULLABLE_STRING,
    "action_code": _NULLABLE_STRING,
    "comment": _NULLABLE_STRING,
    "amounts": {
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["type", "amount", "currency", "vat_rate", "date"],
            "properties": {
                "type": _STRING,
                "amount": _NULLABLE_DECIMAL,
                "currency": _NULLABLE_STRING,
                "vat_rate": _NULLABLE_DECIMAL,
                "date": {"type": ["string", "null"], "format": "date"},
            },
        },
    },
    "message": {
        "description": "The archived message that carried the change (SHA-256 in the archive).",
        "oneOf": [
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["sha256", "content_type"],
                "properties": {"sha256": _STRING, "content_type": _NULLABLE_STRING},
            },
            {"type": "null"},
        ],
    },
    "detail": {"type": ["object", "null"], "description": "For the gateway's own events (intake): the validation summary."},
}
_LINKS = {"type": "object", "additionalProperties": False, "required": ["self", "invoice"], "properties": {"self": _STRING, "invoice": _STRING}}
EVENT_SCHEMA = {"type": "object", "additionalProperties": False, "required": list(EVENT_PROPERTIES), "properties": EVENT_PROPERTIES}
DEADLINE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["kind", "event", "status", "due", "done_at", "late"],
    "properties": {
        "kind": {"enum": ["F1", "F6"], "description": "F1: regulatory data within 24 h of 200; F6: a mandatory status within 24 h of its time."},
        "event": {"type": "integer"},
        "status": _STRING,
        "due": {"type": "string", "format": "date-time"},
        "done_at": {"type": ["string", "null"], "format": "date-time"},
        "late": {"type": "boolean"},
    },
}
_MONEY = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
PAYMENT_SCHEMA = {
    "description": "What the invoice asks for (incl. VAT, BT-115 in total), what its applied 212 Encaissée events collected and what is "
    "still due, in total and per VAT rate; null when the invoice's canonical form is not stored.",
    "oneOf": [
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["currency", "due", "collected", "still_due", "by_vat_rate"],
            "properties": {
                "currency": _STRING,
                "due": _MONEY,
                "collected": _MONEY,
                "still_due": _MONEY,
                "by_vat_rate": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["vat_rate", "due", "collected", "still_due"],
                        "properties": {"vat_rate": _MONEY, "due": _MONEY, "collected": _MONEY, "still_due": _MONEY},
                    },
                },
            },
        },
        {"type": "null"},
    ],
}
TIMELINE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["invoice", "status", "status_label", "events", "deadlines", "payment", "links"],
    "properties": {
        "invoice": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "direction", "number", "state"],
            "properties": {"id": _STRING, "direction": _STRING, "number": _STRING, "state": _STRING},
        },
        "status": _STRING,
        "status_label": _STRING,
        "events": {"type": "array", "items": EVENT_SCHEMA},
        "deadlines": {"type": "array", "items": DEADLINE_SCHEMA},
        "payment": PAYMENT_SCHEMA,
        "links": _LINKS,
    },
}
RECORDED_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": [*EVENT_PROPERTIES, "status", "status_label", "links"],
    "properties": {**EVENT_PROPERTIES, "status": _STRING, "status_label": _STRING, "links": _LINKS},
}
_INVOICE_ID = {"name": "invoice_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retrying with the same key and request replays the first answer.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/invoices/{invoice_id}/statuses": {
        "get": {
            "operationId": "getInvoiceStatuses",
            "summary": "The invoice's lifecycle timeline and PPF deadlines",
            "description": "Every status event in the order recorded — applied or flagged (recorded, not applied: out of order, after the end of "
            "the invoice's life) — with who set it, its reason, comment and amounts, and the archived message that carried it; and the "
            "24-hour deadlines toward the PPF (F1 regulatory data after 200, F6 for each mandatory status), late or not.",
            "parameters": [_INVOICE_ID],
            "responses": {
                "200": {"description": "The timeline", "content": {"application/json": {"schema": TIMELINE_SCHEMA}}},
                **error_responses({401: "Missing, unknown or revoked API key", 404: "Unknown invoice (or another tenant's)"}),
            },
        },
        "post": {
            "operationId": "setInvoiceStatus",
            "summary": "Set a status your side emits: 204–208 and 210–211 as buyer, 209, 211 and 212 as seller",
            "description": "The tenant is the seller of its outgoing invoices and the buyer of its incoming ones.  The reform's rules "
            "apply: a reason code for 206, 207, 208 and 210 (from the list allowed for that status), a comment for 208 and 210, and for 212 "
            "the amount collected split by VAT rate.  210 Refusée ends the invoice's life; 208 ↔ 209 may loop; 211 and 212 may repeat, once "
            "the invoice was delivered (201 or later: 409 before).  The amounts of every 212 of the invoice add up, and at each VAT rate "
            "never exceed what the invoice asks for at that rate (incl. VAT), nor in total its amount due; a rate the invoice does not "
            "have is refused (422).  The timeline's `payment` says what is still due.",
            "parameters": [_INVOICE_ID, _IDEMPOTENCY_KEY],
            "requestBody": {"required": True, "content": {"application/json": {"schema": STATUS_INPUT}}},
            "responses": {
                "201": {
                    "description": "Recorded and applied",
                    "headers": {"Location": {"schema": _STRING}},
                    "content": {"application/json": {"schema": RECORDED_SCHEMA}},
                },
                **error_responses(
                    {
                        400: "Malformed JSON",
                        401: "Missing, unknown or revoked API key",
                        403: "A status the other side sets",
                        404: "Unknown invoice (or another tenant's)",
                        409: "Illegal transition from the invoice's status, an invoice rejected at intake, or an Idempotency-Key reused",
                        415: "Not application/json",
                        422: "Not in the status format, or against the reform's rules (missing reason, comment or amounts …)",
                    }
                ),
            },
        },
    }
}

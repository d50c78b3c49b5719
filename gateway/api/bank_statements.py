"""/api/v1/bank-statements and payments: import a statement file, an invoice's payment state, a person's decisions on a line.

The body of POST /bank-statements is the raw file (camt.053, camt.054 or MT940, detected); the tenant is the API
key's.  A malformed file is a 422 naming the line or element, and nothing is imported.  `OPENAPI_PATHS` documents the routes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from gateway.api import conventions
from gateway.api.auth import authenticate, current_tenant
from gateway.api.context import archive, database, db_session
from gateway.api.errors import ApiError, json_response
from gateway.api.invoices import json_request, own_invoice
from gateway.api.problems import UNAUTHORIZED, error_responses
from gateway.payments import effects, review, service
from gateway.payments import models as pm

# RFC 9457 problem details, as gateway.api.problems documents them (not imported: this module only names the component).

bp = Blueprint("bank_statements", __name__, url_prefix="/api/v1")
bp.before_request(authenticate)
conventions.apply(bp)

DECISION_STATUS = {"already_matched": 409, "dismissed": 409, "not_matched": 409, "invalid_decision": 422}
MAX_ID = 2**31 - 1  # the largest integer id on every database


def line_json(line: pm.BankLine) -> dict[str, Any]:
    shown = [m for m in line.matches if m.state in (pm.APPLIED, pm.PROPOSED)]
    return {
        "id": line.id,
        "position": line.position,
        "amount": str(line.amount),
        "currency": line.currency,
        "booking_date": line.booking_date.isoformat() if line.booking_date else None,
        "remittance": line.remittance,
        "payer_name": line.payer_name,
        "state": line.state,
        "dismissal": line.dismissal,
        "matches": [
            {
                "id": m.id,
                "invoice_id": m.invoice_id,
                "amount": str(m.amount),
                "written_off": str(m.written_off),
                "discount": str(m.discount),
                "rule": m.rule,
                "score": m.score,
                "evidence": m.evidence,
                "state": m.state,
                "decided_by": m.decided_by,
            }
            for m in shown
        ],
    }


@bp.post("/bank-statements")
def post_statement() -> Response:
    """Import a statement file: 201 with its lines (new ones matched), 200 when every line was already imported."""
    data = request.get_data(cache=False)
    if not data:
        raise ApiError(400, "empty_body", "Send the statement file as the request body.")
    if len(data) > service.MAX_STATEMENT_BYTES:
        raise ApiError(413, "too_large", f"A statement file is at most {service.MAX_STATEMENT_BYTES} bytes.")
    tenant_id = current_tenant().id
    result = service.import_file(database(), archive(), tenant_id, data)
    session = db_session()
    ids = [line.id for line in result.new_lines]
    lines = [session.get(pm.BankLine, i) for i in ids]
    body = {
        "statements": [{"id": s.id, "format": s.format, "statement_ref": s.statement_ref, "account": s.account} for s in result.statements],
        "imported": len(ids),
        "already_imported": result.skipped,
        "lines": [line_json(line) for line in lines if line is not None],
    }
    return json_response(body, 201 if ids else 200)


@bp.get("/invoices/<invoice_id>/payment")
def get_payment(invoice_id: str) -> Response:
    """The invoice's payment state (unpaid, partially_paid, paid, over_paid) and its payments with their bank line and rule."""
    return json_response(effects.position(db_session(), own_invoice(invoice_id)))


def _own_line(line_id: int) -> pm.BankLine:
    line = db_session().get(pm.BankLine, line_id) if 0 < line_id <= MAX_ID else None  # a larger number names nothing (and overflows)
    if line is None or line.tenant_id != current_tenant().id:
        raise ApiError(404, "not_found", f"No bank line {line_id}.")
    return line


@bp.post("/bank-lines/<int:line_id>/decision")
def post_decision(line_id: int) -> Response:
    """A person's decision: `{"confirm": [invoice ids]}`, `{"reject": invoice id}`, `{"dismiss": why}` or `{"undo": true}`; never overridden later."""
    line, session = _own_line(line_id), db_session()
    _, data = json_request()
    actor = f"tenant:{current_tenant().id}"
    if not isinstance(data, dict) or len(data) != 1 or not ({"confirm", "reject", "dismiss", "undo"} & set(data)):
        raise ApiError(422, "invalid_decision", 'Send {"confirm": [invoice ids]}, {"reject": "invoice id"}, {"dismiss": "why"} or {"undo": true}.')
    try:
        if "confirm" in data:
            ids = data["confirm"]
            if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
                raise ApiError(422, "invalid_decision", "confirm: a non-empty list of invoice ids.")
            review.confirm(session, archive(), line, ids, actor=actor)
        elif "reject" in data:
            if not isinstance(data["reject"], str):
                raise ApiError(422, "invalid_decision", "reject: an invoice id.")
            review.reject(session, line, data["reject"], actor=actor)
        elif "dismiss" in data:
            if not isinstance(data["dismiss"], str):
                raise ApiError(422, "invalid_decision", "dismiss: why the line pays no invoice.")
            review.dismiss(session, line, data["dismiss"], actor=actor)
        else:
            review.undo(session, archive(), line, actor=actor)
    except review.DecisionRefused as refused:
        raise ApiError(DECISION_STATUS[refused.code], refused.code, refused.message) from None
    session.commit()
    return json_response(line_json(line))


# ---------------------------------------------------------------------------- OpenAPI

_ANY = {"type": "object"}
_LINE = {
    "type": "object",
    "required": ["id", "position", "amount", "currency", "state", "matches"],
    "properties": {
        "id": {"type": "integer"},
        "position": {"type": "string", "description": "Where the line is in its file (element path or MT940 field)."},
        "amount": {"type": "string", "description": "Signed: a credit is positive."},
        "currency": {"type": "string"},
        "booking_date": {"type": ["string", "null"], "format": "date"},
        "remittance": {"type": ["string", "null"]},
        "payer_name": {"type": ["string", "null"]},
        "state": {"enum": [pm.UNMATCHED, pm.MATCHED, pm.REVIEW, pm.DECIDED, pm.DISMISSED]},
        "dismissal": {"type": ["string", "null"], "description": "Why a person set the line aside as paying no invoice."},
        "matches": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "invoice_id", "amount", "rule", "score", "evidence", "state", "decided_by"],
                "properties": {
                    "id": {"type": "integer"},
                    "invoice_id": {"type": "string"},
                    "amount": {"type": "string", "description": "Negative on a credit note netted by the payment."},
                    "written_off": {"type": "string", "description": "Bank fees or a small difference within the tolerance."},
                    "discount": {"type": "string", "description": "An early-payment discount granted by the invoice's terms, paid in time."},
                    "rule": {
                        "type": "string",
                        "description": (
                            "creditor_reference, end_to_end_id, text_reference(s), learned_reference, payer_amount, grouped_payment,"
                            " credit_note_netted, amount_only, person"
                        ),
                    },
                    "score": {"type": "number"},
                    "evidence": _ANY,
                    "state": {"enum": [pm.APPLIED, pm.PROPOSED]},
                    "decided_by": {"type": "string"},
                },
            },
        },
    },
}
IMPORTED_SCHEMA = {
    "type": "object",
    "required": ["statements", "imported", "already_imported", "lines"],
    "properties": {
        "statements": {"type": "array", "items": _ANY},
        "imported": {"type": "integer"},
        "already_imported": {"type": "integer"},
        "lines": {"type": "array", "items": _LINE},
    },
}
PAYMENT_SCHEMA = {
    "type": "object",
    "required": ["status", "amount_due", "amount_paid", "still_due", "payments"],
    "properties": {
        "status": {"enum": [effects.UNPAID, effects.PARTIALLY_PAID, effects.PAID, effects.OVER_PAID]},
        "amount_due": {"type": "string"},
        "amount_paid": {"type": "string"},
        "discount": {"type": "string", "description": "Early-payment discounts granted: not paid, but settled."},
        "still_due": {"type": "string"},
        "payments": {"type": "array", "items": _ANY},
    },
}


OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/bank-statements": {
        "post": {
            "operationId": "importBankStatement",
            "summary": "Import a bank statement (camt.053, camt.054 001.02–001.08, MT940) and match its lines to invoices",
            "description": "The raw file as body, its format detected.  Idempotent: a statement or line already imported adds nothing "
            "(200).  New credit lines are matched by ordered rules (creditor reference, end-to-end id, numbers in the remittance text, "
            "payer and amount, grouped payments); a match above the threshold is applied (212 Encaissée when the invoice is fully paid), "
            "else proposed for review.  A malformed file imports nothing and names the line or element.",
            "requestBody": {"required": True, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
            "responses": {
                "201": {"description": "Imported", "content": {"application/json": {"schema": IMPORTED_SCHEMA}}},
                "200": {"description": "Every line was already imported", "content": {"application/json": {"schema": IMPORTED_SCHEMA}}},
                **error_responses(
                    {
                        400: "Empty body, or XML refused",
                        **UNAUTHORIZED,
                        413: "Too large",
                        415: "Not a supported statement format",
                        422: "Malformed statement",
                    }
                ),
            },
        }
    },
    "/api/v1/invoices/{invoice_id}/payment": {
        "get": {
            "operationId": "getInvoicePayment",
            "summary": "The invoice's payment state and payments",
            "parameters": [{"name": "invoice_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}],
            "responses": {
                "200": {"description": "Payment state", "content": {"application/json": {"schema": PAYMENT_SCHEMA}}},
                **error_responses({**UNAUTHORIZED, 404: "Unknown invoice (or another tenant's)"}),
            },
        }
    },
    "/api/v1/bank-lines/{line_id}/decision": {
        "post": {
            "operationId": "decideBankLine",
            "summary": "A person's decision on a bank line: confirm invoices, reject one, dismiss the line, or undo",
            "description": (
                'One of {"confirm": [invoice ids]}, {"reject": "invoice id"}, {"dismiss": "why the line pays no invoice"} or'
                ' {"undo": true}.  Never overridden by a later automatic run.  Undo records a 212 giving back what the match'
                " collected; undoing a dismissal puts the line back in the queue."
            ),
            "parameters": [{"name": "line_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ANY}}},
            "responses": {
                "200": {"description": "The line after the decision", "content": {"application/json": {"schema": _LINE}}},
                **error_responses(
                    {
                        400: "Malformed JSON",
                        **UNAUTHORIZED,
                        404: "Unknown bank line or invoice",
                        409: "Already matched or dismissed, or nothing to undo",
                        415: "Not application/json",
                        422: "Not a decision",
                    }
                ),
            },
        }
    },
}

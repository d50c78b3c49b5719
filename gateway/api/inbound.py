"""/api/v1/inbound and /api/v1/inbox: partners' invoices in (API, Peppol access point), the ERP's inbox out.

`POST /inbound` receives a partner's UBL / CII / Factur-X document; `POST /inbound/peppol` an SBD handed over
by the tenant's access point (answered with the MLS to send back); `GET /inbox` lists the received invoices
the ERP has not acknowledged; `POST /inbox/{id}/ack` and `POST /inbox/ack` acknowledge them.  The reception
logic is `gateway.reception`; this module only speaks HTTP.  `OPENAPI_PATHS` documents the routes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request, url_for

from gateway.api import conventions
from gateway.api.auth import authenticate, current_tenant
from gateway.api.context import archive, config, db_session
from gateway.api.errors import ApiError, input_error_response, json_response
from gateway.api.idempotency import idempotent
from gateway.api.invoices import PDF_TYPES, XML_TYPES, int_param, invoice_summary, json_request
from gateway.api.problems import PROBLEM_CONTENT
from gateway.reception import inbox, service
from gateway.reception.models import ACCEPTED, REJECTED, Reception
from gateway.reception.peppol import InvoiceAnswer, access_point_id, receive_sbd
from gateway.store.tenants import PREFIX_LENGTH

bp = Blueprint("inbound", __name__, url_prefix="/api/v1")
bp.before_request(authenticate)
conventions.apply(bp)  # documented query parameters only; ETag and 304

MAX_LIMIT = 100
DEFAULT_LIMIT = 50
STATUSES = (ACCEPTED, REJECTED)


def _key_prefix() -> str:
    """The non-secret prefix of the request's API key (authenticated already): who sent or acknowledged."""
    return request.headers["Authorization"].partition(" ")[2].strip()[:PREFIX_LENGTH]


def entry_json(reception: Reception) -> dict[str, Any]:
    """An inbox entry: the reception, its invoice (with document links) and where to acknowledge it."""
    assert reception.invoice is not None
    return {
        **service.reception_data(reception),
        "invoice": invoice_summary(reception.invoice),
        "links": {"self": url_for("api.get_invoice", invoice_id=reception.invoice.id), "ack": url_for("inbound.ack", reception_id=reception.id)},
    }


def _unreadable(exc: service.UnreadableDocument) -> Response:
    """The answer to bytes without a readable invoice: the problem's 4xx, naming the reception that keeps them (committed)."""
    return input_error_response(exc, f"{exc.message} The bytes were kept as reception {exc.reception_id}.")


@bp.post("/inbound")
@idempotent
def receive() -> Response:
    """A partner's UBL, CII or Factur-X document: 201 with its reception (202 or 213 with reasons) and the stored invoice."""
    if request.mimetype not in XML_TYPES + PDF_TYPES:
        raise ApiError(415, "unsupported_media_type", f"Content-Type {request.mimetype or '(none)'!r} is not accepted: send XML or a PDF.")
    session, tenant = db_session(), current_tenant()
    try:
        received = service.receive(session, archive(), tenant, request.get_data(cache=True), request.mimetype, channel="api", origin=_key_prefix())
    except service.UnreadableDocument as exc:
        return _unreadable(exc)  # the idempotency wrapper commits the kept bytes with this answer
    return json_response(entry_json(received.reception), 201, {"Location": url_for("api.get_invoice", invoice_id=received.invoice.id)})


@bp.post("/inbound/peppol")
def receive_peppol() -> Response:
    """An SBD from the tenant's access point: an invoice is received and answered with the MLS to send back (application/xml);
    an MLS about one of the tenant's transmissions, or a CDAR about one of its invoices, is recorded on that invoice (JSON)."""
    session, tenant = db_session(), current_tenant()
    try:
        answer = receive_sbd(session, archive(), tenant, request.get_data(cache=True), own_id=access_point_id(config(), tenant.name))
    except service.UnreadableDocument as exc:
        session.commit()
        return _unreadable(exc)
    session.commit()
    if isinstance(answer, InvoiceAnswer):
        headers = {"X-Reception-Id": answer.reception_id, "X-Reception-Status": answer.status}
        if answer.received is not None:
            headers["Location"] = url_for("api.get_invoice", invoice_id=answer.received.invoice.id)
        return Response(answer.mls, 200, mimetype="application/xml", headers=headers)
    recorded = answer.recorded
    return json_response(
        {
            "invoice": answer.invoice.id,
            "code": answer.code,
            "outcome": recorded.decision.outcome if recorded else "already-recorded",
            "status": answer.invoice.status,
        }
    )


@bp.get("/inbox")
def list_inbox() -> Response:
    """Received invoices not acknowledged yet (all with ?all=true), oldest first; `next` continues after the last one."""
    everything = request.args.get("all", "false").lower()
    if everything not in ("true", "false"):
        raise ApiError(400, "bad_request", "Query parameter all must be true or false.", [("?all", "not a boolean")])
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        raise ApiError(400, "bad_request", f"Query parameter status must be one of {', '.join(STATUSES)}.", [("?status", "unknown status")])
    limit = int_param("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    rows = inbox.entries(
        db_session(), current_tenant().id, limit=limit, after=request.args.get("after"), acknowledged=everything == "true", status=status
    )
    query = {k: v for k, v in request.args.items() if k in ("all", "status") and v}
    following = url_for("inbound.list_inbox", after=rows[-1].id, limit=limit, **query) if len(rows) == limit else None
    return json_response({"items": [entry_json(row) for row in rows], "next": following})


@bp.post("/inbox/<reception_id>/ack")
def ack(reception_id: str) -> Response:
    """Acknowledge one inbox entry: it leaves the default listing.  Acknowledging again answers the same."""
    session = db_session()
    [row] = inbox.acknowledge(session, current_tenant().id, [reception_id], _key_prefix())
    session.commit()
    return json_response(entry_json(row))


@bp.post("/inbox/ack")
def ack_many() -> Response:
    """Acknowledge several entries at once (`{"ids": [...]}`, at most 100): all or none."""
    _raw, body = json_request()
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not 0 < len(ids) <= MAX_LIMIT or not all(isinstance(i, str) for i in ids) or set(body) != {"ids"}:
        raise ApiError(400, "bad_request", f'Send {{"ids": [...]}}: 1 to {MAX_LIMIT} inbox entry ids.', [("/ids", "1 to 100 strings")])
    session = db_session()
    rows = inbox.acknowledge(session, current_tenant().id, ids, _key_prefix())
    session.commit()
    return json_response({"items": [entry_json(row) for row in rows]})


# ---------------------------------------------------------------------------- OpenAPI

_STRING, _NULLABLE_STRING = {"type": "string"}, {"type": ["string", "null"]}
_TIME, _NULLABLE_TIME = {"type": "string", "format": "date-time"}, {"type": ["string", "null"], "format": "date-time"}


def _closed(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": list(properties), "properties": properties}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": PROBLEM_CONTENT}


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}, **({"headers": headers} if headers else {})}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


_REASON = _closed(
    {
        "code": {**_STRING, "description": "MDT-113 reason: DOUBLON, or REJ_SEMAN for a fatal finding of the official artefacts."},
        "message": _STRING,
        "rule_id": {**_NULLABLE_STRING, "description": "The rule that failed (BR-CO-16 …), or the problem's code for unreadable bytes."},
        "location": {**_NULLABLE_STRING, "description": "XPath of the offending element."},
    }
)
INBOX_ENTRY_SCHEMA = _closed(
    {
        "id": {"type": "string", "format": "uuid", "description": "The reception (the inbox entry)."},
        "channel": {"enum": ["api", "email", "peppol"]},
        "origin": {**_NULLABLE_STRING, "description": "Who sent it: API key prefix, e-mail address, Peppol sender id."},
        "status": {"enum": list(STATUSES), "description": "202 Reçue par la plateforme, or 213 Rejetée with its reasons."},
        "reasons": {"type": "array", "items": _REASON},
        "duplicate_of": {**_NULLABLE_STRING, "description": "For a DOUBLON: the invoice already known."},
        "received_at": _TIME,
        "acknowledged_at": _NULLABLE_TIME,
        "acknowledged_by": {**_NULLABLE_STRING, "description": "The prefix of the API key that acknowledged it."},
        "invoice": {"$ref": "#/components/schemas/InvoiceSummary"},
        "links": _closed({"self": {**_STRING, "description": "The invoice."}, "ack": _STRING}),
    }
)
_INBOX_ITEMS = {"type": "array", "items": INBOX_ENTRY_SCHEMA}
_ID_PARAM = {"name": "reception_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
_UNAUTHORIZED = _error("Missing, unknown or revoked API key")
OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/inbound": {
        "post": {
            "operationId": "receiveInvoice",
            "summary": "Receive a partner's invoice (UBL, CII or Factur-X), see docs/reception.md",
            "description": "The document is read and validated with the official artefacts, archived and deduplicated (seller SIREN, number, "
            "year of issue).  Answer 201 in both outcomes: status 202 (Reçue), or 213 (Rejetée) with its reasons (DOUBLON naming the "
            "invoice already known, REJ_SEMAN with the rule ids).  Bytes without a readable invoice are kept and answered with the 4xx "
            "of their problem, naming the reception that keeps them.",
            "parameters": [
                {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "minLength": 1, "maxLength": 255}}
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/xml": {"schema": {**_STRING, "description": "A UBL 2.1 Invoice / CreditNote or a CII."}},
                    "text/xml": {"schema": _STRING},
                    "application/pdf": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}},
                },
            },
            "responses": {
                "201": _json(INBOX_ENTRY_SCHEMA, "Received (202 or 213)", {"Location": {"schema": _STRING, "description": "The invoice."}}),
                "400": _error("Unsafe or malformed XML (kept)"),
                "401": _UNAUTHORIZED,
                "409": _error("Idempotency-Key reused for another request"),
                "413": _error("Body over the size limit"),
                "415": _error("Not XML or PDF, or no invoice inside (kept)"),
                "422": _error("An invoice the gateway cannot read (kept)"),
                "503": _error("An official validation artefact could not run: nothing was received"),
            },
        }
    },
    "/api/v1/inbound/peppol": {
        "post": {
            "operationId": "receivePeppol",
            "summary": "An SBD received by the tenant's Peppol access point: an invoice (answered with its MLS), an MLS or a CDAR",
            "requestBody": {"required": True, "content": {"application/xml": {"schema": {**_STRING, "description": "The SBD."}}}},
            "responses": {
                "200": {
                    "description": "For an invoice: the SBD carrying the MLS (AP or RE) to send back.  For an MLS or a CDAR: what was recorded.",
                    "headers": {
                        "X-Reception-Id": {"schema": _STRING, "description": "The reception of an invoice."},
                        "X-Reception-Status": {"schema": {"enum": ["202", "213", "unreadable"]}},
                    },
                    "content": {
                        "application/xml": {"schema": _STRING},
                        "application/json": {
                            "schema": _closed(
                                {
                                    "invoice": _STRING,
                                    "code": {**_STRING, "description": "The lifecycle status the MLS (202, 213) or the CDAR carries."},
                                    "outcome": {"enum": ["applied", "flagged", "already-recorded"]},
                                    "status": {**_STRING, "description": "The invoice's status afterwards."},
                                }
                            )
                        },
                    },
                },
                "401": _UNAUTHORIZED,
                "404": _error("An MLS or a CDAR about a transmission or an invoice this tenant does not have"),
                "413": _error("Body over the size limit"),
                "422": _error("Not an SBD (kept), an MLS that cannot be read, or a CDAR the official artefacts reject"),
            },
        }
    },
    "/api/v1/inbox": {
        "get": {
            "operationId": "listInbox",
            "summary": "Received invoices not acknowledged yet, oldest first",
            "parameters": [
                _query("all", "Acknowledged entries too.", {"type": "boolean", "default": False}),
                _query("status", "Only 202 or only 213.", {"enum": list(STATUSES)}),
                _query("after", "Continue after this entry (the `next` link does it).", {"type": "string", "format": "uuid"}),
                _query("limit", "Entries per page.", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
            ],
            "responses": {
                "200": _json(_closed({"items": _INBOX_ITEMS, "next": _NULLABLE_STRING}), "One page"),
                "400": _error("Bad parameter"),
                "401": _UNAUTHORIZED,
                "404": _error("Unknown `after` entry"),
            },
        }
    },
    "/api/v1/inbox/{reception_id}/ack": {
        "post": {
            "operationId": "ackInboxEntry",
            "summary": "Acknowledge an inbox entry (idempotent)",
            "parameters": [_ID_PARAM],
            "responses": {"200": _json(INBOX_ENTRY_SCHEMA, "The entry, acknowledged"), "401": _UNAUTHORIZED, "404": _error("Not this tenant's")},
        }
    },
    "/api/v1/inbox/ack": {
        "post": {
            "operationId": "ackInboxEntries",
            "summary": "Acknowledge several inbox entries, all or none",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": _closed(
                            {"ids": {"type": "array", "items": {"type": "string", "format": "uuid"}, "minItems": 1, "maxItems": MAX_LIMIT}}
                        )
                    }
                },
            },
            "responses": {
                "200": _json(_closed({"items": _INBOX_ITEMS}), "The entries, acknowledged"),
                "400": _error("Not a list of ids"),
                "401": _UNAUTHORIZED,
                "404": _error("One of them is not this tenant's: none acknowledged"),
            },
        }
    },
}

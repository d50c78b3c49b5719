"""RFC 9457 problem details: the body of every 4xx/5xx of the API, and the catalogue of its problem types.

An error answer is `application/problem+json`:

    {"type": "/api/problems/invalid_invoice", "title": "Invalid invoice", "status": 422,
     "detail": "The invoice does not follow the intake format.", "instance": "/api/v1/invoices",
     "code": "invalid_invoice", "errors": [{"pointer": "/lines/0/quantity", "detail": "…"}], "request_id": "…"}

`type` is a URI reference relative to the gateway (`/api/problems/<code>`): the gateway serves what it means
(`GET /api/problems/<code>`, the whole catalogue at `GET /api/problems`).  `code` is the same name as a plain
extension member, for clients that switch on it; `errors` lists each faulty field (a JSON pointer into the body,
`?name` for a query parameter, `header` for a header); some problems add their own members (`findings`,
`existing_invoice`, `reception_id`).  A code outside the catalogue (an unusual HTTP error) has the type
`about:blank` and the HTTP reason phrase as its title, as RFC 9457 says.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from flask import request

from gateway.observability import context

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "/api/problems/"
BLANK = "about:blank"


@dataclass(frozen=True)
class ProblemType:
    """One kind of problem: the status it is answered with, a short stable title, and what it means for a client."""

    status: int
    title: str
    description: str


TYPES: dict[str, ProblemType] = {
    # The request itself
    "bad_request": ProblemType(400, "Bad request", "A query parameter or header cannot be used; `errors` names it (`?name`, `header`)."),
    "malformed_json": ProblemType(400, "Malformed JSON", "The body is not valid JSON (or is nested too deeply to read)."),
    "unsafe_document": ProblemType(400, "Unsafe document", "The XML has a DTD or entities, or the PDF holds JavaScript or too many attachments."),
    "malformed_document": ProblemType(400, "Malformed document", "The XML is not well-formed, or the PDF cannot be read."),
    "unknown_profile": ProblemType(400, "Unknown Factur-X profile", "?profile is not minimum, basicwl, basic, en16931 or extended."),
    "unauthorized": ProblemType(401, "Unauthorized", "The API key (or metrics token) is missing, unknown or revoked (see WWW-Authenticate)."),
    "forbidden": ProblemType(403, "Forbidden", "The caller may not do this (a status the other party of the invoice sets, metrics off loopback)."),
    "not_found": ProblemType(404, "Not found", "No such route, or no such object for this tenant (another tenant's objects are not found either)."),
    "method_not_allowed": ProblemType(405, "Method not allowed", "The route exists with other methods, listed in the Allow header."),
    "too_large": ProblemType(413, "Body too large", "The body is over the size limit ([gateway] max_body_bytes): nothing was read further."),
    "unsupported_media_type": ProblemType(
        415, "Unsupported Content-Type", "This route does not accept the Content-Type; `detail` lists those it does."
    ),
    "unsupported_document": ProblemType(415, "Not a supported document", "The bytes are not a UBL invoice or credit note, a CII, or a Factur-X PDF."),
    # The invoice
    "invalid_input": ProblemType(422, "Invalid input", "A value of the document cannot be used (an unknown date format, a second signature …)."),
    "invalid_invoice": ProblemType(422, "Invalid invoice", "The body does not follow the intake format: `errors` has one entry per faulty field."),
    "undrawable_text": ProblemType(422, "Text the PDF cannot draw", "Characters no font of the readable page has: `errors` names each field."),
    "duplicate_invoice": ProblemType(
        409, "Duplicate invoice", "An accepted invoice has the same seller SIREN, number and year of issue: `existing_invoice` is its id."
    ),
    "invoice_rejected": ProblemType(
        409,
        "Invoice rejected",
        "The invoice was rejected at intake: its generated documents are not served; `groups` lists the fatal findings by rule and "
        "place, `findings` each one.",
    ),
    "idempotency_key_reused": ProblemType(409, "Idempotency-Key reused", "The Idempotency-Key was already used for a different request."),
    # Lifecycle statuses
    "invalid_status": ProblemType(422, "Invalid status", "The status body does not fit the status format: `errors` has one entry per faulty field."),
    "status_refused": ProblemType(422, "Status refused", "The change breaks the reform's rules (a missing reason, 212 without amounts …)."),
    "illegal_transition": ProblemType(409, "Illegal transition", "The status may not follow the invoice's current status."),
    "not_in_lifecycle": ProblemType(409, "Not in the lifecycle", "The invoice was rejected at intake: it has no lifecycle statuses."),
    "unknown_invoice": ProblemType(404, "Unknown invoice", "A status message about an invoice the tenant does not have."),
    "invalid_cdar": ProblemType(422, "Invalid CDAR message", "The CDAR message cannot be read (not a CDAR, a required part missing, a date format)."),
    "cdar_rejected": ProblemType(422, "CDAR message rejected", "The official artefacts reject the CDAR message: `errors` lists each fatal finding."),
    # Reception, delivery, webhooks
    "invalid_sbd": ProblemType(422, "Invalid SBD", "Not a Peppol SBD, or an unreadable MLS in one; `reception_id` keeps the bytes."),
    "unknown_transmission": ProblemType(404, "Unknown transmission", "An MLS about a transmission the tenant did not make on Peppol."),
    "not_retryable": ProblemType(409, "Delivery not retryable", "Only a dead or unroutable delivery can be retried."),
    "invalid_subscription": ProblemType(
        422, "Invalid webhook subscription", "The URL or the events cannot be used: `errors` gives the reason for each."
    ),
    "in_flight": ProblemType(409, "Delivery in flight", "The webhook delivery is being sent right now; replay it once it has finished."),
    # Bank statements and payments
    "empty_body": ProblemType(400, "Empty body", "The request needs a body (a bank statement file) and has none."),
    "unsupported_statement": ProblemType(415, "Not a supported statement", "The file is neither camt.053 / camt.054 (001.02 to 001.08) nor MT940."),
    "malformed_statement": ProblemType(
        422, "Malformed statement", "The statement cannot be read (the detail names the line or element): nothing imported."
    ),
    "invalid_decision": ProblemType(422, "Invalid decision", 'A decision is {"confirm": [invoice ids]}, {"reject": "invoice id"} or {"undo": true}.'),
    "already_matched": ProblemType(409, "Bank line already matched", "The bank line has an applied match: undo it before deciding again."),
    "not_matched": ProblemType(409, "Bank line not matched", "The bank line has no applied match to undo."),
    # Dunning
    "invalid_policy": ProblemType(
        422, "Invalid dunning policy", "The policy is refused whole (delays, channels, tones, templates): `errors` names each problem."
    ),
    # Recurring invoices
    "invalid_schedule": ProblemType(
        422, "Invalid schedule", "The schedule is refused (a rule that never fires, a template error …): `errors` names each problem."
    ),
    # Risk checks
    "invalid_risk_settings": ProblemType(
        422, "Invalid risk settings", "The risk thresholds are refused (not whole numbers from 0 to 100, or out of order): `errors` names each."
    ),
    # The gateway
    "validation_unavailable": ProblemType(
        503, "Validation unavailable", "An official validation artefact could not run: nothing was accepted, retry later."
    ),
    "database_unavailable": ProblemType(503, "Database unavailable", "The database is unavailable: nothing was accepted, retry after Retry-After."),
    "storage_unavailable": ProblemType(503, "Storage unavailable", "The document storage refused a write: nothing was accepted, retry later."),
    "storage_full": ProblemType(507, "Storage full", "The document storage is full: nothing was accepted; retry once the operator has made room."),
    "not_ready": ProblemType(503, "Not ready", "A readiness check failed (/readyz): the members database, storage, scheduler and signing say which."),
    "internal_error": ProblemType(500, "Internal error", "A bug, logged with its traceback (find it by request_id); nothing is revealed here."),
}


def type_uri(code: str) -> str:
    """The `type` of a problem: its page in the catalogue, or about:blank for a code outside it."""
    return TYPE_PREFIX + code if code in TYPES else BLANK


def title(code: str, status: int) -> str:
    known = TYPES.get(code)
    if known is not None:
        return known.title
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem(status: int, code: str, detail: str, errors: Iterable[tuple[str, str]] = (), members: dict[str, Any] | None = None) -> dict[str, Any]:
    """The problem details of the current request's error: standard members, `code`, `errors`, then the problem's own members."""
    body: dict[str, Any] = {
        "type": type_uri(code),
        "title": title(code, status),
        "status": status,
        "detail": detail,
        "instance": request.path,
        "code": code,
        "errors": [{"pointer": pointer, "detail": message} for pointer, message in errors],
        **(members or {}),
    }
    request_id = context.request_id()
    if request_id:
        body["request_id"] = request_id
    return body


def type_description(code: str) -> dict[str, Any]:
    """What `GET /api/problems/<code>` answers."""
    known = TYPES[code]
    return {"type": type_uri(code), "code": code, "title": known.title, "status": known.status, "description": known.description}


# ---------------------------------------------------------------------------- OpenAPI

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_CONTENT = {MEDIA_TYPE: {"schema": PROBLEM_REF}}
UNAUTHORIZED = {401: "Missing, unknown or revoked API key"}


def error_responses(reasons: dict[int, str]) -> dict[str, Any]:
    """OpenAPI responses answered with a problem, from {status: what it means}."""
    return {str(status): {"description": text, "content": PROBLEM_CONTENT} for status, text in reasons.items()}


def problem_properties() -> dict[str, Any]:
    """The members an error answer may have (the schema is closed: a new member is documented here first)."""
    string = {"type": "string"}
    return {
        "type": {"type": "string", "description": f"{TYPE_PREFIX}<code> (served by the gateway), or {BLANK} for an uncatalogued HTTP error."},
        "title": {**string, "description": "Short and stable for each type."},
        "status": {"type": "integer", "minimum": 400, "maximum": 599, "description": "The HTTP status."},
        "detail": {**string, "description": "What went wrong with this request, for a person."},
        "instance": {**string, "description": "The request path."},
        "code": {**string, "description": "The type's name, to switch on (the catalogue: GET /api/problems)."},
        "errors": {
            "type": "array",
            "description": "Each faulty field: a JSON pointer into the body, `?name` for a query parameter, or `header`.",
            "items": {
                "type": "object",
                "properties": {"pointer": string, "detail": string},
                "required": ["pointer", "detail"],
                "additionalProperties": False,
            },
        },
        "findings": {"type": "array", "items": {"$ref": "#/components/schemas/Finding"}, "description": "invoice_rejected: the fatal findings."},
        "groups": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/FindingGroup"},
            "description": "invoice_rejected: the fatal findings grouped by rule and place in the invoice.",
        },
        "existing_invoice": {"type": "string", "format": "uuid", "description": "duplicate_invoice: the invoice already accepted."},
        "reception_id": {**string, "description": "An unreadable received document: the reception that keeps its bytes."},
        "request_id": {**string, "description": "The X-Request-Id of the request that produced the answer: every log line it wrote carries it."},
    }


PROBLEM_REQUIRED = ["type", "title", "status", "detail", "instance", "code", "errors"]

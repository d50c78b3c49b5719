"""The OpenAPI 3.1 document of the REST API, built from code and served at /api/openapi.json.

The intake format is the generated JSON Schema of the canonical invoice
(`gateway.model.schema`, committed as schemas/invoice.schema.json): its root is the
`InvoiceIntake` component and its `$defs` become components beside it (OpenAPI
tools rarely resolve `$defs` inside an embedded `$id` resource).  A test keeps this document and the Flask routes equal,
and checks real responses against the schemas below.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from gateway import metadata
from gateway.api import (
    archive,
    bank_statements,
    conventions,
    delivery,
    dunning,
    inbound,
    listing,
    receivables,
    recurring,
    risk,
    signatures,
    statuses,
    webhooks,
)
from gateway.api.problems import MEDIA_TYPE, PROBLEM_REQUIRED, problem_properties
from gateway.model.schema import invoice_json_schema
from gateway.store import models as db

API_VERSION = "1.0.0"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """A closed object: every listed property required unless `required` says otherwise."""
    return {"type": "object", "properties": properties, "required": list(properties) if required is None else required, "additionalProperties": False}


STRING = {"type": "string"}
NULLABLE_STRING = _nullable(STRING)
INTEGER = {"type": "integer"}
DECIMAL = _nullable({"type": "string", "pattern": r"^-?\d+(\.\d+)?$"})
DOCUMENT_KINDS = list(db.DOCUMENT_KINDS)

SUMMARY_PROPERTIES: dict[str, Any] = {
    "id": {"type": "string", "format": "uuid"},
    "direction": {"type": "string", "enum": ["outgoing", "incoming"]},
    "number": {**STRING, "description": "BT-1"},
    "type_code": {**STRING, "description": "BT-3 (UNTDID 1001)"},
    "issue_date": {"type": "string", "format": "date", "description": "BT-2"},
    "currency": {**STRING, "description": "BT-5"},
    "profile": {"type": "string", "enum": ["minimum", "basicwl", "basic", "en16931", "extended"], "description": "Factur-X profile of the CII"},
    "syntax": {"type": "string", "enum": ["json", "cii", "ubl-invoice", "ubl-creditnote", "facturx"], "description": "What was received"},
    "seller": _object({"name": STRING, "siren": NULLABLE_STRING}),
    "buyer": _object({"name": STRING, "siren": NULLABLE_STRING, "vat_id": NULLABLE_STRING}),
    "totals": _object({"tax_exclusive_amount": DECIMAL, "tax_amount": DECIMAL, "tax_inclusive_amount": DECIMAL, "amount_due": DECIMAL}),
    "state": {"type": "string", "description": "Technical state: received, validated, rejected (and later states of delivery)."},
    "status": {
        "type": "string",
        "description": 'Latest lifecycle status code ("200" Déposée when accepted, later "201" …), or "rejected" when the intake controls '
        "found a fatal problem: a rejected invoice is kept for inspection and never routed.",
    },
    "status_label": STRING,
    "validation": _object({"valid": {"type": "boolean"}, "fatal": INTEGER, "warnings": INTEGER}),
    "created_at": {"type": "string", "format": "date-time"},
    "metadata": {"type": "object", "description": "The ERP's metadata on the invoice, as given at intake ({} when none)."},
    "links": _object(
        {
            "self": STRING,
            "documents": {"type": "object", "propertyNames": {"enum": DOCUMENT_KINDS}, "additionalProperties": STRING},
        }
    ),
}


READINESS_CHECKS: dict[str, Any] = {
    "database": {"type": "string", "enum": ["ok", "unavailable"]},
    "storage": {"type": "string", "enum": ["ok", "unavailable"], "description": "The document folder accepts a new file."},
    "scheduler": {
        "type": "string",
        "enum": ["running", "stopped", "not-in-process"],
        "description": "The in-process delivery worker and scheduler (`gateway serve`); not-in-process when `gateway worker` runs them.",
    },
    "signing": {
        "type": "object",
        "description": "The signing key: disabled, ok, expiring (warned ahead: still ready), expired or unavailable (not ready).",
        "properties": {"status": {"type": "string", "enum": ["disabled", "ok", "expiring", "expired", "unavailable"]}},
    },
}


def _rebase(node: Any) -> Any:
    """Point `#/$defs/X` references at `#/components/schemas/X`."""
    if isinstance(node, dict):
        return {k: v.replace("#/$defs/", "#/components/schemas/", 1) if k == "$ref" else _rebase(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


def intake_components(schema: dict[str, Any]) -> dict[str, Any]:
    """The intake JSON Schema as components: `InvoiceIntake` (its root) and its `$defs`."""
    root = {k: v for k, v in schema.items() if k not in ("$schema", "$id", "$defs")}
    return _rebase({"InvoiceIntake": root, **schema.get("$defs", {})})


def _schemas() -> dict[str, Any]:
    intake = intake_components(invoice_json_schema())
    own = _own_schemas()
    clash = set(intake) & set(own)
    if clash:
        raise RuntimeError(f"OpenAPI component names used twice: {sorted(clash)}")
    return {**intake, **own}


def _own_schemas() -> dict[str, Any]:
    return {
        "Problem": {
            **_object(problem_properties(), PROBLEM_REQUIRED),
            "description": "RFC 9457 problem details (application/problem+json): every 4xx/5xx of the API.",
        },
        "NotReady": _object({**problem_properties(), **READINESS_CHECKS}, [*PROBLEM_REQUIRED, *READINESS_CHECKS]),
        "ProblemType": _object({"type": STRING, "code": STRING, "title": STRING, "status": INTEGER, "description": STRING}),
        "Finding": _object(
            {
                "rule_id": STRING,
                "severity": {"type": "string", "enum": ["fatal", "warning", "information"]},
                "message": STRING,
                "artefact": {**STRING, "description": "The official artefact (XSD, schematron) or GATEWAY for the gateway's own checks."},
                "location": NULLABLE_STRING,
                "business_term": NULLABLE_STRING,
            }
        ),
        "ValidationReport": _object(
            {
                "valid": {"type": "boolean", "description": "No fatal finding.  Warnings never reject."},
                "syntax": NULLABLE_STRING,
                "profile": NULLABLE_STRING,
                "artefacts": {"type": "array", "items": STRING, "description": "What was run: nothing run means nothing checked."},
                "fatal": INTEGER,
                "warnings": INTEGER,
                "findings": {"type": "array", "items": _ref("Finding"), "description": "Every finding as its artefact raised it."},
                "groups": {
                    "type": "array",
                    "items": _ref("FindingGroup"),
                    "description": "The findings grouped by rule and place in the invoice, most severe first (docs/intake-format.md).",
                },
            }
        ),
        "FindingGroup": _object(
            {
                "rule_id": NULLABLE_STRING,
                "severity": {"type": "string", "enum": ["fatal", "warning", "information"], "description": "The most severe of the group."},
                "message": STRING,
                "messages": {"type": "array", "items": STRING, "description": "Each distinct wording, `message` first."},
                "business_term": NULLABLE_STRING,
                "location": {
                    **STRING,
                    "description": "The place in the invoice, named alike for every syntax: empty for the whole invoice, "
                    "/line[2], /seller/address, /allowance_charge[1], /vat_breakdown[1], /totals, /payment …",
                },
                "place": {"type": "array", "items": {"type": "array"}, "description": "The same place as [part, position or null] steps."},
                "count": {**INTEGER, "description": "How many findings the group holds."},
                "artefacts": {"type": "array", "items": STRING, "description": "The artefacts that raised it."},
                "syntaxes": {"type": "array", "items": STRING, "description": "cii, ubl, or the input's own (json) for the gateway's checks."},
                "raised_by": {
                    "type": "array",
                    "items": _object({"artefact": STRING, "syntax": NULLABLE_STRING, "location": NULLABLE_STRING}),
                    "description": "Each artefact with the exact location it named (an XPath, or a JSON pointer for the gateway's checks).",
                },
            }
        ),
        "StatusEvent": _object(
            {
                "code": STRING,
                "label": STRING,
                "time": {"type": "string", "format": "date-time", "description": "When its emitter says it happened."},
                "recorded_at": {"type": "string", "format": "date-time", "description": "When the gateway recorded it (the list's order)."},
                "source": STRING,
                "detail": _nullable({"type": "object"}),
            }
        ),
        "InvoiceSummary": _object(SUMMARY_PROPERTIES),
        "InvoiceDetail": _object(
            {
                **SUMMARY_PROPERTIES,
                "report": _ref("ValidationReport"),
                "events": {"type": "array", "items": _ref("StatusEvent")},
                "payment": {
                    **_nullable(bank_statements.PAYMENT_SCHEMA),
                    "description": "An outgoing invoice's payment state and payments, as /payment gives them (null for a received or rejected one).",
                },
            }
        ),
        "InvoiceList": listing.LIST_SCHEMA,
        "Health": _object({"status": {"type": "string", "enum": ["ok"]}}),
        "Readiness": _object({"status": {"type": "string", "enum": ["ready"]}, **READINESS_CHECKS}),
    }


def _json(name: str) -> dict[str, Any]:
    return {"application/json": {"schema": _ref(name)}}


def _problem(name: str = "Problem") -> dict[str, Any]:
    return {MEDIA_TYPE: {"schema": _ref(name)}}


def _errors(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "Malformed body or parameter",
        401: "Missing, unknown or revoked API key",
        404: "Unknown invoice (or another tenant's)",
        409: "Conflict: duplicate invoice (seller SIREN + number + year), or Idempotency-Key reused for another request",
        413: "Body over the size limit",
        415: "Unsupported Content-Type or document type",
        422: "The invoice does not fit the intake format: every problem with its JSON pointer",
        503: "An official validation artefact could not run, or the database or document storage is unavailable (Retry-After): nothing was accepted",
        507: "The document storage is full: nothing was accepted",
    }
    return {str(s): {"description": reasons[s], "content": _problem()} for s in statuses}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


PROFILE_PARAM = _query("profile", "Factur-X profile of the generated CII (JSON bodies only; default en16931).", STRING)
IDEMPOTENCY_PARAM = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retrying with the same key and the same request replays the first answer (status and body); "
    "the same key with a different request is a 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
METADATA_PARAM = {
    "name": metadata.HEADER,
    "in": "header",
    "required": False,
    "description": "The ERP's metadata on the invoice, as a JSON object (see the `metadata` member of the intake format, which a JSON body "
    "may carry instead): for UBL, CII and Factur-X bodies.",
    "schema": {"type": "string", "contentMediaType": "application/json"},
}
INVOICE_ID_PARAM = {"name": "invoice_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
BINARY = {"type": "string", "contentMediaType": "application/octet-stream"}


def _document_body(json_schema: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/json": {"schema": _ref(json_schema)},
            "application/xml": {"schema": {**STRING, "description": "A UBL 2.1 Invoice / CreditNote or a CII (Factur-X) XML."}},
            "text/xml": {"schema": STRING},
            "application/pdf": {"schema": {**BINARY, "description": "A Factur-X PDF/A-3 with its embedded factur-x.xml."}},
        },
    }


def _paths() -> dict[str, Any]:
    public: list[dict[str, list[str]]] = []
    return {
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "Liveness: the process answers (nothing else is checked)",
                "security": public,
                "responses": {"200": {"description": "Alive", "content": _json("Health")}},
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "summary": "Readiness: database, document storage, in-process scheduler, signing certificate",
                "security": public,
                "responses": {
                    "200": {"description": "Ready", "content": _json("Readiness")},
                    "503": {"description": "Not ready: a not_ready problem with the checks, naming those failing", "content": _problem("NotReady")},
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics (text exposition format)",
                "description": "With `[gateway] metrics_token` set, that bearer token is required; without it, only loopback clients are "
                "answered.  Labels hold counts, never tenant data.",
                "security": [{}, {"metricsToken": []}],
                "responses": {
                    "200": {"description": "The metrics", "content": {"text/plain": {"schema": STRING}}},
                    "401": {"description": "metrics_token set and not given", "content": _problem()},
                    "403": {"description": "No metrics_token set and the client is not on the loopback interface", "content": _problem()},
                },
            }
        },
        "/api/problems": {
            "get": {
                "operationId": "problemTypes",
                "summary": "The problem types of the API's errors (what their `type` points at)",
                "security": public,
                "responses": {
                    "200": {
                        "description": "Every problem type",
                        "content": {"application/json": {"schema": _object({"items": {"type": "array", "items": _ref("ProblemType")}})}},
                    }
                },
            }
        },
        "/api/problems/{code}": {
            "get": {
                "operationId": "problemType",
                "summary": "One problem type: title, status, meaning",
                "security": public,
                "parameters": [{"name": "code", "in": "path", "required": True, "schema": STRING}],
                "responses": {
                    "200": {"description": "The problem type", "content": _json("ProblemType")},
                    "404": {"description": "No such problem type", "content": _problem()},
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": public,
                "responses": {"200": {"description": "The OpenAPI 3.1 document", "content": {"application/json": {"schema": {"type": "object"}}}}},
            }
        },
        "/api/v1/invoices": {
            "post": {
                "operationId": "createInvoice",
                "summary": "Submit an invoice: intake JSON, or a UBL / CII / Factur-X document",
                "description": "The invoice is decoded, its totals computed or checked (BR-CO-10…17), its CII (chosen profile), UBL and Factur-X "
                "generated and each validated (XSD, EN 16931, Factur-X profile, BR-FR); a received document is validated as received.  "
                'Answer 201 in both outcomes: `status` "200" (Déposée) when no fatal finding, or `status` "rejected" with the report saying '
                "why; a rejected invoice is stored for inspection and never routed, and its generated documents are not served (409).  "
                "A duplicate of an accepted invoice (same seller SIREN, number and year of issue) is a 409 naming the existing one.",
                "parameters": [PROFILE_PARAM, IDEMPOTENCY_PARAM, METADATA_PARAM],
                "requestBody": _document_body("InvoiceIntake"),
                "responses": {
                    "201": {
                        "description": "Stored (accepted or rejected: see status and report)",
                        "headers": {"Location": {"schema": STRING}},
                        "content": _json("InvoiceDetail"),
                    },
                    **_errors(400, 401, 409, 413, 415, 422, 503, 507),
                },
            },
            "get": {
                "operationId": "listInvoices",
                "summary": "The tenant's invoices, newest first",
                "description": "Filters combine (AND); paging by page number or by cursor (stable while invoices arrive).",
                "parameters": listing.OPENAPI_PARAMETERS,
                "responses": {"200": {"description": "One page", "content": _json("InvoiceList")}, **_errors(400, 401)},
            },
        },
        "/api/v1/invoices/{invoice_id}": {
            "get": {
                "operationId": "getInvoice",
                "summary": "One invoice: summary, status, technical state, validation report, events, document links",
                "parameters": [INVOICE_ID_PARAM],
                "responses": {"200": {"description": "The invoice", "content": _json("InvoiceDetail")}, **_errors(401, 404)},
            }
        },
        "/api/v1/invoices/{invoice_id}/documents/{kind}": {
            "get": {
                "operationId": "getInvoiceDocument",
                "summary": "The exact stored bytes of one document (with a Content-Disposition file name)",
                "parameters": [
                    INVOICE_ID_PARAM,
                    {"name": "kind", "in": "path", "required": True, "schema": {"type": "string", "enum": DOCUMENT_KINDS}},
                ],
                "responses": {
                    "200": {
                        "description": "The document",
                        "content": {"application/xml": {"schema": STRING}, "application/pdf": {"schema": BINARY}, "application/json": {"schema": {}}},
                    },
                    **_errors(401, 404),
                    "409": {
                        **_errors(409)["409"],
                        "description": "The invoice was rejected: the documents the gateway generated for it (all but input and canonical) "
                        "are not served, so that none passes for a conforming one; the problem (invoice_rejected) lists the fatal findings",
                    },
                },
            }
        },
        "/api/v1/validate": {
            "post": {
                "operationId": "validate",
                "summary": "Validate without storing anything",
                "description": "A UBL / CII / Factur-X document is validated as received (`french=false` skips the BR-FR rules); intake JSON "
                "is validated through the CII and UBL generated from it.",
                "parameters": [
                    PROFILE_PARAM,
                    _query("french", "Run the French BR-FR rules on a document (default true).", {"type": "boolean", "default": True}),
                    IDEMPOTENCY_PARAM,
                ],
                "requestBody": _document_body("InvoiceIntake"),
                "responses": {
                    "200": {"description": "The report", "content": _json("ValidationReport")},
                    **_errors(400, 401, 409, 413, 415, 422, 503),
                },
            }
        },
    }


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (built once per process)."""
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "PDP Gateway API",
            "version": API_VERSION,
            "description": "E-invoicing gateway for the French 2026 reform: submit invoices (intake JSON, UBL, CII, Factur-X), "
            "get them validated with the official artefacts, follow their status, download their documents.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}],
        "paths": conventions.documented(
            {
                **_paths(),
                **archive.OPENAPI_PATHS,
                **signatures.OPENAPI_PATHS,
                **statuses.OPENAPI_PATHS,
                **delivery.OPENAPI_PATHS,
                **webhooks.OPENAPI_PATHS,
                **inbound.OPENAPI_PATHS,
                **bank_statements.OPENAPI_PATHS,
                **dunning.OPENAPI_PATHS,
                **recurring.OPENAPI_PATHS,
                **receivables.OPENAPI_PATHS,
                **risk.OPENAPI_PATHS,
            },
            _errors(400)["400"],
        ),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "A tenant's API key (gateway keys create --tenant NAME)."},
                "metricsToken": {"type": "http", "scheme": "bearer", "description": "The `[gateway] metrics_token` setting, for /metrics only."},
            },
        },
    }

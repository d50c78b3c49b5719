"""/api/v1: submit, list and read invoices, download their documents, validate without storing.

Invoices belong to the tenant of the API key; another tenant's invoice is a 404.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, Response, request, url_for

from gateway import intake, metadata
from gateway.api import conventions, listing
from gateway.api.auth import authenticate, current_tenant
from gateway.api.context import archive, config, database, db_session, signer
from gateway.api.errors import ApiError, json_response
from gateway.api.idempotency import idempotent
from gateway.api.params import bool_param, text_param
from gateway.api.params import int_param as int_param  # the other blueprints read it from here
from gateway.payments import effects
from gateway.store import models as db
from gateway.validation.grouping import group, with_groups

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(authenticate)
conventions.apply(bp)

XML_TYPES = ("application/xml", "text/xml")
PDF_TYPES = ("application/pdf",)
UUID = db.ID_PATTERN
DOCUMENT_FILES = {
    "input": "input",
    "canonical": "canonical.json",
    "cii": "cii.xml",
    "ubl": "ubl.xml",
    "facturx": "facturx.pdf",
    "ubl-signed": "ubl-signed.xml",
    "facturx-signed": "facturx-signed.pdf",
    "ubl-peppol": "ubl-peppol.xml",
}
INPUT_EXTENSIONS = {"application/json": "json", "application/xml": "xml", "application/pdf": "pdf"}
SERVED_WHEN_REJECTED = ("input", "canonical")  # what the ERP sent, and the gateway's reading of it


# ---------------------------------------------------------------------------- request helpers


def _body_kind() -> str:
    """Whether the body is "json" or a "document", from the Content-Type; anything else is a 415."""
    mimetype = request.mimetype
    if mimetype == "application/json" or mimetype.endswith("+json"):
        return "json"
    if mimetype in XML_TYPES or mimetype in PDF_TYPES:
        return "document"
    raise ApiError(
        415,
        "unsupported_media_type",
        f"Content-Type {mimetype or '(none)'!r} is not accepted: send application/json, application/xml, text/xml or application/pdf.",
    )


def json_body() -> tuple[bytes, Any]:
    raw = request.get_data(cache=True)
    try:
        return raw, json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "malformed_json", f"The body is not valid JSON: {exc}") from None


def json_request() -> tuple[bytes, Any]:
    """The body of a request that must be JSON: 415 for another Content-Type, 400 when it does not parse."""
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", f"Content-Type {request.mimetype or '(none)'!r} is not accepted: send application/json.")
    return json_body()


def _profile() -> str:
    """The Factur-X profile asked for (?profile=), else the configured default."""
    return text_param("profile") or config().default_profile


def header_metadata() -> dict[str, Any] | None:
    """The ERP's metadata from the X-Gateway-Metadata header (JSON; None when absent), checked (422 when it cannot be kept)."""
    value = request.headers.get(metadata.HEADER)
    if value is None:
        return None
    try:
        text = value.encode("latin-1").decode("utf-8")  # the header's bytes, as the client wrote them
    except UnicodeError:
        text = value
    return metadata.parse_header(text)


def own_invoice(invoice_id: str) -> db.Invoice:
    """The tenant's invoice, or 404 (unknown, malformed or someone else's: indistinguishable)."""
    row = db_session().get(db.Invoice, invoice_id) if UUID.match(invoice_id) else None
    if row is None or row.tenant_id != current_tenant().id:
        raise ApiError(404, "not_found", f"No invoice {invoice_id}.")
    return row


# ---------------------------------------------------------------------------- representations


def _amount(value: Any) -> str | None:
    return None if value is None else str(value)


def invoice_summary(row: db.Invoice) -> dict[str, Any]:
    report = row.report or {}
    return {
        "id": row.id,
        "direction": row.direction,
        "number": row.number,
        "type_code": row.type_code,
        "issue_date": row.issue_date.isoformat(),
        "currency": row.currency,
        "profile": row.profile,
        "syntax": row.syntax,
        "seller": {"name": row.seller_name, "siren": row.seller_siren},
        "buyer": {"name": row.buyer_name, "siren": row.buyer_siren, "vat_id": row.buyer_vat_id},
        "totals": {
            "tax_exclusive_amount": _amount(row.tax_exclusive_amount),
            "tax_amount": _amount(row.tax_amount),
            "tax_inclusive_amount": _amount(row.tax_inclusive_amount),
            "amount_due": _amount(row.amount_due),
        },
        "state": row.state,
        "status": row.status,
        "status_label": row.status_label,
        "validation": {"valid": bool(report.get("valid")), "fatal": report.get("fatal", 0), "warnings": report.get("warnings", 0)},
        "created_at": row.created_at.isoformat(),
        "metadata": row.invoice_metadata or {},
        "links": {
            "self": url_for("api.get_invoice", invoice_id=row.id),
            "documents": {
                doc.kind: url_for("api.get_document", invoice_id=row.id, kind=doc.kind) for doc in row.documents if not withheld(row, doc.kind)
            },
        },
    }


def invoice_detail(row: db.Invoice) -> dict[str, Any]:
    events = [
        {
            "code": e.code,
            "label": e.label,
            "time": e.time.isoformat(),
            "recorded_at": e.recorded_at.isoformat(),
            "source": e.source,
            "detail": e.detail,
        }
        for e in row.events
    ]
    payment = effects.position(db_session(), row) if effects.payable(row) else None
    return {**invoice_summary(row), "report": with_groups(row.report), "events": events, "payment": payment}


# ---------------------------------------------------------------------------- routes


@bp.post("/invoices")
@idempotent
def create_invoice() -> Response:
    """Intake JSON (optional ?profile=), or a UBL / CII / Factur-X document: 201 with the stored invoice and its report."""
    session, store, tenant = db_session(), archive(), current_tenant()
    if _body_kind() == "json":
        raw, data = json_body()
        extra = header_metadata()
        if extra is not None and isinstance(data, dict) and "metadata" in data:
            twice = f"Metadata is given twice, in the body and in {metadata.HEADER}: give it once."
            raise ApiError(400, "bad_request", twice, [("header", metadata.HEADER)])
        row = intake.submit_json(session, store, tenant, data, _profile(), raw=raw, signer=signer(), metadata=extra)
    else:
        extra = header_metadata()
        row = intake.submit_document(session, store, tenant, request.get_data(cache=True), request.mimetype, signer=signer(), metadata=extra)
    location = url_for("api.get_invoice", invoice_id=row.id)
    return json_response(invoice_detail(row), 201, {"Location": location})


@bp.get("/invoices")
def list_invoices() -> Response:
    """The tenant's invoices, newest first: filters and paging in `gateway.api.listing`."""
    return json_response(listing.invoice_list(db_session(), current_tenant().id, invoice_summary))


@bp.get("/invoices/<invoice_id>")
def get_invoice(invoice_id: str) -> Response:
    """One invoice: summary, status, technical state, validation report, status events and document links."""
    return json_response(invoice_detail(own_invoice(invoice_id)))


def document_response(row: db.Invoice, kind: str, *, inline: bool = False) -> Response | None:
    """The exact stored bytes of one document of `row` as a download (a PDF shown in the page with `inline`); None if absent."""
    document = next((d for d in row.documents if d.kind == kind), None)
    if document is None:
        return None
    safe_number = re.sub(r"[^A-Za-z0-9._-]+", "_", row.number)[:80] or "invoice"
    suffix = f"input.{INPUT_EXTENSIONS.get(document.content_type, 'bin')}" if kind == "input" else DOCUMENT_FILES[kind]
    disposition = "inline" if inline and document.content_type == "application/pdf" else "attachment"
    headers = {"Content-Disposition": f'{disposition}; filename="{safe_number}-{suffix}"', "ETag": f'"{document.sha256}"'}
    return Response(database().blobs.get(document.sha256), mimetype=document.content_type, headers=headers)


def withheld(row: db.Invoice, kind: str) -> bool:
    """Whether a document is held back: those the gateway generated for an invoice it rejected.

    A CII, UBL or Factur-X of a rejected invoice looks exactly like a conforming one (the PDF even claims
    its Factur-X conformance level): handed on, it would pass for a valid invoice.  What the ERP sent and
    the canonical reading of it stay available, to find what to correct.
    """
    return row.direction == "outgoing" and row.state == db.STATE_REJECTED and kind not in SERVED_WHEN_REJECTED


def rejected_error(row: db.Invoice, kind: str) -> ApiError:
    """The 409 for a withheld document, with the fatal findings that rejected the invoice (`groups`, and `findings` as in its report)."""
    fatal = [f for f in (row.report or {}).get("findings", []) if f.get("severity") == "fatal"]
    groups = group(fatal, (row.report or {}).get("syntax"))
    return ApiError(
        409,
        "invoice_rejected",
        f"Invoice {row.id} was rejected ({len(groups)} problem(s), {len(fatal)} fatal finding(s)): its {kind} document is not served, "
        "so that it cannot pass for a conforming one. Correct the invoice and submit it again; what was sent stays at documents/input.",
        members={"groups": groups, "findings": fatal},
    )


@bp.get("/invoices/<invoice_id>/documents/<kind>")
def get_document(invoice_id: str, kind: str) -> Response:
    """The exact stored bytes of one document of the invoice (409 for the generated documents of a rejected invoice)."""
    row = own_invoice(invoice_id)
    if kind in DOCUMENT_FILES and withheld(row, kind):
        raise rejected_error(row, kind)
    response = document_response(row, kind) if kind in DOCUMENT_FILES else None
    if response is None:
        raise ApiError(404, "not_found", f"Invoice {invoice_id} has no {kind} document.")
    return response


@bp.post("/validate")
@idempotent
def validate_only() -> Response:
    """Validate without storing: a UBL / CII / Factur-X document (?french=false skips BR-FR), or intake JSON (?profile=)."""
    if _body_kind() == "json":
        _raw, data = json_body()
        report = intake.validate_json(data, _profile())
    else:
        report = intake.validate_document(request.get_data(cache=True), request.mimetype, french=bool_param("french", True))
    return json_response(with_groups(report.to_dict()))

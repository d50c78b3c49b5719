"""GET /api/v1/invoices: its filters, and its two ways of paging (numbered pages, or a cursor).

Filters (all optional, combined with AND; each bad value is a 400 naming the parameter):

- `number`: the invoice number (BT-1), exactly;
- `erp_reference`: the ERP's reference given in the invoice's metadata (`metadata.erp_reference`), exactly;
- `status`: comma-separated lifecycle codes ("200", "205" …), `rejected`, or technical states (validated, sent,
  unroutable …): an invoice matching any of them;
- `issued_from` / `issued_to`: the issue date (BT-2), ISO dates, both included (`from` / `to`: their former names);
- `received_from` / `received_to`: when the gateway received it, an ISO date (a whole day in UTC) or a date-time
  with its zone;
- `buyer`: part of the buyer's name (any case), or one of its identifiers as a whole: SIREN, SIRET, VAT number,
  electronic address or any other identifier the invoice gives it (spaces and case ignored).

Paging: `page` / `per_page` (with `total`), or `limit` and then `cursor` (the `next_cursor` of the previous
answer, as it is).  The cursor is a position in the list, newest first, kept by (received time, id): invoices
received meanwhile do not shift the following pages, unlike page numbers.  Both ways at once is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from flask import request, url_for
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from gateway.api.params import bad, date_param, int_param, list_param, moment_param, text_param
from gateway.jobs.models import INVOICE_SENT, INVOICE_UNDELIVERABLE, INVOICE_UNROUTABLE
from gateway.lifecycle import codes
from gateway.store import models as db

MAX_PER_PAGE = 100
MAX_PAGE = 100_000
DEFAULT_PER_PAGE = 20
MAX_CURSOR_LENGTH = 200
STATES = (db.STATE_RECEIVED, db.STATE_VALIDATED, db.STATE_REJECTED, INVOICE_SENT, INVOICE_UNROUTABLE, INVOICE_UNDELIVERABLE)
FILTERS = ("number", "erp_reference", "status", "issued_from", "issued_to", "from", "to", "received_from", "received_to", "buyer")
ALIASES = {"from": "issued_from", "to": "issued_to"}
PAGES, CURSOR = ("page", "per_page"), ("cursor", "limit")
ORDER = (db.Invoice.created_at.desc(), db.Invoice.id.desc())


def identifier_token(value: str) -> str:
    """An identifier as the buyer filter compares it: no spaces, upper case."""
    return "".join(value.split()).upper()


# ---------------------------------------------------------------------------- filters


def _status_filter(values: list[str]) -> Any:
    known_codes, states = set(codes.STATUSES) | {db.STATUS_REJECTED}, set(STATES)
    unknown = [v for v in values if v not in known_codes and v.lower() not in states]
    if unknown:
        raise bad(
            "status",
            f"Query parameter status: {', '.join(repr(v[:20]) for v in unknown[:5])} is not a status. Give lifecycle codes "
            f"({min(codes.STATUSES)} to {max(codes.STATUSES)}), rejected, or states ({', '.join(STATES)}), separated by commas.",
            "unknown status",
        )
    by_status = db.Invoice.status.in_([v for v in values if v in known_codes])
    return or_(by_status, db.Invoice.state.in_([v.lower() for v in values if v.lower() in states]))


def _issued(name: str) -> Any:
    """An issue-date bound under its name or its former one (`from` / `to`), not both."""
    former = next(old for old, new in ALIASES.items() if new == name)
    if request.args.get(name) and request.args.get(former):
        raise bad(former, f"Query parameters {name} and {former} are the same filter ({former} is its former name): give one.", "given twice")
    return date_param(name) or date_param(former)


def _buyer_filter(buyer: str) -> Any:
    token = identifier_token(buyer)
    return or_(
        func.lower(db.Invoice.buyer_name).contains(buyer.lower(), autoescape=True),
        db.Invoice.buyer_siren == buyer.strip(),
        func.upper(db.Invoice.buyer_vat_id) == token,
        db.Invoice.buyer_identifiers.contains(f" {token} ", autoescape=True),
    )


def filters(tenant_id: int) -> list[Any]:
    """The WHERE clauses of the request's filters, for the tenant's invoices."""
    clauses: list[Any] = [db.Invoice.tenant_id == tenant_id]
    if number := text_param("number"):
        clauses.append(db.Invoice.number == number)
    if reference := text_param("erp_reference"):
        clauses.append(db.Invoice.erp_reference == reference)
    if statuses := list_param("status"):
        clauses.append(_status_filter(statuses))
    issued_from, issued_to = _issued("issued_from"), _issued("issued_to")
    if issued_from:
        clauses.append(db.Invoice.issue_date >= issued_from)
    if issued_to:
        clauses.append(db.Invoice.issue_date <= issued_to)
    if received_from := moment_param("received_from", end=False):
        clauses.append(db.Invoice.created_at >= received_from)
    if received_to := moment_param("received_to", end=True):
        clauses.append(db.Invoice.created_at <= received_to)
    if (buyer := text_param("buyer")) and buyer.strip():
        clauses.append(_buyer_filter(buyer))
    return clauses


def _filter_query() -> dict[str, str]:
    """The request's filters as given, for the `next` link."""
    return {name: value for name, value in request.args.items() if name in FILTERS and value}


# ---------------------------------------------------------------------------- cursors


def encode_cursor(row: db.Invoice) -> str:
    """An opaque position after `row` in the list (its received time and id)."""
    text = json.dumps([row.created_at.isoformat(), row.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[datetime, str]:
    """The position a cursor names; anything this API did not give is a 400."""
    try:
        if len(text) > MAX_CURSOR_LENGTH or not text.isascii():
            raise ValueError(text)
        created, ident = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        moment = datetime.fromisoformat(created)
        if moment.tzinfo is None or not db.ID_PATTERN.match(ident):
            raise ValueError(text)
        return moment, ident
    except (ValueError, TypeError, binascii.Error):
        message = "Query parameter cursor is not a cursor of this list: pass the next_cursor of the previous answer as it is."
        raise bad("cursor", message, "unknown cursor") from None


def _after(position: tuple[datetime, str]) -> Any:
    created, ident = position
    return or_(db.Invoice.created_at < created, and_(db.Invoice.created_at == created, db.Invoice.id < ident))


# ---------------------------------------------------------------------------- the list


def _given(names: tuple[str, ...]) -> list[str]:
    return [name for name in names if request.args.get(name)]


def invoice_list(session: Session, tenant_id: int, summary: Any) -> dict[str, Any]:
    """The answer of GET /api/v1/invoices: one page (numbered, or after a cursor) of the filtered list, newest first."""
    pages, cursor = _given(PAGES), _given(CURSOR)
    if pages and cursor:
        raise bad(
            cursor[0],
            f"Query parameters {', '.join(pages)} and {', '.join(cursor)} page the list in two ways: use page and per_page, or limit and cursor.",
            "not with page or per_page",
        )
    clauses = filters(tenant_id)
    query = select(db.Invoice).options(selectinload(db.Invoice.documents)).order_by(*ORDER)
    if cursor:
        limit = int_param("limit", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
        position = text_param("cursor")
        where = [*clauses, _after(decode_cursor(position))] if position else clauses
        rows = list(session.scalars(query.where(*where).limit(limit + 1)))
        more, rows = len(rows) > limit, rows[:limit]
        following = encode_cursor(rows[-1]) if more else None
        link = url_for("api.list_invoices", cursor=following, limit=limit, **_filter_query()) if following else None
        return {"items": [summary(row) for row in rows], "limit": limit, "next_cursor": following, "next": link}
    page, per_page = int_param("page", 1, 1, MAX_PAGE), int_param("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    total = session.scalar(select(func.count()).select_from(db.Invoice).where(*clauses)) or 0
    rows = list(session.scalars(query.where(*clauses).limit(per_page).offset((page - 1) * per_page)))
    more = page * per_page < total
    return {
        "items": [summary(row) for row in rows],
        "page": page,
        "per_page": per_page,
        "total": total,
        "next": url_for("api.list_invoices", page=page + 1, per_page=per_page, **_filter_query()) if more else None,
        "next_cursor": encode_cursor(rows[-1]) if more and rows else None,
    }


# ---------------------------------------------------------------------------- OpenAPI


def _query(name: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema, **extra}


_DATE = {"type": "string", "format": "date"}
_MOMENT = {"type": "string", "description": "YYYY-MM-DD (a day in UTC) or an RFC 3339 date-time with its zone."}
OPENAPI_PARAMETERS: list[dict[str, Any]] = [
    _query("number", "The invoice number (BT-1), exactly.", {"type": "string"}),
    _query("erp_reference", "The ERP's reference given in the invoice's metadata (`metadata.erp_reference`), exactly.", {"type": "string"}),
    _query(
        "status",
        f'Comma-separated: lifecycle codes ("200" … "228"), "rejected", or technical states ({", ".join(STATES)}); any of them matches.',
        {"type": "string"},
        example="200,205",
    ),
    _query("issued_from", "Issue date (BT-2) on or after.", _DATE),
    _query("issued_to", "Issue date (BT-2) on or before.", _DATE),
    _query("from", "Former name of issued_from.", _DATE, deprecated=True),
    _query("to", "Former name of issued_to.", _DATE, deprecated=True),
    _query("received_from", "Received by the gateway at or after.", _MOMENT),
    _query("received_to", "Received by the gateway at or before (a date: up to the end of that day, UTC).", _MOMENT),
    _query(
        "buyer",
        "Part of the buyer's name (any case), or one of its identifiers as a whole: SIREN, SIRET, VAT number, electronic address …",
        {"type": "string"},
    ),
    _query("page", "Page number, from 1 (not with cursor or limit).", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}),
    _query(
        "per_page",
        "Invoices per page (not with cursor or limit).",
        {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE},
    ),
    _query(
        "cursor", "Continue after this position: the next_cursor of the previous answer, as it is (not with page or per_page).", {"type": "string"}
    ),
    _query(
        "limit",
        "Invoices per answer when paging by cursor: give it (without cursor) to start (not with page or per_page).",
        {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE},
    ),
]
_INTEGER = {"type": "integer"}
LIST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "One page of invoices, newest first: numbered (page, per_page, total) or by cursor (limit).",
    "required": ["items", "next", "next_cursor"],
    "additionalProperties": False,
    "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/InvoiceSummary"}},
        "page": _INTEGER,
        "per_page": _INTEGER,
        "total": {**_INTEGER, "description": "Invoices matching the filters (numbered pages only)."},
        "limit": {**_INTEGER, "description": "Paging by cursor: invoices per answer."},
        "next": {"type": ["string", "null"], "description": "The following page or position, with the same filters; null at the end."},
        "next_cursor": {
            "type": ["string", "null"],
            "description": "The position after the last item, for ?cursor= (invoices received meanwhile do not shift it); null at the end.",
        },
    },
}

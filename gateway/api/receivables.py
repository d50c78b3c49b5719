"""/api/v1/receivables: the tenant's receivables KPIs on a day (default today) in one currency (default EUR) — the
summary (DSO, what is owed by bucket, dispute/refusal/rejection rates, dunning effectiveness), the aging per buyer,
the 13-week cash forecast and the buyers' risk scores; the last three as CSV too (`?format=csv` or `Accept: text/csv`).
How each figure is computed: docs/receivables.md.  `OPENAPI_PATHS` documents the routes.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, Response, request

from gateway.api import conventions
from gateway.api.auth import authenticate, current_tenant
from gateway.api.context import db_session
from gateway.api.errors import json_response
from gateway.api.params import bad, date_param, text_param
from gateway.api.problems import UNAUTHORIZED, error_responses
from gateway.receivables import service
from gateway.receivables.service import Rows, Snapshot

CURRENCY = re.compile(r"[A-Z]{3}\Z")
CSV = "text/csv"

bp = Blueprint("receivables", __name__, url_prefix="/api/v1/receivables")
bp.before_request(authenticate)
conventions.apply(bp)


def _snapshot() -> Snapshot:
    currency = text_param("currency") or "EUR"
    if not CURRENCY.match(currency):
        raise bad("currency", "Query parameter currency must be an ISO 4217 code, such as EUR.", "not a currency code")
    return service.snapshot(db_session(), current_tenant().id, date_param("as_of") or date.today(), currency)


def _wants_csv() -> bool:
    chosen = text_param("format")
    if chosen not in (None, "", "json", "csv"):
        raise bad("format", "Query parameter format must be json or csv.", "not json or csv")
    return chosen == "csv" or (not chosen and request.accept_mimetypes.best_match(["application/json", CSV]) == CSV)


def _table(name: str, snap: Snapshot, rows: Rows) -> Response:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    filename = f"{name}-{snap.currency}-{snap.as_of.isoformat()}.csv"
    return Response(out.getvalue(), mimetype=CSV, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _either(name: str, as_json: Callable[[Snapshot], Any], as_rows: Callable[[Snapshot], Rows]) -> Response:
    wants_csv, snap = _wants_csv(), _snapshot()
    return _table(name, snap, as_rows(snap)) if wants_csv else json_response(as_json(snap))


@bp.get("/summary")
def get_summary() -> Response:
    return json_response(service.summary(_snapshot()))


@bp.get("/aging")
def get_aging() -> Response:
    return _either("aging", service.aging, service.aging_rows)


@bp.get("/forecast")
def get_forecast() -> Response:
    return _either("forecast", lambda snap: {**snap.head, **service.cash_forecast(snap).to_json()}, service.forecast_rows)


@bp.get("/risks")
def get_risks() -> Response:
    return _either("risks", lambda snap: {**snap.head, "buyers": [r.to_json() for r in service.buyer_risks(snap)]}, service.risk_rows)


_DAY = {"name": "as_of", "in": "query", "schema": {"type": "string", "format": "date"}, "description": "The day (default today)"}
_CURRENCY = {"name": "currency", "in": "query", "schema": {"type": "string", "pattern": "^[A-Z]{3}$", "default": "EUR"}}
_FORMAT = {"name": "format", "in": "query", "schema": {"enum": ["json", "csv"]}, "description": "Else by the Accept header"}
_ERRORS = error_responses({400: "Bad query parameter", **UNAUTHORIZED})


def _operation(operation_id: str, summary: str, table: bool) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": {"type": "object"}}}
    if table:
        content[CSV] = {"schema": {"type": "string"}}
    parameters = [_DAY, _CURRENCY, *([_FORMAT] if table else [])]
    return {"get": {"operationId": operation_id, "summary": summary, "parameters": parameters,
                    "responses": {"200": {"description": summary, "content": content}, **_ERRORS}}}  # fmt: skip


OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/receivables/summary": _operation("getReceivablesSummary", "DSO, what is owed by bucket, the rates, dunning effectiveness", False),
    "/api/v1/receivables/aging": _operation("getReceivablesAging", "What each buyer owes, by days past due", True),
    "/api/v1/receivables/forecast": _operation("getCashForecast", "The 13-week cash forecast with its 80 % interval", True),
    "/api/v1/receivables/risks": _operation("getBuyerRisks", "Each buyer's risk score and its factors", True),
}

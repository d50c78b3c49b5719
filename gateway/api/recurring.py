"""/api/v1/recurring: schedules of recurring invoices (created from a template or an earlier invoice), their occurrences
— issued, failed and retried, skipped — pause and resume, and a dry-run preview.  Issuing is the worker's periodic
run or `gateway recurring run`.  `OPENAPI_PATHS` documents the routes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response
from sqlalchemy import select

from gateway.api import conventions
from gateway.api.auth import authenticate, current_tenant
from gateway.api.context import archive, config, database, db_session
from gateway.api.errors import ApiError, json_response
from gateway.api.invoices import json_request
from gateway.api.params import date_param
from gateway.api.problems import UNAUTHORIZED, error_responses
from gateway.recurring import service
from gateway.recurring.models import ACTIVE, PAUSED, InvoiceSeries, Occurrence, Schedule
from gateway.recurring.settings import RecurringSettings
from gateway.store.models import ID_PATTERN, utcnow

bp = Blueprint("recurring", __name__, url_prefix="/api/v1/recurring")
bp.before_request(authenticate)
conventions.apply(bp)


def _own(schedule_id: str) -> Schedule:
    schedule = db_session().get(Schedule, schedule_id) if ID_PATTERN.match(schedule_id) else None
    if schedule is None or schedule.tenant_id != current_tenant().id:
        raise ApiError(404, "not_found", f"No schedule {schedule_id}.")
    return schedule


def occurrence_json(occurrence: Occurrence) -> dict[str, Any]:
    return {"on": occurrence.on.isoformat(), "state": occurrence.state, "number": occurrence.number, "invoice_id": occurrence.invoice_id,
            "issue_date": occurrence.issue_date.isoformat() if occurrence.issue_date else None, "attempts": occurrence.attempts,
            "error": occurrence.error}  # fmt: skip


def schedule_json(schedule: Schedule, occurrences: list[Occurrence] | None = None) -> dict[str, Any]:
    series = db_session().get(InvoiceSeries, schedule.series_id)
    assert series is not None
    body = {"id": schedule.id, "name": schedule.name, "series": series.name, "number_format": series.number_format, "rule": schedule.rule,
            "start": schedule.start.isoformat(), "end": schedule.end.isoformat() if schedule.end else None, "state": schedule.state,
            "schedule": schedule.body}  # fmt: skip
    if occurrences is not None:
        body["occurrences"] = [occurrence_json(o) for o in occurrences]
    return body


@bp.post("/schedules")
def post_schedule() -> Response:
    """Create a schedule: 201, or 422 naming every problem (an RRULE that never fires, a template error …); nothing billed."""
    _, data = json_request()
    session = db_session()
    try:
        schedule = service.create(session, archive(), current_tenant().id, data)
    except service.ScheduleError as refused:
        raise ApiError(422, "invalid_schedule", "The schedule is refused; nothing was created.", refused.problems) from None
    session.commit()
    return json_response(schedule_json(schedule, []), 201, {"Location": f"/api/v1/recurring/schedules/{schedule.id}"})


@bp.get("/schedules")
def get_schedules() -> Response:
    query = select(Schedule).where(Schedule.tenant_id == current_tenant().id).order_by(Schedule.created_at, Schedule.id)
    return json_response({"schedules": [schedule_json(s) for s in db_session().scalars(query)]})


@bp.get("/schedules/<schedule_id>")
def get_schedule(schedule_id: str) -> Response:
    """The schedule and every occurrence recorded: issued (number, invoice), failed (why, attempts), skipped."""
    schedule = _own(schedule_id)
    occurrences = list(db_session().scalars(select(Occurrence).where(Occurrence.schedule_id == schedule.id).order_by(Occurrence.on)))
    return json_response(schedule_json(schedule, occurrences))


def _set(schedule_id: str, state: str) -> Response:
    schedule = _own(schedule_id)
    service.set_state(db_session(), schedule, state)
    schedule.updated_at = utcnow()
    db_session().commit()
    return json_response(schedule_json(schedule))


@bp.post("/schedules/<schedule_id>/pause")
def pause(schedule_id: str) -> Response:
    return _set(schedule_id, PAUSED)


@bp.post("/schedules/<schedule_id>/resume")
def resume(schedule_id: str) -> Response:
    return _set(schedule_id, ACTIVE)


@bp.get("/preview")
def preview() -> Response:
    """The occurrences a run on `as_of` (default today) would issue (dry run: nothing stored)."""
    as_of = date_param("as_of") or RecurringSettings.from_section(config().sections.get("recurring", {})).today()
    result = service.run(database(), archive(), None, as_of, tenant_id=current_tenant().id, dry_run=True)
    return json_response({"as_of": as_of.isoformat(), "due": result.due})


# ---------------------------------------------------------------------------- OpenAPI

_ANY = {"type": "object"}
SCHEDULE_REQUEST = {
    "type": "object",
    "required": ["name", "series", "rule", "start"],
    "properties": {
        "name": {"type": "string"},
        "series": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$", "description": "The numbering series (created on first use)."},
        "number_format": {"type": "string", "description": "Names {seq}, may name {series} and {year}; default {series}-{seq:06d}."},
        "rule": {"type": "string", "description": "monthly, quarterly, yearly, weekly, or an iCalendar RRULE (FREQ=MONTHLY;BYMONTHDAY=1)."},
        "start": {"type": "string", "format": "date", "description": "The first occurrence (DTSTART)."},
        "end": {"type": "string", "format": "date"},
        "service_start": {"type": "string", "format": "date", "description": "A first period cut by it is prorated."},
        "service_end": {"type": "string", "format": "date", "description": "A last period cut by it is prorated."},
        "due_days": {"type": "integer", "minimum": 0, "maximum": 365},
        "template": {"type": "object", "description": "Intake JSON without number, dates and period."},
        "from_invoice": {"type": "string", "format": "uuid", "description": "An earlier accepted outgoing invoice to repeat."},
        "revisions": {"type": "array", "items": {"type": "object", "required": ["from", "percent"]}},
        "language": {"enum": ["fr", "en"]},
    },
}


def _json(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ANY}}}


_ID = {"name": "schedule_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/recurring/schedules": {
        "post": {"operationId": "createSchedule", "summary": "Create a recurring-invoice schedule",
                 "requestBody": {"required": True, "content": {"application/json": {"schema": SCHEDULE_REQUEST}}},
                 "responses": {"201": _json("Created"), **error_responses({400: "Malformed JSON", **UNAUTHORIZED, 415: "Not JSON",
                                                                   422: "Refused: every problem by JSON pointer"})}},
        "get": {"operationId": "listSchedules", "summary": "The tenant's schedules",
                "responses": {"200": _json("Schedules"), **error_responses(UNAUTHORIZED)}},
    },
    "/api/v1/recurring/schedules/{schedule_id}": {
        "get": {"operationId": "getSchedule", "summary": "A schedule and its occurrences", "parameters": [_ID],
                "responses": {"200": _json("The schedule"), **error_responses({**UNAUTHORIZED, 404: "Unknown schedule"})}},
    },
    "/api/v1/recurring/schedules/{schedule_id}/pause": {
        "post": {"operationId": "pauseSchedule", "summary": "Pause: occurrences passing meanwhile are skipped", "parameters": [_ID],
                 "responses": {"200": _json("The schedule"), **error_responses({**UNAUTHORIZED, 404: "Unknown schedule"})}},
    },
    "/api/v1/recurring/schedules/{schedule_id}/resume": {
        "post": {"operationId": "resumeSchedule", "summary": "Resume a paused schedule", "parameters": [_ID],
                 "responses": {"200": _json("The schedule"), **error_responses({**UNAUTHORIZED, 404: "Unknown schedule"})}},
    },
    "/api/v1/recurring/preview": {
        "get": {"operationId": "previewRecurring", "summary": "The occurrences a run would issue on a day (dry run)",
                "parameters": [{"name": "as_of", "in": "query", "schema": {"type": "string", "format": "date"}}],
                "responses": {"200": _json("Due occurrences"), **error_responses({400: "Bad date", **UNAUTHORIZED})}},
    },
}  # fmt: skip

"""Recurring invoices: schedules created and checked, their occurrences found, and each issued once through the intake.

A run dated D first records every occurrence of every schedule up to D (unique per schedule and date: concurrent runs
record each once; those whose date passed while the schedule was paused are `skipped`), then issues the due ones,
oldest first.  Issuing an occurrence is one transaction: lock the series, check the occurrence is still due, give it
the series' next number (or the one it already had), build its invoice and submit it to the intake (the same checks,
documents, archive, routing and webhooks as an ERP's invoice), then record the outcome.  Its issue date is D, the day
it is issued; the period it bills is the occurrence's.  An intake refusal rolls the transaction back — the number
goes back to the series — and the occurrence is `failed`, retried by the next runs up to MAX_ATTEMPTS; an invoice
stored as rejected by the official checks keeps its number, which a retry re-sends (a rejected invoice is corrected
under the same number).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from gateway import intake
from gateway.archive.service import Archive
from gateway.errors import InputError
from gateway.recurring import billing, numbering, rules
from gateway.recurring.models import ACTIVE, FAILED, ISSUED, PAUSED, PENDING, SKIPPED, InvoiceSeries, Occurrence, Schedule
from gateway.recurring.settings import RecurringSettings
from gateway.signing.sign import configured_signer
from gateway.store import models as db
from gateway.store.session import Database

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
_KEYS = {"name", "series", "number_format", "rule", "start", "end", "service_start", "service_end", "due_days", "template", "from_invoice",
         "revisions", "language"}  # fmt: skip


class ScheduleError(ValueError):
    """A schedule refused: `problems` lists (JSON pointer, what is wrong)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{pointer}: {message}" for pointer, message in problems))
        self.problems = problems


def _day(data: dict[str, Any], key: str, problems: list[tuple[str, str]], required: bool = False) -> date | None:
    value = data.get(key)
    if value is None and not required:
        return None
    try:
        if isinstance(value, str) and len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    problems.append((f"/{key}", f"{value!r} is not a date, YYYY-MM-DD"))
    return None


def _revisions(data: dict[str, Any], problems: list[tuple[str, str]]) -> list[billing.Revision]:
    found = []
    for index, raw in enumerate(data.get("revisions", [])):
        pointer = f"/revisions/{index}"
        try:
            found.append(billing.Revision(date.fromisoformat(raw["from"]), Decimal(str(raw["percent"]))))
        except (TypeError, KeyError, ValueError, InvalidOperation):
            problems.append((pointer, 'a revision is {"from": "YYYY-MM-DD", "percent": "3.5"}'))
        else:
            if not -100 < found[-1].percent <= 1000:
                problems.append((f"{pointer}/percent", "a change of more than -100 % and at most 1000 %"))
    return found


def _template(session: Session, archive: Archive, tenant_id: int, data: dict[str, Any], problems: list[tuple[str, str]]) -> dict[str, Any] | None:
    if ("template" in data) == ("from_invoice" in data):
        problems.append(("/template", "give the invoice to repeat: a template (intake JSON) or from_invoice (an invoice id)"))
        return None
    if "template" in data:
        if isinstance(data["template"], dict):
            return data["template"]
        problems.append(("/template", "an object (intake JSON)"))
        return None
    given = data["from_invoice"]
    invoice = session.get(db.Invoice, given) if isinstance(given, str) and db.ID_PATTERN.match(given) else None
    digest = next((d.sha256 for d in invoice.documents if d.kind == "canonical"), None) if invoice is not None else None
    canonical = archive.read(digest) if digest and invoice is not None and invoice.tenant_id == tenant_id else None
    if canonical is None or invoice is None or invoice.direction != "outgoing" or invoice.state == db.STATE_REJECTED:
        problems.append(("/from_invoice", "not one of your accepted outgoing invoices"))
        return None
    return billing.template_of(json.loads(canonical))


def create(session: Session, archive: Archive, tenant_id: int, data: Any) -> Schedule:
    """A new schedule (and its series, on first use), or ScheduleError naming every problem; nothing billed yet."""
    if not isinstance(data, dict):
        raise ScheduleError([("", "a schedule is a JSON object")])
    problems = [(f"/{key}", "unknown member") for key in sorted(set(data) - _KEYS)]
    name, series_name = data.get("name"), data.get("series")
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 200:
        problems.append(("/name", "a name of 1 to 200 characters"))
    if not isinstance(series_name, str) or not series_name.replace("-", "").replace("_", "").isalnum() or len(series_name) > 32:
        problems.append(("/series", "a series name: 1 to 32 letters, digits, - or _"))
        series_name = None
    start, end = _day(data, "start", problems, required=True), _day(data, "end", problems)
    service_start, service_end = _day(data, "service_start", problems), _day(data, "service_end", problems)
    if start and end and end < start:
        problems.append(("/end", "the end comes before the start"))
    due_days = data.get("due_days", 30)
    if not isinstance(due_days, int) or isinstance(due_days, bool) or not 0 <= due_days <= 365:
        problems.append(("/due_days", "days from issue to due date, 0 to 365"))
    if data.get("language", "fr") not in ("fr", "en"):
        problems.append(("/language", "fr or en"))
    if start is not None:
        try:
            rules.recurrence(data.get("rule", ""), start, end)
        except rules.RuleError as exc:
            problems.append(("/rule", str(exc)))
    revisions = _revisions(data, problems)
    number_format = data.get("number_format", numbering.DEFAULT_FORMAT)
    if series_name is not None:
        try:
            numbering.check_format(number_format if isinstance(number_format, str) else "", series_name)
        except ValueError as exc:
            problems.append(("/number_format", str(exc)))
    template = _template(session, archive, tenant_id, data, problems)
    if template is not None and start is not None and not problems:
        sample = billing.invoice_json(template, "SAMPLE-1", start, billing.period(start, None, service_start, service_end), due_days, revisions)
        try:
            intake.read_json(sample)
        except intake.InvalidInvoice as exc:
            problems += [(f"/template{d.pointer}", d.message) for d in exc.details if d.pointer not in ("/number", "/issue_date", "/due_date")]
        except InputError as exc:
            problems.append(("/template", exc.message))
    if problems:
        raise ScheduleError(problems)
    assert series_name is not None and start is not None and template is not None
    series = _series(session, tenant_id, series_name, number_format, "number_format" in data)
    body = {key: value for key, value in data.items() if key not in ("template", "from_invoice")} | {"template": template}
    if "from_invoice" in data:
        body["from_invoice"] = data["from_invoice"]
    schedule = Schedule(tenant_id=tenant_id, series_id=series.id, name=name.strip(), rule=data["rule"], start=start, end=end, body=body)
    session.add(schedule)
    session.flush()
    return schedule


def _series(session: Session, tenant_id: int, name: str, number_format: str, given: bool) -> InvoiceSeries:
    series = session.scalar(select(InvoiceSeries).where(InvoiceSeries.tenant_id == tenant_id, InvoiceSeries.name == name))
    if series is None:
        series = InvoiceSeries(tenant_id=tenant_id, name=name, number_format=number_format, last_number=0)
        session.add(series)
        session.flush()
    elif given and series.number_format != number_format:
        raise ScheduleError([("/number_format", f"series {name} numbers as {series.number_format!r}: a series keeps its format")])
    return series


def set_state(session: Session, schedule: Schedule, state: str) -> None:
    """Pause or resume: occurrences whose date passes while paused are skipped, never billed later."""
    schedule.state = state


def _insert(session: Session) -> Any:
    return (postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(Occurrence)


def record_occurrences(session: Session, schedule: Schedule, as_of: date) -> int:
    """Record the schedule's occurrences up to `as_of` not recorded yet (each once, whoever records it); how many are new."""
    latest = session.scalar(select(func.max(Occurrence.on)).where(Occurrence.schedule_id == schedule.id))
    until = min(as_of, schedule.end) if schedule.end else as_of
    recurring = rules.recurrence(schedule.rule, schedule.start, schedule.end)
    days = [d for d in rules.dates(recurring, schedule.start, until) if latest is None or d > latest]
    if not days:
        return 0
    state = SKIPPED if schedule.state == PAUSED else PENDING
    rows = [{"tenant_id": schedule.tenant_id, "schedule_id": schedule.id, "series_id": schedule.series_id, "on": day, "state": state,
             "attempts": 0, "error": "the schedule was paused" if state == SKIPPED else None, "created_at": db.utcnow(),
             "updated_at": db.utcnow()} for day in days]  # fmt: skip
    result = session.execute(_insert(session).values(rows).on_conflict_do_nothing(index_elements=["schedule_id", "on"]))
    return result.rowcount or 0


@dataclass
class RunResult:
    as_of: date
    due: list[dict[str, Any]] = field(default_factory=list)
    issued: int = 0
    failed: int = 0


def run(database: Database, archive: Archive, signer: intake.Signer | None, as_of: date, *, tenant_id: int | None = None,
        dry_run: bool = False, progress: Callable[[int, int], None] | None = None) -> RunResult:  # fmt: skip
    """Record the occurrences up to `as_of` and issue the due ones (`dry_run`: only say which are due, store nothing);
    `progress(done, total)` after each."""
    result = RunResult(as_of)
    with database.session() as session:
        query = select(Schedule).where(Schedule.state.in_([ACTIVE, PAUSED]))
        if tenant_id is not None:
            query = query.where(Schedule.tenant_id == tenant_id)
        for schedule in session.scalars(query.order_by(Schedule.created_at, Schedule.id)):
            if dry_run:
                result.due += _would_issue(session, schedule, as_of)
            else:
                record_occurrences(session, schedule, as_of)
        if dry_run:
            session.rollback()
            return result
    due = _due(database, as_of, tenant_id)
    for done, occurrence_id in enumerate(due, start=1):
        state = issue(database, archive, signer, occurrence_id, as_of)
        result.issued += state == ISSUED
        result.failed += state == FAILED
        if progress is not None:
            progress(done, len(due))
    return result


def _would_issue(session: Session, schedule: Schedule, as_of: date) -> list[dict[str, Any]]:
    if schedule.state == PAUSED:
        return []
    recorded = {o.on: o for o in session.scalars(select(Occurrence).where(Occurrence.schedule_id == schedule.id))}
    until = min(as_of, schedule.end) if schedule.end else as_of
    days = rules.dates(rules.recurrence(schedule.rule, schedule.start, schedule.end), schedule.start, until)
    due = [d for d in days if d not in recorded or (recorded[d].state in (PENDING, FAILED) and recorded[d].attempts < MAX_ATTEMPTS)]
    return [{"schedule_id": schedule.id, "schedule": schedule.name, "on": d.isoformat()} for d in due]


def _due(database: Database, as_of: date, tenant_id: int | None) -> list[int]:
    with database.session() as session:
        query = select(Occurrence.id).where(Occurrence.state.in_([PENDING, FAILED]), Occurrence.on <= as_of, Occurrence.attempts < MAX_ATTEMPTS)
        if tenant_id is not None:
            query = query.where(Occurrence.tenant_id == tenant_id)
        return list(session.scalars(query.order_by(Occurrence.on, Occurrence.id)))


def occurrence_json(schedule: Schedule, occurrence: Occurrence) -> dict[str, Any]:
    """The occurrence's invoice as intake JSON, numbered `occurrence.number`, issued `occurrence.issue_date`."""
    body = schedule.body
    recurring = rules.recurrence(schedule.rule, schedule.start, schedule.end)
    service_start = date.fromisoformat(body["service_start"]) if body.get("service_start") else None
    service_end = date.fromisoformat(body["service_end"]) if body.get("service_end") else None
    billed = billing.period(occurrence.on, rules.following(recurring, occurrence.on), service_start, service_end)
    revisions = _revisions(body, [])
    assert occurrence.number is not None and occurrence.issue_date is not None
    return billing.invoice_json(body["template"], occurrence.number, occurrence.issue_date, billed, body.get("due_days", 30), revisions,
                                body.get("language", "fr"))  # fmt: skip


def issue(database: Database, archive: Archive, signer: intake.Signer | None, occurrence_id: int, as_of: date) -> str:
    """Issue one occurrence dated `as_of` if it is still due; its state after."""
    try:
        with database.session() as session:
            occurrence = session.get(Occurrence, occurrence_id)
            assert occurrence is not None
            series = numbering.lock(session, occurrence.series_id)
            session.refresh(occurrence)
            if occurrence.state not in (PENDING, FAILED) or occurrence.attempts >= MAX_ATTEMPTS:
                return occurrence.state  # another run issued it meanwhile
            if series.last_issue_date and as_of < series.last_issue_date:
                log.warning("recurring: series %s has invoices dated %s: not issuing on %s", series.name, series.last_issue_date, as_of)
                return occurrence.state
            schedule = session.get(Schedule, occurrence.schedule_id)
            tenant = session.get(db.Tenant, occurrence.tenant_id)
            assert schedule is not None and tenant is not None
            occurrence.issue_date = as_of
            if occurrence.number is None:
                occurrence.number = numbering.allocate(series, as_of)
            else:
                series.last_issue_date = max(as_of, series.last_issue_date or as_of)
            invoice = intake.submit_json(session, archive, tenant, occurrence_json(schedule, occurrence), signer=signer)
            occurrence.invoice_id, occurrence.attempts = invoice.id, occurrence.attempts + 1
            if invoice.state == db.STATE_REJECTED:
                occurrence.state, occurrence.error = FAILED, f"invoice {invoice.number} rejected by the official checks (see its report)"
            else:
                occurrence.state, occurrence.error = ISSUED, None
            return occurrence.state
    except InputError as exc:
        with database.session() as session:
            occurrence = session.get(Occurrence, occurrence_id)
            assert occurrence is not None
            occurrence.state, occurrence.attempts = FAILED, occurrence.attempts + 1
            occurrence.error = f"{exc.pointer}: {exc.message}" if exc.pointer else exc.message
        return FAILED


@dataclass(frozen=True)
class Overview:
    """A schedule as the portal lists it: its occurrences counted by state, and the next one."""

    schedule: Schedule
    series: str
    counts: dict[str, int]
    next_on: date | None


def overview(session: Session, tenant_id: int, today: date) -> list[Overview]:
    """The tenant's schedules, oldest first, each with its occurrences counted by state and its next occurrence after `today`."""
    counts: dict[str, dict[str, int]] = {}
    query = select(Occurrence.schedule_id, Occurrence.state, func.count()).where(Occurrence.tenant_id == tenant_id)
    for schedule_id, state, count in session.execute(query.group_by(Occurrence.schedule_id, Occurrence.state)):
        counts.setdefault(schedule_id, {})[state] = count
    names = dict(session.execute(select(InvoiceSeries.id, InvoiceSeries.name).where(InvoiceSeries.tenant_id == tenant_id)).all())
    found = []
    for schedule in session.scalars(select(Schedule).where(Schedule.tenant_id == tenant_id).order_by(Schedule.created_at, Schedule.id)):
        following = rules.following(rules.recurrence(schedule.rule, schedule.start, schedule.end), today)
        next_on = following if following and (schedule.end is None or following <= schedule.end) and schedule.state == ACTIVE else None
        found.append(Overview(schedule, names[schedule.series_id], counts.get(schedule.id, {}), next_on))
    return found


def failures(session: Session, tenant_id: int, limit: int = 100) -> list[tuple[Occurrence, Schedule]]:
    """The tenant's failed occurrences, newest first, with their schedules: what a person must look at."""
    query = select(Occurrence, Schedule).join(Schedule, Schedule.id == Occurrence.schedule_id)
    query = query.where(Occurrence.tenant_id == tenant_id, Occurrence.state == FAILED).order_by(Occurrence.on.desc(), Occurrence.id.desc())
    return [(occurrence, schedule) for occurrence, schedule in session.execute(query.limit(limit))]


def periodic(database: Database, archive: Archive) -> tuple[Callable[[], RunResult], float] | None:
    """The worker's periodic run (today's occurrences of every schedule, signed as the API's invoices are) and its interval;
    None when `[recurring] enabled = false`."""
    settings = RecurringSettings.from_section(database.config.sections.get("recurring", {}))
    if not settings.enabled:
        return None
    signer = configured_signer(database.config)
    return (lambda: run(database, archive, signer, settings.today())), settings.interval_seconds

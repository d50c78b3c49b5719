"""Acceptance at test scale: schedules of every kind over two simulated years, eight runs at once at every step.

Every expected occurrence is issued exactly once (its invoice stored and accepted), numbers are gapless per series and
follow the order of issue, occurrences passed while a schedule was paused are skipped, and a refused occurrence is
visible, retried and gives its number back.  `bench/bench_recurring.py` runs the same with 1,000 schedules.
"""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from datetime import date, datetime

from dateutil.rrule import rrulestr
from sqlalchemy import func, select

from gateway.jobs.deliver import Deliverer
from gateway.jobs.worker import Worker
from gateway.recurring import service
from gateway.recurring.models import InvoiceSeries, Occurrence, Schedule
from gateway.recurring.rules import SHORTCUTS
from gateway.store import models as db
from gateway.store.session import Database
from tests.conftest import load_example
from tests.recurring.helpers import schedule

FIRST, LAST = date(2026, 1, 1), date(2027, 12, 31)
STEPS = [date(year, month, day) for year in (2026, 2027) for month in range(1, 13) for day in (1, 10, 20)] + [LAST]
KINDS = [
    ("M", "monthly", "2026-01-01", {}),
    ("M", "monthly", "2026-01-15", {"end": "2027-06-30"}),
    ("M", "FREQ=MONTHLY;BYMONTHDAY=-1", "2026-01-31", {}),
    ("M", "monthly", "2026-05-01", {}),  # paused from the 20 June 2026 step to the 1 January 2027 step
    ("Q", "quarterly", "2026-01-01", {"revisions": [{"from": "2027-01-01", "percent": "3.5"}]}),
    ("Q", "quarterly", "2026-02-01", {"service_start": "2026-02-10"}),
    ("Q", "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=15", "2026-03-15", {}),
    ("Y", "yearly", "2026-01-01", {}),
    ("Y", "FREQ=YEARLY;BYMONTH=7;BYMONTHDAY=1", "2026-07-01", {}),
]
PAUSED = (STEPS.index(date(2026, 6, 20)), STEPS.index(date(2027, 1, 1)))  # steps run while the fourth schedule is paused


def _expected(rule: str, start: str, more: dict) -> list[date]:
    text = SHORTCUTS.get(rule, rule)
    until = min(LAST, date.fromisoformat(more["end"])) if "end" in more else LAST
    first = datetime.fromisoformat(start)
    moments = rrulestr("RRULE:" + text, dtstart=first).between(first, datetime.combine(until, datetime.min.time()), inc=True)
    return [m.date() for m in moments]


def _step_of(day: date) -> int:
    return next(i for i, step in enumerate(STEPS) if step >= day)


def _eight_runs(database, archive, tenant: int, day: date) -> None:
    start, failures = threading.Barrier(8), []

    def one() -> None:
        start.wait()
        try:
            service.run(database, archive, None, day, tenant_id=tenant)
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_two_years_of_schedules_under_eight_concurrent_runs(api, database, archive):
    ids = []
    for series, rule, start, more in KINDS:
        response = api.post("/api/v1/recurring/schedules", json=schedule(series, rule, start, **more))
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["id"])
    with database.session() as session:
        tenant = session.get(Schedule, ids[0]).tenant_id
    for index, day in enumerate(STEPS):
        if index == PAUSED[0]:
            assert api.post(f"/api/v1/recurring/schedules/{ids[3]}/pause").status_code == 200
        if index == PAUSED[1]:
            assert api.post(f"/api/v1/recurring/schedules/{ids[3]}/resume").status_code == 200
        _eight_runs(database, archive, tenant, day)
    issued_numbers, all_skipped = [], set()
    for schedule_id, (series, rule, start, more) in zip(ids, KINDS, strict=True):
        occurrences = api.get(f"/api/v1/recurring/schedules/{schedule_id}").get_json()["occurrences"]
        expected = _expected(rule, start, more)
        skipped = {d for d in expected if schedule_id == ids[3] and PAUSED[0] <= _step_of(d) < PAUSED[1]}
        assert [date.fromisoformat(o["on"]) for o in occurrences] == expected
        assert {date.fromisoformat(o["on"]) for o in occurrences if o["state"] == "skipped"} == skipped
        all_skipped |= skipped
        for occurrence in (o for o in occurrences if o["state"] != "skipped"):
            assert occurrence["state"] == "issued" and occurrence["attempts"] == 1, occurrence
            assert occurrence["issue_date"] == STEPS[_step_of(date.fromisoformat(occurrence["on"]))].isoformat()
            issued_numbers.append((series, occurrence["number"], occurrence["issue_date"], occurrence["invoice_id"]))
    assert len(all_skipped) == 6 and len(issued_numbers) > 100
    with database.session() as session:
        invoices = session.execute(select(db.Invoice.number, db.Invoice.state).where(db.Invoice.tenant_id == tenant)).all()
        last = dict(session.execute(select(InvoiceSeries.name, InvoiceSeries.last_number).where(InvoiceSeries.tenant_id == tenant)).all())
    assert sorted(number for number, _ in invoices) == sorted(number for _, number, _, _ in issued_numbers)  # each exactly once
    assert {state for _, state in invoices} == {"validated"}
    for series in ("M", "Q", "Y"):
        mine = sorted((int(number.rsplit("-", 1)[1]), issued) for s, number, issued, _ in issued_numbers if s == series)
        assert [seq for seq, _ in mine] == list(range(1, len(mine) + 1)) == list(range(1, last[series] + 1))  # gapless
        assert [issued for _, issued in mine] == sorted(issued for _, issued in mine)  # in the order of issue


def test_a_refused_occurrence_is_visible_retried_and_gives_its_number_back(api, database, archive):
    taken = api.post("/api/v1/invoices", json={**load_example("invoice-fr-b2b"), "number": "DUP-000001", "issue_date": "2026-03-01"})
    assert taken.status_code == 201
    created = api.post("/api/v1/recurring/schedules", json=schedule("DUP", "monthly", "2026-03-01"))
    with database.session() as session:
        tenant = session.get(Schedule, created.get_json()["id"]).tenant_id
    assert service.run(database, archive, None, date(2026, 3, 1), tenant_id=tenant).failed == 1
    assert service.run(database, archive, None, date(2026, 3, 2), tenant_id=tenant).failed == 1
    [occurrence] = api.get(f"/api/v1/recurring/schedules/{created.get_json()['id']}").get_json()["occurrences"]
    assert (occurrence["state"], occurrence["attempts"], occurrence["number"], occurrence["invoice_id"]) == ("failed", 2, None, None)
    assert re.search(r"DUP-000001", occurrence["error"]) and "already" in occurrence["error"]
    with database.session() as session:
        assert session.scalar(select(InvoiceSeries.last_number).where(InvoiceSeries.tenant_id == tenant)) == 0
        assert session.scalar(select(func.count()).select_from(Occurrence).where(Occurrence.tenant_id == tenant)) == 1
    preview = api.get("/api/v1/recurring/preview?as_of=2026-04-01").get_json()
    assert [d["on"] for d in preview["due"]] == ["2026-03-01", "2026-04-01"]
    assert api.get("/api/v1/recurring/preview?as_of=2026-02-30").status_code == 400


def test_the_worker_issues_recurring_invoices_unless_turned_off(gateway_config, database, archive):
    on = Worker(Deliverer(database, archive, gateway_config), 1)._scheduler
    assert on is not None and on.get_job("recurring") is not None
    off_config = replace(gateway_config, sections={**gateway_config.sections, "recurring": {"enabled": False}})
    off_database = Database(off_config)
    try:
        off = Worker(Deliverer(off_database, archive, off_config), 1)._scheduler
    finally:
        off_database.dispose()
    assert off is not None and off.get_job("recurring") is None

"""Bad input: a rule that never fires or fires hourly, a template error, an end before the start, a number format
without {seq}, another tenant's invoice to repeat → 422 naming each problem, nothing created; a schedule from an
earlier invoice repeats it."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.recurring import service
from gateway.recurring.models import Schedule
from tests.conftest import load_example
from tests.recurring.helpers import schedule, template


def _broken_template() -> dict:
    broken = template()
    del broken["lines"][0]["item_name"]
    return broken


REFUSED = [
    ("never fires", schedule("A", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "2026-01-01"), "/rule", "never fires"),
    ("ended before firing", schedule("A", "yearly", "2026-03-01", end="2026-12-31") | {"rule": "FREQ=YEARLY;BYMONTH=1"}, "/rule",
     "never fires between 2026-03-01 and 2026-12-31"),
    ("hourly", schedule("A", "FREQ=HOURLY", "2026-01-01"), "/rule", "at most daily"),
    ("not a rule", schedule("A", "every other tuesday", "2026-01-01"), "/rule", "iCalendar RRULE"),
    ("template error", schedule("A", "monthly", "2026-01-01", template=_broken_template()), "/template/lines/0/item_name", "is required"),
    ("end before start", schedule("A", "monthly", "2026-01-01", end="2025-12-31"), "/end", "before the start"),
    ("bad date", schedule("A", "monthly", "2026-13-01"), "/start", "not a date"),
    ("no seq", schedule("A", "monthly", "2026-01-01", number_format="{series}-{year}"), "/number_format", "{seq}"),
    ("bad series", schedule("A B", "monthly", "2026-01-01"), "/series", "letters, digits"),
    ("no template", {k: v for k, v in schedule("A", "monthly", "2026-01-01").items() if k != "template"}, "/template", "template"),
    ("unknown member", schedule("A", "monthly", "2026-01-01", every="month"), "/every", "unknown member"),
]  # fmt: skip


@pytest.mark.parametrize(("why", "body", "pointer", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_bad_schedule_is_refused_with_its_pointer_and_nothing_is_created(api, why, body, pointer, words):
    response = api.post("/api/v1/recurring/schedules", json=body)
    assert response.status_code == 422, response.get_json()
    problem = response.get_json()
    assert problem["code"] == "invalid_schedule"
    assert any(e["pointer"].startswith(pointer) and words in e["detail"] for e in problem["errors"]), problem
    assert api.get("/api/v1/recurring/schedules").get_json()["schedules"] == []


def test_a_schedule_repeats_an_earlier_invoice_of_the_tenant_only(api, other_api, database, archive):
    earlier = api.post("/api/v1/invoices", json={**load_example("invoice-fr-b2b"), "number": "F-2026-REP"}).get_json()
    body = {"name": "Contrat annuel", "series": "CTR", "rule": "yearly", "start": "2026-12-01", "from_invoice": earlier["id"]}
    assert other_api.post("/api/v1/recurring/schedules", json=body).get_json()["errors"][0]["pointer"] == "/from_invoice"
    created = api.post("/api/v1/recurring/schedules", json=body)
    assert created.status_code == 201, created.get_json()
    with database.session() as session:
        tenant = session.get(Schedule, created.get_json()["id"]).tenant_id
    assert service.run(database, archive, None, date(2026, 12, 1), tenant_id=tenant).issued == 1
    [occurrence] = api.get(f"/api/v1/recurring/schedules/{created.get_json()['id']}").get_json()["occurrences"]
    repeated = api.get(f"/api/v1/invoices/{occurrence['invoice_id']}").get_json()
    assert (repeated["number"], repeated["state"]) == ("CTR-000001", "validated")
    assert repeated["totals"]["amount_due"] == earlier["totals"]["amount_due"]


def test_a_series_keeps_its_number_format(api):
    assert (
        api.post("/api/v1/recurring/schedules", json=schedule("S1", "monthly", "2026-01-01", number_format="S1/{year}/{seq:04d}")).status_code == 201
    )
    again = api.post("/api/v1/recurring/schedules", json=schedule("S1", "monthly", "2026-01-01", number_format="{series}{seq}"))
    assert again.status_code == 422 and "keeps its format" in again.get_json()["errors"][0]["detail"]

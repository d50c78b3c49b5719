"""The 24-hour deadlines toward the PPF, as pure functions."""

from __future__ import annotations

from datetime import timedelta

from gateway.lifecycle.deadlines import REGULATORY_DATA, STATUS_REPORT, Deadline, Reportable, deadlines, late, owed
from tests.lifecycle.helpers import AT

HOUR = timedelta(hours=1)


def test_what_each_status_owes_the_ppf():
    owes = {code: owed(Reportable(1, "i", code, AT)) for code in ("200", "201", "205", "210", "212", "213")}
    assert owes == {
        "200": (REGULATORY_DATA, STATUS_REPORT),
        "201": (),
        "205": (),
        "210": (STATUS_REPORT,),
        "212": (STATUS_REPORT,),
        "213": (STATUS_REPORT,),
    }


def test_deadlines_are_24_hours_after_the_status_and_late_when_missed():
    events = [Reportable(1, "a", "200", AT), Reportable(2, "a", "212", AT + 5 * HOUR), Reportable(3, "b", "205", AT)]
    done = {(1, REGULATORY_DATA): AT + 3 * HOUR, (1, STATUS_REPORT): AT + 25 * HOUR}
    found = deadlines(events, done)
    assert found == [
        Deadline(REGULATORY_DATA, "a", 1, "200", AT + 24 * HOUR, AT + 3 * HOUR),
        Deadline(STATUS_REPORT, "a", 1, "200", AT + 24 * HOUR, AT + 25 * HOUR),
        Deadline(STATUS_REPORT, "a", 2, "212", AT + 29 * HOUR, None),
    ]
    assert late(found, AT + 20 * HOUR) == [found[1]]  # done after its due time: late for good
    assert late(found, AT + 30 * HOUR) == [found[1], found[2]]
    assert [d.late(AT + 24 * HOUR) for d in found] == [False, True, False]  # exactly at the due time is still on time
    assert found[2].to_dict(AT + 30 * HOUR) == {
        "kind": "F6",
        "event": 2,
        "status": "212",
        "due": (AT + 29 * HOUR).isoformat(),
        "done_at": None,
        "late": True,
    }

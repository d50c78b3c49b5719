"""Eight runs at once (threads, each with its own connections): every due tier is planned once and sent once."""

from __future__ import annotations

import threading
from datetime import date, timedelta

from gateway.dunning import service
from gateway.store import models as db
from tests.dunning.helpers import POLICY, issue, messages_to

DUE = date(2026, 10, 1)


def test_eight_concurrent_runs_send_each_reminder_once(api, database, archive, smtp, mailer, settings):
    assert api.put("/api/v1/dunning/policies/default", json=POLICY).status_code == 200
    numbers = [f"CONC-{i:02d}" for i in range(6)]
    ids = [issue(api, database, archive, number, DUE - timedelta(days=i * 10))["id"] for i, number in enumerate(numbers)]
    with database.session() as session:
        tenant = session.get(db.Invoice, ids[0]).tenant_id
    before = len(smtp.messages)
    start, failures = threading.Barrier(8), []

    def one_run() -> None:
        start.wait()
        try:
            service.run(database, archive, mailer, settings, DUE + timedelta(days=30), tenant_id=tenant)
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=one_run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with database.session() as session:
        rows = [(r.invoice_id, r.tier, r.state) for invoice_id in ids for r in service.reminders_of(session, invoice_id) if r.state != "skipped"]
    assert len(rows) == len(ids) and all(state == "sent" for *_, state in rows)  # one tier each: the highest due on that day
    received = smtp.messages[before:]
    assert sorted(number for number in numbers for m in received if number.encode() in m.content) == sorted(numbers)
    assert len(received) == len(ids)
    assert len(messages_to(smtp, "claire.martin@boulangeries-martin.example")) >= len(ids)

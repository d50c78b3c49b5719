"""`receive()` itself on SQLite and PostgreSQL: two receptions of the same invoice at the same moment give one 202 and its DOUBLON."""

from __future__ import annotations

import threading
import uuid

from gateway import intake
from gateway.reception.service import Received, receive
from gateway.store.models import Tenant
from gateway.store.tenants import create_tenant
from tests.connectors.documents import numbered

DEADLINE = 60.0


def test_concurrent_receptions_of_one_invoice_give_one_202_and_its_doublon(database, archive, monkeypatch):
    """The second checks for a duplicate before the first commits (nothing found), so only the insert can find it."""
    with database.session() as session:
        tenant_id = create_tenant(session, f"rx-race-{uuid.uuid4().hex[:8]}").id
    data = numbered("ubl", "RX-RACE-1")
    first_stored, second_checked, commit_first = threading.Event(), threading.Event(), threading.Event()
    checks: list[str | None] = []
    find_duplicate = intake.find_duplicate

    def watched(*args, **kwargs):
        found = find_duplicate(*args, **kwargs)
        checks.append(found.id if found else None)
        if threading.current_thread().name == "second":
            second_checked.set()
        return found

    monkeypatch.setattr(intake, "find_duplicate", watched)
    outcomes: dict[str, Received] = {}

    def reception() -> None:
        with database.sessionmaker() as session:
            name = threading.current_thread().name
            outcomes[name] = receive(session, archive, session.get_one(Tenant, tenant_id), data, "application/xml", channel="email")
            if name == "first":
                first_stored.set()
                assert commit_first.wait(DEADLINE)
            session.commit()

    first = threading.Thread(target=reception, name="first")
    first.start()
    assert first_stored.wait(DEADLINE)  # stored, not committed
    second = threading.Thread(target=reception, name="second")
    second.start()
    assert second_checked.wait(DEADLINE)  # found nothing: the first is not committed; its insert now waits for the first
    commit_first.set()
    first.join(DEADLINE)
    second.join(DEADLINE)
    assert not first.is_alive() and not second.is_alive()
    assert outcomes["first"].status == "202"
    assert (outcomes["second"].status, outcomes["second"].duplicate_of) == ("213", outcomes["first"].invoice.id)
    assert [r.code for r in outcomes["second"].reasons] == ["DOUBLON"]
    assert checks == [None, None, outcomes["first"].invoice.id]  # the second checked again after its insert failed

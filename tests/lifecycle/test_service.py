"""Recording lifecycle events on SQLite and PostgreSQL: the nominal walk, partners' CDAR messages, flags, the archive, deadlines."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from gateway.archive.models import ArchiveEntry
from gateway.lifecycle import codes, service
from gateway.lifecycle.cdar import build_cdar
from gateway.lifecycle.events import Amount, StatusChange
from gateway.lifecycle.models import LifecycleEvent
from gateway.store import models as db
from gateway.store.tenants import tenant_for_key
from tests.lifecycle.helpers import INVOICE, ISSUER_OF, PLATFORM, SELLER, incoming_invoice, submit_outgoing, valid_change

PARTNER = "platform:0099"


def _now() -> datetime:
    """The next whole second (CDAR times have no fraction): after anything recorded so far."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)


def _cdar(change: StatusChange) -> bytes:
    """The message the buyer's platform sends about the example invoice."""
    return build_cdar(change, INVOICE, issuer=ISSUER_OF[change.role], sender=PLATFORM, recipients=[SELLER])


def _receive(database, archive, api, change: StatusChange) -> service.Recorded:
    with database.session() as session:
        return service.receive_cdar(session, archive, tenant_for_key(session, api.key), _cdar(change), actor=PARTNER)


def _record(database, archive, invoice_id: str, change: StatusChange, **options) -> service.Recorded:
    with database.session() as session:
        options = {"source": service.SOURCE_GATEWAY, "actor": "gateway", **options}
        return service.record(session, archive, session.get(db.Invoice, invoice_id), change, **options)


def _events(database, invoice_id: str) -> list[tuple[str, bool | None, str]]:
    with database.session() as session:
        return [(e.code, life.applied if life else None, e.source) for e, life in service.timeline(session, session.get(db.Invoice, invoice_id))]


def _status(database, invoice_id: str) -> str:
    with database.session() as session:
        return session.get(db.Invoice, invoice_id).status


def test_an_outgoing_invoice_walks_the_nominal_cycle(api, database, archive):
    invoice_id = submit_outgoing(api)
    start = _now()
    _record(database, archive, invoice_id, StatusChange("201", start + timedelta(seconds=1), codes.PLATFORM))
    for step, code in enumerate(("202", "203", "204", "205", "211"), start=2):
        recorded = _receive(database, archive, api, valid_change(code, start + timedelta(seconds=step)))
        assert recorded.decision.applied and recorded.lifecycle.message_type == "application/xml"
    collected = {"code": "212", "time": (start + timedelta(seconds=7)).isoformat(), "amounts": [{"amount": "1105.50", "vat_rate": "20.00"}]}
    assert api.post(f"/api/v1/invoices/{invoice_id}/statuses", json=collected).status_code == 201

    assert _events(database, invoice_id) == [
        ("200", None, "gateway-intake"),
        ("201", True, "gateway"),
        *[(code, True, "partner") for code in ("202", "203", "204", "205", "211")],
        ("212", True, "api"),
    ]
    assert _status(database, invoice_id) == "212"
    with database.session() as session:
        entries = session.scalars(select(ArchiveEntry).where(ArchiveEntry.invoice_id == invoice_id).order_by(ArchiveEntry.seq)).all()
        kinds = [e.kind for e in entries]
        assert kinds.count("status") == 8 and kinds.count("status-message") == 6
        records = [json.loads(archive.read(e.content_sha256)) for e in entries if e.kind == "status"]
        assert [r["code"] for r in records] == ["200", "201", "202", "203", "204", "205", "211", "212"]
        lives = session.scalars(select(LifecycleEvent).join(db.StatusEvent).where(db.StatusEvent.invoice_id == invoice_id)).all()
        messages = {e.content_sha256 for e in entries if e.kind == "status-message"}
        assert {life.message_sha256 for life in lives} - {None} == messages
        assert archive.verify(session).ok


def test_partner_messages_out_of_order_or_after_the_end_are_recorded_and_flagged(api, database, archive):
    invoice_id = submit_outgoing(api)
    start = _now()
    _receive(database, archive, api, valid_change("205", start + timedelta(seconds=1)))
    late = _receive(database, archive, api, valid_change("202", start))  # the buyer's platform sent it first; it arrived last
    assert late.decision.outcome == "flagged" and "received out of order" in late.lifecycle.flag
    _receive(database, archive, api, valid_change("210", start + timedelta(seconds=2)))
    after_end = _receive(database, archive, api, valid_change("205", start + timedelta(seconds=3)))
    assert not after_end.lifecycle.applied and "life ended with 210 Refusée" in after_end.lifecycle.flag
    assert _status(database, invoice_id) == "210"
    assert _events(database, invoice_id) == [  # in the order received; the late 202 keeps the time it states
        ("200", None, "gateway-intake"),
        ("205", True, "partner"),
        ("202", False, "partner"),
        ("210", True, "partner"),
        ("205", False, "partner"),
    ]
    response = api.get(f"/api/v1/invoices/{invoice_id}/statuses").get_json()
    assert [(e["code"], e["applied"], bool(e["flag"])) for e in response["events"]][-1] == ("205", False, True)
    assert [e["stated_early"] for e in response["events"]] == [False, False, True, False, False]
    assert [d["status"] for d in response["deadlines"]] == ["200", "200"]  # the partner's 210 is the buyer's platform's to report


def test_a_duplicate_transmission_rejected_does_not_reject_the_invoice(api, database, archive):
    invoice_id = submit_outgoing(api)
    start = _now()
    _receive(database, archive, api, valid_change("202", start))
    duplicate = _receive(database, archive, api, replace(valid_change("213", start + timedelta(seconds=1)), reason_code="DOUBLON"))
    assert not duplicate.lifecycle.applied and "a second transmission was rejected" in duplicate.lifecycle.flag
    assert _status(database, invoice_id) == "202"


def test_messages_the_rules_or_the_artefacts_refuse_leave_no_trace(api, database, archive):
    invoice_id = submit_outgoing(api)
    with pytest.raises(service.CdarRejected) as rejected:  # 210 without its reason: the DGFiP schematron says so
        _receive(database, archive, api, replace(valid_change("210"), reason_code=None))
    assert any("BR-FR-CDV-15" in d.message for d in rejected.value.details)
    with pytest.raises(service.StatusRefused, match="212 Encaissée is set by the seller, not by the buyer"):
        _receive(database, archive, api, valid_change("212", role=codes.BUYER))
    with pytest.raises(service.UnknownInvoice):
        _receive(database, archive, other_tenant_api(api), valid_change("205"))
    assert _events(database, invoice_id) == [("200", None, "gateway-intake")]


def other_tenant_api(api):
    """An API client of a new tenant (for whom the example invoice does not exist)."""
    from tests.api.conftest import Api, new_tenant_key

    app = api.client.application
    return Api(app, new_tenant_key(app))


def test_changes_on_one_invoice_are_serialised(api, database, archive):
    invoice_id = incoming_invoice(database, api)
    refused = threading.Event()
    outcome: dict[str, str] = {}

    def refuse() -> None:
        with database.session() as session:
            service.record(session, archive, session.get(db.Invoice, invoice_id), valid_change("210", _now()), source="api", actor="a", strict=True)
            refused.set()
            time.sleep(0.5)  # commit late: the approval must wait for the lock, then see 210

    def approve() -> None:
        refused.wait(10)
        try:
            with database.session() as session:
                service.record(
                    session, archive, session.get(db.Invoice, invoice_id), valid_change("205", _now()), source="api", actor="b", strict=True
                )
            outcome["approve"] = "recorded"
        except service.IllegalTransition as exc:
            outcome["approve"] = exc.message

    threads = [threading.Thread(target=refuse), threading.Thread(target=approve)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert "life ended with 210 Refusée" in outcome["approve"]
    assert _events(database, invoice_id) == [("202", None, "gateway"), ("210", True, "api")]


def test_deadlines_and_reports_to_the_ppf(api, database, archive):
    invoice_id = submit_outgoing(api)
    with database.session() as session:
        tenant_id = tenant_for_key(session, api.key).id
        [deposited] = [e for e in session.get(db.Invoice, invoice_id).events if e.code == "200"]
        deadlines = service.deadlines_of(session, tenant_id, invoice_id)
        assert [(d.kind, d.due, d.done_at) for d in deadlines] == [
            ("F1", deposited.time + timedelta(hours=24), None),
            ("F6", deposited.time + timedelta(hours=24), None),
        ]
        assert service.late_deadlines(session, tenant_id, deposited.time + timedelta(hours=23)) == []
        assert [d.kind for d in service.late_deadlines(session, tenant_id, deposited.time + timedelta(hours=25))] == ["F1", "F6"]
        service.record_report(session, deposited, "F1", deposited.time + timedelta(hours=2))
        service.record_report(session, deposited, "F6", deposited.time + timedelta(hours=30))
        with pytest.raises(ValueError):
            service.record_report(session, deposited, "F9", deposited.time)
    with database.session() as session:
        late = service.late_deadlines(session, tenant_id, deposited.time + timedelta(days=3))
        assert [(d.kind, d.event_id, d.done_at) for d in late] == [("F6", deposited.id, deposited.time + timedelta(hours=30))]
    _record(database, archive, invoice_id, StatusChange("201", _now(), codes.PLATFORM))  # delivered: a payment may follow
    _record(database, archive, invoice_id, valid_change("212", _now()), source="payment")
    response = api.get(f"/api/v1/invoices/{invoice_id}/statuses").get_json()
    assert [(d["kind"], d["status"], d["done_at"] is not None) for d in response["deadlines"]] == [
        ("F1", "200", True),
        ("F6", "200", True),
        ("F6", "212", False),
    ]


def test_a_relayed_collection_above_what_is_due_is_recorded_flagged_and_an_api_one_refused(api, database, archive):
    invoice_id = submit_outgoing(api)
    _record(database, archive, invoice_id, StatusChange("201", _now(), codes.PLATFORM))
    too_much = replace(valid_change("212", _now()), amounts=(Amount(codes.COLLECTED, Decimal("14895.01"), "EUR", Decimal("20")),))
    relayed = _record(database, archive, invoice_id, too_much, source=service.SOURCE_PARTNER, actor="a partner", relayed=True)
    assert relayed.decision.outcome == "flagged" and "above the 14895.00 the invoice asks for" in relayed.decision.why
    with pytest.raises(service.StatusRefused, match=r"above the 14895\.00 the invoice asks for"):
        _record(database, archive, invoice_id, too_much, source=service.SOURCE_API, actor="tenant", strict=True)
    assert _events(database, invoice_id) == [("200", None, "gateway-intake"), ("201", True, "gateway"), ("212", False, "partner")]
    assert _status(database, invoice_id) == "201"
    with database.session() as session:
        position = service.balance(session, archive, session.get(db.Invoice, invoice_id))
        assert position is not None and position.collected_total == 0  # a flagged 212 collected nothing

"""The lifecycle issue's acceptance walks, end to end on SQLite and PostgreSQL: an outgoing invoice through the nominal cycle
(200 → 201 → 202 → 203 → 204 → 205 → 211 → 212), a refused one (210 with a reason code) and a rejected one (213); for each, the
timeline, the archive entries, and the signed webhooks a real HTTP receiver got (each verified with the published snippet)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from gateway.archive.models import ArchiveEntry
from gateway.lifecycle import codes, service
from gateway.lifecycle.cdar import build_cdar
from gateway.lifecycle.events import StatusChange
from gateway.store import models as db
from gateway.store.tenants import tenant_for_key
from gateway.webhooks import sender, signing
from gateway.webhooks.models import EVENTS
from tests.lifecycle.helpers import INVOICE, ISSUER_OF, PLATFORM, SELLER, submit_outgoing, valid_change
from tests.webhooks.conftest import documented_verify, receiver  # noqa: F401  (the receiver fixture)

verify = documented_verify()
PARTNER = "platform:0099"


def _subscribe(api, url: str) -> str:
    response = api.post("/api/v1/webhooks", json={"url": url, "events": list(EVENTS)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["secret"]


def _partner(database, archive, api, number: str, change: StatusChange) -> service.Recorded:
    """The buyer's platform reports `change` on invoice `number` with a CDAR message."""
    message = build_cdar(change, INVOICE.__class__(number, INVOICE.issue_date, "380", SELLER.siren, received_at=INVOICE.received_at),
                         issuer=ISSUER_OF[change.role], sender=PLATFORM, recipients=[SELLER])  # fmt: skip
    with database.session() as session:
        return service.receive_cdar(session, archive, tenant_for_key(session, api.key), message, actor=PARTNER)


def _emitted(database, archive, invoice_id: str, change: StatusChange) -> None:
    """The gateway's own status (201 Émise par la plateforme)."""
    with database.session() as session:
        service.record(session, archive, session.get(db.Invoice, invoice_id), change, source=service.SOURCE_GATEWAY, actor="gateway")


def _webhooks(database, receiver, secret: str, invoice_id: str) -> list[tuple[str, str]]:  # noqa: F811
    """Send what is due; the (event, status) pairs the receiver got about the invoice, every signature verified."""
    sender.send_due(database)
    pairs = []
    for got in receiver.received:
        assert verify(secret, got.body, got.headers[signing.HEADER])
        body = json.loads(got.body)
        if body["data"]["invoice"]["id"] == invoice_id:
            pairs.append((body["event"], body["data"]["invoice"]["status"]))
    return pairs


def _archived_codes(database, archive, invoice_id: str) -> list[str]:
    """The status codes of the invoice's archived event records, in chain order; the archive verifies."""
    with database.session() as session:
        entries = session.scalars(select(ArchiveEntry).where(ArchiveEntry.invoice_id == invoice_id).order_by(ArchiveEntry.seq)).all()
        assert archive.verify(session).ok
        return [json.loads(archive.read(e.content_sha256))["code"] for e in entries if e.kind == "status"]


def _timeline(api, invoice_id: str) -> list[tuple[str, bool]]:
    response = api.get(f"/api/v1/invoices/{invoice_id}/statuses")
    assert response.status_code == 200
    return [(e["code"], e["applied"]) for e in response.get_json()["events"]]


def _start() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)


def test_the_nominal_cycle_is_timed_archived_and_announced(api, database, archive, receiver):  # noqa: F811
    secret = _subscribe(api, receiver.url)
    number = "ACC-NOMINAL-1"
    invoice_id = submit_outgoing(api, number)
    start = _start()
    _emitted(database, archive, invoice_id, StatusChange("201", start, codes.PLATFORM))
    for step, code in enumerate(("202", "203", "204", "205", "211"), start=1):
        assert _partner(database, archive, api, number, valid_change(code, start + timedelta(seconds=step))).decision.applied
    collected = {"code": "212", "time": (start + timedelta(seconds=9)).isoformat(),
                 "amounts": [{"amount": "1000.00", "vat_rate": "20.00"}, {"amount": "52.54", "vat_rate": "5.50"}]}  # fmt: skip
    assert api.post(f"/api/v1/invoices/{invoice_id}/statuses", json=collected).status_code == 201

    walk = ["200", "201", "202", "203", "204", "205", "211", "212"]
    assert _timeline(api, invoice_id) == [(code, True) for code in walk]
    assert _archived_codes(database, archive, invoice_id) == walk
    assert _webhooks(database, receiver, secret, invoice_id) == [("invoice.accepted", "200")] + [("invoice.status_changed", c) for c in walk[1:]]


def test_a_refused_invoice_ends_with_its_reason(api, database, archive, receiver):  # noqa: F811
    secret = _subscribe(api, receiver.url)
    number = "ACC-REFUSED-1"
    invoice_id = submit_outgoing(api, number)
    start = _start()
    _partner(database, archive, api, number, valid_change("202", start))
    refusal = valid_change("210", start + timedelta(seconds=1))
    assert refusal.reason_code and refusal.comment
    assert _partner(database, archive, api, number, refusal).decision.applied
    late = _partner(database, archive, api, number, valid_change("205", start + timedelta(seconds=2)))
    assert not late.decision.applied  # 210 ended the invoice's life: recorded and flagged, not applied

    events = api.get(f"/api/v1/invoices/{invoice_id}/statuses").get_json()["events"]
    [refused] = [e for e in events if e["code"] == "210"]
    assert refused["reason_code"] == refusal.reason_code and refused["applied"]
    assert _timeline(api, invoice_id) == [("200", True), ("202", True), ("210", True), ("205", False)]
    assert _archived_codes(database, archive, invoice_id) == ["200", "202", "210", "205"]
    assert _webhooks(database, receiver, secret, invoice_id) == [
        ("invoice.accepted", "200"), ("invoice.status_changed", "202"), ("invoice.status_changed", "210"),
    ]  # fmt: skip
    assert api.post(f"/api/v1/invoices/{invoice_id}/statuses", json={"code": "211"}).status_code == 409


def test_a_rejected_invoice_ends_with_its_reason(api, database, archive, receiver):  # noqa: F811
    secret = _subscribe(api, receiver.url)
    number = "ACC-REJECTED-1"
    invoice_id = submit_outgoing(api, number)
    rejection = valid_change("213", _start())
    assert rejection.reason_code in codes.status("213").reasons
    assert _partner(database, archive, api, number, rejection).decision.applied

    assert _timeline(api, invoice_id) == [("200", True), ("213", True)]
    assert _archived_codes(database, archive, invoice_id) == ["200", "213"]
    assert _webhooks(database, receiver, secret, invoice_id) == [("invoice.accepted", "200"), ("invoice.status_changed", "213")]
    assert api.get(f"/api/v1/invoices/{invoice_id}").get_json()["status"] == "213"

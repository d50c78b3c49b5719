"""The sandbox connector on its own: the simulated recipient's inbox on disk, and the statuses it plays back on a clock the test holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connectors import base
from connectors.base import ConnectorError, StatusAmount
from connectors.sandbox import SandboxConnector
from tests.connectors.documents import document, envelope

NOTE = "Merci de rappeler le numéro de facture dans votre virement."


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def sandbox(tmp_path, clock: Clock, **settings) -> SandboxConnector:
    return SandboxConnector({"folder": str(tmp_path), "tenant": "atelier-dupont", "step_seconds": 10, **settings}, clock=clock)


def asking(kind: str, marker: str, number: str) -> bytes:
    """The example as `kind` XML under `number`, a note of which asks the sandbox for `marker`."""
    return document(kind).replace(b"F2026-000142", number.encode()).replace(NOTE.encode(), f"{marker} {NOTE}".encode())


def test_it_is_a_registered_connector_that_needs_no_network(tmp_path, clock):
    built = base.get("sandbox", {"folder": str(tmp_path), "tenant": "t"})
    assert isinstance(built, base.Connector) and built.name == "sandbox" and "sandbox" in base.registered()
    assert built.health() == {"status": "ok", "sandbox": True, "inbox": str(built.settings.inbox)}


def test_send_files_the_document_in_the_tenants_inbox_and_answers_a_receipt(tmp_path, clock):
    connector = sandbox(tmp_path, clock)
    sent = envelope("facturx")
    receipt = connector.send(sent)
    assert receipt.accepted and not receipt.pending and receipt.connector == "sandbox" and receipt.remote_id.startswith("sandbox-")
    assert "nothing left the gateway" in receipt.message
    inbox = connector.settings.inbox
    assert inbox.parent == tmp_path and inbox.name.startswith("atelier-dupont-")
    record = json.loads((inbox / f"{receipt.remote_id}.json").read_text())
    assert record == json.loads(receipt.raw)
    assert (record["invoice_number"], record["tenant"], record["verdict"], record["pay"]) == ("F2026-000142", "atelier-dupont", "approve", False)
    assert (inbox / record["document"]).read_bytes() == sent.document and record["document"].endswith(".pdf")

    clock.now += timedelta(minutes=5)
    again = connector.send(sent)  # a retry of the same delivery: the same id, the first reception kept
    assert again.remote_id == receipt.remote_id and json.loads(again.raw)["received_at"] == record["received_at"]
    assert len(list(inbox.glob("*.json"))) == 1


def test_the_statuses_are_played_back_in_order_one_step_apart(tmp_path, clock):
    connector = sandbox(tmp_path, clock)
    start = clock.now
    receipt = connector.send(envelope("ubl"))
    assert connector.fetch_statuses(start - timedelta(minutes=2)) == []  # nothing answered yet
    clock.now += timedelta(seconds=25)
    played = connector.fetch_statuses(start - timedelta(minutes=2))
    assert [(u.code, u.at - start) for u in played] == [("202", timedelta(seconds=10)), ("204", timedelta(seconds=20))]
    assert all(u.remote_id == receipt.remote_id and u.invoice_number == "F2026-000142" and u.detail.startswith("sandbox: ") for u in played)
    clock.now += timedelta(hours=1)
    assert [u.code for u in connector.fetch_statuses(start + timedelta(seconds=21))] == ["205"]  # since the last poll: the approval alone
    assert [u.code for u in connector.fetch_statuses(start - timedelta(minutes=2))] == ["202", "204", "205"]  # nothing more: not paid


def test_a_note_asking_for_payment_gets_211_and_212_with_the_amounts_due(tmp_path, clock):
    connector = sandbox(tmp_path, clock, step_seconds=0)
    connector.send(envelope("cii", document=asking("cii", "sandbox:pay", "F-PAY-1"), invoice_number="F-PAY-1", idempotency_key="pay-1"))
    played = connector.fetch_statuses(clock.now - timedelta(minutes=2))
    assert [u.code for u in played] == ["202", "204", "205", "211", "212"]
    paid, collected = played[3], played[4]
    assert paid.amounts == (StatusAmount("MPA", Decimal("14947.54"), "EUR"),)
    assert collected.amounts == (
        StatusAmount("MEN", Decimal("14895.00"), "EUR", Decimal("20")),
        StatusAmount("MEN", Decimal("52.54"), "EUR", Decimal("5.5")),
    )


def test_a_note_asking_for_refusal_gets_210_with_its_reason(tmp_path, clock):
    connector = sandbox(tmp_path, clock, step_seconds=0, pay=True)
    connector.send(envelope("ubl", document=asking("ubl", "SANDBOX:REFUSE", "F-REF-1"), invoice_number="F-REF-1", idempotency_key="refuse-1"))
    played = connector.fetch_statuses(clock.now - timedelta(minutes=2))
    assert [(u.code, u.reason_code) for u in played] == [("202", None), ("204", None), ("210", "TRANSAC_INC")]
    assert "refused" in played[-1].detail


def test_the_settings_decide_when_the_invoice_asks_nothing(tmp_path, clock):
    refusing = sandbox(tmp_path / "refusing", clock, step_seconds=0, verdict="refuse", pay=True)
    refusing.send(envelope("ubl"))
    assert [u.code for u in refusing.fetch_statuses(clock.now - timedelta(minutes=2))] == ["202", "204", "210"]
    paying = sandbox(tmp_path / "paying", clock, step_seconds=0, pay=True)
    paying.send(envelope("ubl"))
    assert [u.code for u in paying.fetch_statuses(clock.now - timedelta(minutes=2))] == ["202", "204", "205", "211", "212"]


def test_tenants_have_their_own_inbox(tmp_path, clock):
    mine, theirs = sandbox(tmp_path, clock, step_seconds=0), sandbox(tmp_path, clock, step_seconds=0, tenant="Atelier Dupont")
    mine.send(envelope("ubl"))
    assert mine.settings.inbox != theirs.settings.inbox
    assert theirs.fetch_statuses(clock.now - timedelta(minutes=2)) == [] and len(mine.fetch_statuses(clock.now - timedelta(minutes=2))) == 3


def test_a_document_the_recipient_cannot_read_is_a_permanent_failure(tmp_path, clock):
    with pytest.raises(ConnectorError) as failed:
        sandbox(tmp_path, clock).send(envelope("ubl", document=b"not an invoice"))
    assert (failed.value.transient, failed.value.code) == (False, "invalid-document")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"colour": "red"}, "unknown sandbox setting(s) colour"),
        ({"step_seconds": -1}, "step_seconds must be a number of seconds, 0 or more"),
        ({"step_seconds": True}, "step_seconds must be a number of seconds"),
        ({"verdict": "maybe"}, "verdict must be one of approve, refuse"),
        ({"pay": "yes"}, "pay must be true or false"),
    ],
)
def test_wrong_settings_are_refused(tmp_path, clock, settings, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        sandbox(tmp_path, clock, **settings)

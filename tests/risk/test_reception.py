"""Risk checks at reception, end to end: partners' UBL invoices received through the API; each accepted one assessed
against its supplier's earlier invoices, the assessment stored and served, the history kept in the database."""

from __future__ import annotations

import copy

from gateway.formats.ubl import write_ubl
from gateway.model.serialize import invoice_from_json
from gateway.model.totals import complete
from tests.conftest import load_example
from tests.lifecycle.helpers import submit_outgoing

CHANGED_IBAN = "FR7630004000031234567890143"


def _ubl(number: str, quantity: str = "1", iban: str | None = None) -> bytes:
    data = copy.deepcopy(load_example("invoice-fr-b2b"))
    data["number"], data["lines"][0]["quantity"] = number, quantity
    if iban:
        data["payment"]["credit_transfers"][0]["account_id"] = iban
    invoice = invoice_from_json(data)
    complete(invoice)
    return write_ubl(invoice)


def _receive(api, data: bytes) -> tuple[str, dict]:
    response = api.post("/api/v1/inbound", data=data, headers={"Content-Type": "application/xml"})
    assert response.status_code == 201, response.get_json()
    invoice_id = response.get_json()["invoice"]["id"]
    risk = api.get(f"/api/v1/invoices/{invoice_id}/risk")
    assert risk.status_code == 200, risk.get_json()
    return invoice_id, risk.get_json()


def _kinds(risk: dict) -> set[str]:
    return {f["kind"] for f in risk["findings"] if f["severity"] != "info"}


def test_a_changed_iban_and_a_renumbered_duplicate_are_held(api, other_api):
    levels = []
    for index, quantity in enumerate(("1", "2", "3", "4")):  # different amounts: the same amount on the same day is a possible duplicate
        _, risk = _receive(api, _ubl(f"RISK-2026-{index:04d}", quantity))
        assert _kinds(risk) == set(), risk
        levels.append(risk["level"])
    assert levels == ["normal", "normal", "normal", "auto_approve"]  # a supplier is known after three invoices

    held_id, held = _receive(api, _ubl("RISK-2026-0004", "5", iban=CHANGED_IBAN))
    assert held["level"] == "hold" and _kinds(held) == {"iban_changed"}
    [finding] = [f for f in held["findings"] if f["kind"] == "iban_changed"]
    assert CHANGED_IBAN in finding["explanation"] and finding["evidence"]["known"] == ["FR7630006000011234567890189"]

    _, again = _receive(api, _ubl("RISK-2026-0005", "6"))  # the old account again: the changed one was not learnt
    assert _kinds(again) == set() and again["level"] == "auto_approve"
    _, changed_again = _receive(api, _ubl("RISK-2026-0006", "7", iban=CHANGED_IBAN))  # still unknown until a person approves it
    assert "iban_changed" in _kinds(changed_again)

    _, renumbered = _receive(api, _ubl("risk/2026/001", "2"))  # RISK-2026-0001 written otherwise: the reception's own check misses it
    assert renumbered["level"] == "hold" and "duplicate_number" in _kinds(renumbered)
    assert "'RISK-2026-0001'" in next(f["explanation"] for f in renumbered["findings"] if f["kind"] == "duplicate_number")

    assert other_api.get(f"/api/v1/invoices/{held_id}/risk").status_code == 404  # another tenant's: unknown


def test_an_outgoing_invoice_has_no_assessment(api):
    invoice_id = submit_outgoing(api, "OUT-RISK-1")
    response = api.get(f"/api/v1/invoices/{invoice_id}/risk")
    assert response.status_code == 404 and "no risk assessment" in response.get_json()["detail"]


def test_a_tenant_sets_its_thresholds_and_bad_ones_are_named(api, other_api):
    assert api.get("/api/v1/risk/settings").get_json() == {"hold": 60, "normal": 10, "known_after": 3}
    refused = api.put("/api/v1/risk/settings", json={"hold": 5, "normal": 20, "known_after": -1, "auto": True})
    assert refused.status_code == 422 and refused.get_json()["code"] == "invalid_risk_settings"
    assert [e["pointer"] for e in refused.get_json()["errors"]] == ["/auto", "/known_after"]
    assert [e["pointer"] for e in api.put("/api/v1/risk/settings", json={"hold": 5, "normal": 20}).get_json()["errors"]] == ["/normal"]
    assert api.get("/api/v1/risk/settings").get_json()["hold"] == 60  # nothing changed
    assert api.put("/api/v1/risk/settings", json={"known_after": 0, "normal": 50}).get_json() == {"hold": 60, "normal": 50, "known_after": 0}
    _, first = _receive(api, _ubl("THR-2026-0001"))  # a new supplier, nothing found: approved at once under these settings
    assert first["level"] == "auto_approve"
    assert other_api.get("/api/v1/risk/settings").get_json()["known_after"] == 3  # another tenant keeps the defaults

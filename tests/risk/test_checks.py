"""Each check on facts written by hand (pure functions): what it sees, what it says, and what it must not see."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from gateway.risk.checks import AUTO_APPROVE, HOLD, NORMAL, History, Thresholds, check, level
from gateway.risk.facts import Facts, number_key

IBAN = "FR7630006000011234567890189"
BASE = Facts("732829320", "Atelier Dupont", "F2026-000100", date(2026, 3, 2), Decimal("1200.50"), "EUR", False, IBAN, "a" * 64, "FR",
             "732829320", ("73282932000074",), "FR44732829320")  # fmt: skip


def _history(count: int = 12, spread: str = "40") -> History:
    history = History()
    for n in range(count):
        amount = Decimal("1000.00") + Decimal(spread) * (n % 5)
        history.learn(replace(BASE, number=f"F2026-{n:06d}", issue_date=date(2026, 1, 5) + timedelta(days=3 * n), total=amount,
                              document_sha256=f"{n:064d}"), trusted_iban=True)  # fmt: skip
    return history


def _kinds(facts: Facts, history: History) -> list[str]:
    return [f.kind for f in check(facts, history)]


@pytest.mark.parametrize("written", ["f2026/100", "F-2026-000100", "F2026 00100", "f2026-0100"])
def test_a_number_written_otherwise_is_the_same_number(written):
    assert number_key(written) == number_key("F2026-000100")


@pytest.mark.parametrize("other", ["F2026-000101", "F2025-000100", "F20260-00100", "A2026-000100"])
def test_another_number_is_not(other):
    assert number_key(other) != number_key("F2026-000100")


def test_duplicates():
    history = _history()
    assert _kinds(replace(BASE, number="X", document_sha256=f"{3:064d}"), history) == ["duplicate_document"]
    [finding] = check(replace(BASE, number="f2026/3", total=Decimal("999.99")), history)
    assert (finding.kind, finding.evidence["earlier"]) == ("duplicate_number", "F2026-000003")
    near = replace(BASE, number="F2026-000900", issue_date=date(2026, 1, 19), total=Decimal("1160.00"))  # like F2026-000004, two days later
    assert _kinds(near, history) == ["possible_duplicate"]
    assert _kinds(replace(near, issue_date=date(2026, 3, 2)), history) == []  # the same amount weeks apart: a subscription
    assert _kinds(replace(near, credit_note=True), history) == []


def test_bank_details():
    history = _history()
    changed = check(replace(BASE, iban="FR7630004000031234567890143", total=Decimal("1100.00")), history)
    assert [f.kind for f in changed] == ["iban_changed"] and changed[0].severity == "high"
    assert "FR7630004000031234567890143" in changed[0].explanation and IBAN in changed[0].explanation
    assert _kinds(replace(BASE, iban="FR7630006000011234567890188", total=Decimal("1100.00")), History()) == ["invalid_iban"]
    assert _kinds(replace(BASE, iban="DE89370400440532013000", total=Decimal("1100.00")), History()) == ["iban_country"]
    assert _kinds(replace(BASE, iban=None, total=Decimal("1100.00")), history) == []


def test_identifiers():
    [finding] = check(replace(BASE, siren="732829321", sirets=("73282932100074",), total=Decimal("1100.00")), History())
    assert finding.kind == "invalid_identifier" and "SIREN 732829321" in finding.explanation and "SIRET" in finding.explanation
    [vat] = check(replace(BASE, vat_id="FR12732829320", total=Decimal("1100.00")), History())
    assert "FR44732829320" in vat.explanation


def test_amounts():
    history = _history()
    [outlier] = check(replace(BASE, total=Decimal("25000.10"), issue_date=date(2026, 3, 3)), history)
    assert outlier.kind == "amount_outlier" and "times the supplier's usual" in outlier.explanation
    assert _kinds(replace(BASE, total=Decimal("1450.00")), history) == []  # within its habit
    assert _kinds(replace(BASE, total=Decimal("25000.10")), _history(count=11)) == []  # too little history to judge
    assert _kinds(replace(BASE, total=Decimal("3000.00"), issue_date=date(2026, 3, 7)), History()) == ["round_amount", "weekend"]


def test_the_level_routes_the_invoice():
    history = _history()
    assert level(check(replace(BASE, total=Decimal("1100.00")), history), 12) == (0, AUTO_APPROVE)
    assert level([], 2) == (0, NORMAL)  # a supplier not known yet
    assert level(check(replace(BASE, iban="FR7630004000031234567890143", total=Decimal("1100.00")), history), 12) == (60, HOLD)
    medium = check(replace(BASE, number="F2026-000900", issue_date=date(2026, 1, 19), total=Decimal("1160.00")), history)
    assert level(medium, 12) == (30, NORMAL) and level(medium, 12, Thresholds(hold=30)) == (30, HOLD)


def test_a_new_address_and_a_rate_france_does_not_have():
    history = History()
    history.learn(replace(BASE, address="12ruedelarepublique69002lyon"), trusted_iban=True)
    moved = replace(BASE, number="F2026-000101", address="1avenuefoch75016paris", total=Decimal("1100.00"), document_sha256="b" * 64)
    [finding] = check(moved, history)
    assert (finding.kind, finding.severity, finding.evidence["earlier"]) == ("address_changed", "low", "12ruedelarepublique69002lyon")
    assert _kinds(replace(moved, address="12ruedelarepublique69002lyon"), history) == []
    rates = replace(
        BASE, number="F2026-000102", total=Decimal("1100.00"), vat_rates=(("S", Decimal("19.60")), ("S", Decimal("20.00")), ("Z", Decimal("0")))
    )
    [vat] = check(rates, History())
    assert vat.kind == "vat_rate" and "19.6 %" in vat.explanation and vat.evidence["rates"] == ["19.60"]
    assert _kinds(replace(rates, country="DE", iban="DE89370400440532013000"), History()) == []  # another country's rates are its own


def test_an_account_that_is_not_an_iban_is_only_watched_for_changes():
    history = History()
    history.learn(replace(BASE, iban="12345678901234567890123456789012345678"), trusted_iban=True)
    same = replace(BASE, number="F2026-000103", iban="12345678901234567890123456789012345678", total=Decimal("1100.00"), document_sha256="c" * 64)
    assert _kinds(same, history) == []
    assert _kinds(replace(same, iban="99999999"), history) == ["iban_changed"]

"""The lifecycle rules as data, and the state machine, exhaustively: every current status × every change."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest

from gateway.lifecycle import codes
from gateway.lifecycle.events import Amount, change_from_dict, change_to_dict
from gateway.lifecycle.machine import FOLLOWS, next_status, problems
from tests.lifecycle.helpers import AT, COLLECTED, valid_change

# Rows: the invoice's current status ("-": none yet).  Columns: the change.  A = applied, . = flagged (recorded, not applied).
# Every "." is an illegal transition: this table is the list the issue asks for, reviewed when it changes.
TRANSITIONS = """
      200 201 202 203 204 205 206 207 208 209 210 211 212 213 214 220 221 224 225 226 227 228
  -    A   .   A   .   .   .   .   .   .   .   .   .   .   A   .   .   .   .   .   .   .   .
 200   .   A   A   A   A   A   A   A   A   .   A   .   .   A   A   A   .   A   A   A   A   A
 201   .   .   A   A   A   A   A   A   A   .   A   A   A   A   A   A   A   A   A   A   A   A
 202   .   .   .   A   A   A   A   A   A   .   A   A   A   A   A   A   A   A   A   A   A   A
 203   .   .   .   .   A   A   A   A   A   .   A   A   A   .   A   A   .   A   A   A   A   A
 204   .   .   .   .   .   A   A   A   A   .   A   A   A   .   A   A   .   A   A   A   A   A
 205   .   .   .   .   .   .   A   A   A   .   A   A   A   .   A   A   .   A   A   A   A   A
 206   .   .   .   .   .   A   .   A   A   .   A   A   A   .   A   A   .   A   A   A   A   A
 207   .   .   .   .   .   A   A   .   A   .   A   A   A   .   A   A   .   A   A   A   A   A
 208   .   .   .   .   .   A   A   A   .   A   A   A   A   .   A   A   .   A   A   A   A   A
 209   .   .   .   .   .   A   A   A   A   .   A   A   A   .   A   A   .   A   A   A   A   A
 210   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .
 211   .   .   .   .   .   .   .   .   .   .   .   A   A   .   .   A   .   A   A   A   A   A
 212   .   .   .   .   .   .   .   .   .   .   .   A   A   .   .   A   .   A   A   A   A   A
 213   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .
 214   .   .   .   .   .   A   A   A   A   .   A   A   A   .   .   A   .   A   A   A   A   A
 220   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .   .
 221   .   A   .   .   .   .   .   .   .   .   .   .   .   A   .   A   .   A   A   A   A   A
"""


def _table() -> dict[tuple[str | None, str], str]:
    header, *rows = TRANSITIONS.strip().splitlines()
    columns = header.split()
    table = {}
    for row in rows:
        current, *cells = row.split()
        assert len(cells) == len(columns), row
        table.update({(None if current == "-" else current, code): cell for code, cell in zip(columns, cells, strict=True)})
    return table


def test_statuses_as_data():
    assert set(codes.STATUSES) == {*map(str, range(200, 215)), "220", "221", *map(str, range(224, 229))}
    assert {"200", "210", "212", "213"} == codes.MANDATORY
    assert {"210", "213", "220"} == codes.TERMINAL
    assert {c for c, s in codes.STATUSES.items() if s.needs_comment} == {"208", "210"}
    assert {c for c, s in codes.STATUSES.items() if s.needs_reason} >= {"210", "213"}
    assert {c for c, s in codes.STATUSES.items() if s.needs_amounts} == {"212"}
    assert codes.status("210").label == "Refusée" and codes.status("210").untdid_1373 == "50" and codes.status("210").emitters == {codes.BUYER}
    assert codes.status("212").emitters == {codes.SELLER} and codes.status("212").untdid_1373 == "47"
    for status in codes.STATUSES.values():
        assert status.label and status.label_en and status.emitters <= set(codes.ROLES)
        assert status.reasons is None or status.reasons <= set(codes.REASONS), status.code
        assert (status.phase == codes.TRANSMISSION) == (status.emitters == {codes.PLATFORM}), status.code
    assert set(codes.PARTY_STATUSES) == {"204", "205", "206", "207", "208", "209", "210", "211", "212"}
    assert "DOUBLON" in codes.status("213").reasons and "TX_TVA_ERR" in codes.status("210").reasons


def test_the_transition_table_is_the_machine():
    table = _table()
    assert {code for _current, code in table} == set(codes.STATUSES)
    assert {current for current, _code in table} == {None} | {c for c, s in codes.STATUSES.items() if not s.side}
    for (current, code), cell in table.items():
        decision = next_status(current, valid_change(code))
        assert decision.outcome == {"A": "applied", ".": "flagged"}[cell], (current, code, decision)
        if decision.applied:
            assert decision.status == (current if codes.status(code).side else code) and decision.why is None
        else:
            assert decision.status == current and decision.why


def test_rules_of_the_issue():
    table = _table()
    for end in ("210", "213", "220"):
        assert all(table[end, code] == "." for code in codes.STATUSES)  # the end of the invoice's life
    assert table["208", "209"] == table["209", "208"] == "A" and table["205", "209"] == "."  # 208 ↔ 209 loop; 209 answers a 208
    assert table["211", "211"] == table["212", "212"] == table["212", "211"] == "A"  # partial payments
    assert table["200", "211"] == table["200", "212"] == "." and table["201", "212"] == table["202", "211"] == "A"  # once delivered
    assert all(cell == "." for (current, code), cell in table.items() if code == "200" and current is not None)  # deposited once


@pytest.mark.parametrize(
    ("current", "code", "why"),
    [
        ("210", "205", "the invoice's life ended with 210 Refusée"),
        ("205", "202", "comes before 205 Approuvée in the cycle: received out of order"),
        ("204", "213", "received out of order"),
        ("205", "205", "is already the invoice's status"),
        ("205", "209", "209 Complétée cannot follow 205 Approuvée"),
        (None, "205", "cannot be the first status"),
        ("received", "205", "is not a lifecycle status"),
        ("200", "212", "212 Encaissée needs an invoice that was delivered (201 Émise par la plateforme or later): this one is only 200 Déposée"),
        ("200", "211", "211 Paiement transmis needs an invoice that was delivered"),
    ],
)
def test_flags_say_why(current, code, why):
    decision = next_status(current, valid_change(code))
    assert decision.outcome == "flagged" and why in decision.why


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (valid_change("210", role="SE"), "210 Refusée is set by the buyer, not by the seller"),
        (replace(valid_change("210"), reason_code=None), "210 Refusée needs a reason code"),
        (replace(valid_change("213"), reason_code=None), "213 Rejetée needs a reason code"),
        (replace(valid_change("210"), comment="  "), "210 Refusée needs a comment"),
        (replace(valid_change("208"), comment=None), "208 Suspendue needs a comment"),
        (replace(valid_change("210"), reason_code="JUSTIF_ABS"), "reason JUSTIF_ABS is not allowed for 210 Refusée"),
        (replace(valid_change("210"), reason_code="NOPE"), "unknown reason code 'NOPE'"),
        (replace(valid_change("205"), action_code="XYZ"), "unknown requested action 'XYZ'"),
        (replace(valid_change("212"), amounts=()), "212 Encaissée needs the amount collected split by VAT rate"),
        (replace(valid_change("212"), amounts=(Amount("MEN", Decimal("10"), "EUR"),)), "needs both an amount and a VAT rate"),
        (replace(valid_change("212"), amounts=COLLECTED[:1] * 2), "VAT rate 20.00 appears twice"),
        (replace(valid_change("212"), amounts=(Amount("MEN", Decimal("-10"), "EUR", Decimal("20")),)), "needs a comment"),
        (replace(valid_change("211"), amounts=(Amount("MPA", Decimal("10.1234567"), "EUR"),)), "more than 6 decimals"),
        (replace(valid_change("211"), amounts=(Amount("MPA", Decimal("10")),)), "has no currency"),
        (replace(valid_change("211"), amounts=(Amount("XXX", Decimal("10"), "EUR"),)), "unknown amount type 'XXX'"),
        (replace(valid_change("205"), at=datetime(2026, 11, 23, 10, 0)), "needs its time zone"),
        (replace(valid_change("205"), code="299"), "unknown status code '299'"),
    ],
)
def test_invalid_changes_are_refused_whatever_the_status(change, message):
    assert any(message in problem for problem in problems(change)), problems(change)
    for current in (None, "200", "204"):
        decision = next_status(current, change)
        assert decision.outcome == "refused" and message in decision.why and decision.status == current


def test_a_duplicate_rejected_after_reception_does_not_end_the_invoice():
    duplicate = replace(valid_change("213"), reason_code="DOUBLON")
    assert next_status("200", duplicate).applied  # the platform rejects the invoice itself as a duplicate of an earlier one
    for current in ("202", "203", "205", "212"):
        decision = next_status(current, duplicate)
        assert decision.outcome == "flagged" and decision.status == current and "a second transmission was rejected" in decision.why


def test_a_disbursement_with_its_reason_is_valid():
    change = replace(valid_change("212"), amounts=(Amount("MEN", Decimal("-10"), "EUR", Decimal("20")),), comment="Encaissement annulé")
    assert next_status("212", change).applied


def test_follows_covers_every_status():
    assert set(FOLLOWS) == set(codes.STATUSES)


def test_changes_survive_json():
    for code in codes.STATUSES:
        change = replace(valid_change(code), reason="texte", action_code="NIN")
        assert change_from_dict(change_to_dict(change)) == change
    assert change_to_dict(valid_change("212"))["amounts"][0] == {
        "type_code": "MEN",
        "amount": "1000.00",
        "currency": "EUR",
        "vat_rate": "20.00",
        "value_date": "2026-11-22",
    }
    assert change_to_dict(valid_change("205")) == {"code": "205", "at": AT.isoformat(), "role": "BY"}

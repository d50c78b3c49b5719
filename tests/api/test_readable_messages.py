"""Validation messages a person can read: what the value must be, never the schema's regular expression or keyword."""

from __future__ import annotations

import copy
import json
import re

import pytest
from jsonschema import Draft202012Validator

from gateway.model import schema_errors
from tests.api.answers import problem
from tests.conftest import load_example

EXAMPLE = load_example("invoice-fr-b2b")
# What jsonschema's own messages look like: a quoted pattern, "is not of type", "does not match", "is a required property" …
NOTATION = re.compile(r"\^|\$'|\\d|\{\d|does not match|is not of type|is a required property|is not valid under|is not a '|Additional properties")


def messages_for(schema: dict, instance: object) -> list[tuple[str, str]]:
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [(d.pointer, d.message) for error in validator.iter_errors(instance) for d in schema_errors.details(error)]


def test_an_invoice_with_many_mistakes_is_told_each_in_words(api):
    data = copy.deepcopy(EXAMPLE)
    del data["number"]
    data["lines"][0]["quantity"] = 1.5
    data["lines"][0]["net_price"] = "12,50"
    data["issue_date"] = "2026-02-30"
    data["currency"] = ""
    data["seler"] = {}
    data["lines"][1]["vat_rate"] = {"value": "20"}
    response = api.post("/api/v1/invoices", data=json.dumps(data), content_type="application/json")
    assert response.status_code == 422
    answer = problem(response)
    for pointer, message in answer.errors:
        assert not NOTATION.search(message), (pointer, message)
    assert answer.at("/number") == ["is required (BT-1 — Invoice number: ≤35 characters, letters, digits, space, - + _ /)"]
    assert answer.at("/lines/0/quantity") == [
        'must be a decimal number written as a string with a point, such as "12.50" or "-3", not a JSON number (the number 1.5 was given)'
    ]
    assert answer.at("/lines/0/net_price") == [
        'must be a decimal number written as a string with a point, such as "12.50" or "-3" ("12,50" was given)'
    ]
    assert answer.at("/issue_date") == ['must be a real calendar date written YYYY-MM-DD, such as "2026-11-20" ("2026-02-30" was given)']
    assert answer.at("/currency") == ['must not be empty ("" was given)']
    assert answer.at("/seler") == ["is not a property of the format; did you mean 'seller'?"]
    assert any(m.startswith("must be a decimal number") and "a JSON object was given" in m for m in answer.at("/lines/1/vat_rate"))


def test_a_status_body_is_told_in_words_too(api):
    invoice = api.post("/api/v1/invoices", data=json.dumps({**EXAMPLE, "number": "R-1"}), content_type="application/json").get_json()
    body = {"code": "212", "time": "yesterday", "amounts": [{"amount": "1,5", "currency": "eur"}], "colour": "red"}
    response = api.post(f"{invoice['links']['self']}/statuses", json=body)
    assert response.status_code == 422
    answer = problem(response)
    for pointer, message in answer.errors:
        assert not NOTATION.search(message), (pointer, message)
    assert answer.at("/amounts/0/currency") == ['must be exactly 3 capital letters ("eur" was given)']
    assert answer.at("/amounts/0/amount") == ['must be a decimal number written as a string with a point, such as "12.50" ("1,5" was given)']
    assert answer.at("/time") == ['must be a date and time with its time zone, such as "2026-11-20T10:30:00+01:00" ("yesterday" was given)']
    assert answer.at("/colour") and answer.at("/colour")[0].startswith("is not a property of the format")


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        (r"^[0-9]{9}$", "exactly 9 digits"),
        (r"^\d{14}$", "exactly 14 digits"),
        (r"^[A-Z]{2}$", "exactly 2 capital letters"),
        (r"^[A-Z0-9]{2,4}$", "2 to 4 capital letters or digits"),
        (r"^[0-9]+$", "digits only"),
        (r"^[0-9]{4,}$", "4 or more digits"),
        (r"^[A-Z]$", "a single capital letter"),
    ],
)
def test_a_simple_pattern_is_said_by_its_characters_and_length(pattern, words):
    [(pointer, message)] = messages_for({"properties": {"siren": {"type": "string", "pattern": pattern}}}, {"siren": "x"})
    assert (pointer, message) == ("/siren", f'must be {words} ("x" was given)')


def test_any_other_pattern_is_said_by_what_the_property_is():
    schema = {"properties": {"siren": {"type": "string", "pattern": r"^(?:[0-9]{9}|[0-9]{14})$", "description": "A SIREN: 9 digits"}}}
    assert messages_for(schema, {"siren": "12"}) == [("/siren", 'must be a valid value for A SIREN: 9 digits ("12" was given)')]
    assert not NOTATION.search(messages_for({"properties": {"x": {"pattern": "^a+b$"}}}, {"x": "c"})[0][1])


def test_enumerations_short_listed_long_described_and_other_keywords():
    codes = [f"C{i:02}" for i in range(30)]
    schema = {
        "properties": {
            "unit": {"enum": ["C62", "HUR"]},
            "currency": {"enum": codes, "description": "ISO 4217 currency code"},
            "lines": {"type": "array", "minItems": 1},
            "rate": {"type": "integer", "maximum": 100},
            "either": {"oneOf": [{"type": "string", "format": "date"}, {"type": "integer"}]},
            "fixed": {"const": "380"},
        },
        "required": ["fixed"],
    }
    found = dict(messages_for(schema, {"unit": "KG", "currency": "XXX", "lines": [], "rate": 101, "either": "2026-13-01"}))
    assert found["/unit"] == 'must be one of "C62", "HUR" ("KG" was given)'
    assert found["/currency"] == 'must be one of the 30 codes of ISO 4217 currency code (such as "C00", "C01", "C02") ("XXX" was given)'
    assert found["/lines"] == "needs at least one entry (a JSON array was given)"
    assert found["/rate"] == "must be at most 100 (the number 101 was given)"
    assert found["/either"].startswith("must be ") and not NOTATION.search(found["/either"])
    assert found["/fixed"] == "is required"


def test_a_long_value_is_quoted_shortened():
    [(_, message)] = messages_for({"properties": {"d": {"type": "string", "format": "date"}}}, {"d": "9" * 500})
    assert len(message) < 150 and message.endswith('…" was given)')

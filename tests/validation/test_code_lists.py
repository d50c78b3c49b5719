"""The intake checks the EN 16931 code lists itself (issue 13, point 2.4): one clear error per field.

A wrong currency in an intake JSON gave 28 fatal findings (BR-CL-03 on every amount of the UBL, BR-CL-04, the Factur-X
rules' own twins …); it is now one `422` error naming `/currency`.  The lists are those of the installed official
artefact, and each field is checked against the list of the rule that governs it in the generated documents: a test
below writes the UBL with the wrong code and finds that very rule raised by the official stylesheet.
"""

from __future__ import annotations

import copy

import pytest

from gateway import intake
from gateway.formats.documents import read_document
from gateway.formats.ubl import write_ubl
from gateway.model.serialize import invoice_from_json
from gateway.model.totals import complete
from gateway.validation.code_lists import FIELDS, NAMES, code_lists
from gateway.validation.pipeline import validate
from tests.conftest import load_example


def invoice_json(**changes) -> dict:
    data = copy.deepcopy(load_example("invoice-fr-b2b"))
    for pointer, value in changes.items():
        target = data
        *path, last = pointer.split("/")[1:]
        for step in path:
            target = target[int(step)] if step.isdigit() else target[step]
        target[int(last) if last.isdigit() else last] = value
    return data


def refused(data: dict) -> list[tuple[str, str]]:
    with pytest.raises(intake.InvalidInvoice) as caught:
        intake.validate_json(data)
    return [(d.pointer, d.message) for d in caught.value.details]


def test_every_code_list_is_read_from_the_official_artefact():
    lists = code_lists()
    assert set(lists) == set(NAMES)  # a release renaming a rule fails here, never a silently unchecked field
    assert {"EUR", "USD", "JPY"} <= lists["BR-CL-04"].codes and "EURO" not in lists["BR-CL-04"].codes
    assert {"FR", "DE", "JP"} <= lists["BR-CL-14"].codes and {"C62", "HUR", "KGM"} <= lists["BR-CL-23"].codes
    assert {"S", "Z", "E", "AE", "K", "G", "O", "L", "M"} <= lists["BR-CL-17"].codes
    assert {rule for _, rule in FIELDS} <= set(lists)
    assert lists["BR-CL-22"].allows("vatex-eu-ic") and not lists["BR-CL-04"].allows("eur")  # VATEX in upper case, as the rule does


def test_a_wrong_currency_is_one_error_naming_the_field():
    assert refused(invoice_json(**{"/currency": "EURO"})) == [
        ("/currency", "'EURO' is not one of the ISO 4217 currency codes (EN 16931 code list, rule BR-CL-04)")
    ]


def test_each_wrong_code_is_one_error_for_its_field_all_at_once():
    data = invoice_json(
        **{"/seller/address/country_code": "FRA", "/lines/1/unit_code": "HOURS", "/lines/0/vat_category": "X", "/payment/means_code": "999"}
    )
    assert [pointer for pointer, _ in refused(data)] == [
        "/lines/0/vat_category",
        "/lines/1/unit_code",
        "/payment/means_code",
        "/seller/address/country_code",
    ]


def test_the_examples_pass_the_code_lists():
    for name in ("invoice-fr-b2b", "credit-note-fr-b2b", "invoice-fr-intra-eu", "invoice-fr-reverse-charge", "invoice-fr-usd"):
        assert intake.decode_json(load_example(name)) is not None


@pytest.mark.parametrize(
    ("pointer", "value", "rule"),
    [
        ("/currency", "EURO", "BR-CL-04"),
        ("/seller/address/country_code", "FRA", "BR-CL-14"),
        ("/lines/1/unit_code", "HOURS", "BR-CL-23"),
        ("/payment/means_code", "999", "BR-CL-16"),
        ("/type_code", "999", "BR-CL-01"),
    ],
)
def test_the_field_is_checked_with_the_list_of_the_rule_the_official_artefact_applies_to_it(pointer, value, rule):
    """Without the intake check, the same wrong code in the generated UBL makes the official stylesheet raise that rule."""
    data = invoice_json(**{pointer: value})
    assert [(p, rule in m) for p, m in refused(data)] == [(pointer, True)]
    invoice = invoice_from_json(data)
    complete(invoice)
    report = validate(read_document(write_ubl(invoice), "application/xml"), french=False)
    assert rule in {f.rule_id for f in report.findings if f.artefact == "EN16931-UBL"}

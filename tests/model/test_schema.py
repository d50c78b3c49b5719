"""The intake JSON Schema is the model's: the committed file must equal the generated one."""

from __future__ import annotations

import json

import jsonschema

from gateway.model.schema import invoice_json_schema, schema_text
from gateway.model.serialize import invoice_from_json, to_dict
from tests.conftest import EXAMPLES, ROOT


def test_committed_schema_is_generated_from_the_model():
    committed = (ROOT / "schemas" / "invoice.schema.json").read_text()
    assert committed == schema_text(), "regenerate: python -m gateway.model.schema > schemas/invoice.schema.json"


def test_schema_is_valid_2020_12_and_documents_every_property_with_its_term():
    schema = invoice_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    undocumented = [
        f"{name}.{prop}"
        for name, definition in [("Invoice", schema), *schema["$defs"].items()]
        for prop, body in definition["properties"].items()
        if not body.get("description")
    ]
    assert undocumented == []
    assert schema["properties"]["seller"]["x-business-term"] == "BG-4"
    assert schema["$defs"]["InvoiceLine"]["properties"]["quantity"]["x-business-term"] == "BT-129"


def test_every_example_is_valid_and_round_trips_through_the_model():
    validator = jsonschema.Draft202012Validator(invoice_json_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    examples = sorted(EXAMPLES.glob("*.json"))
    assert len(examples) >= 2
    for path in examples:
        data = json.loads(path.read_text())
        assert list(validator.iter_errors(data)) == [], path.name
        assert to_dict(invoice_from_json(data)) == data, path.name


def test_schema_rejects_floats_and_bad_dates_with_pointers():
    validator = jsonschema.Draft202012Validator(invoice_json_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    data = json.loads((EXAMPLES / "invoice-fr-b2b.json").read_text())
    data["lines"][0]["quantity"] = 1.5
    data["issue_date"] = "20/11/2026"
    pointers = sorted({"/" + "/".join(map(str, e.absolute_path)) for e in validator.iter_errors(data)})
    assert pointers == ["/issue_date", "/lines/0/quantity"]

"""The OpenAPI document stays true: every API route is documented with its methods, and nothing else is."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from gateway.api.openapi import intake_components, openapi_document
from tests.conftest import load_example

ROOT = Path(__file__).resolve().parents[2]
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _openapi_path(rule: str) -> str:
    """Flask `<converter(args):name>` → OpenAPI `{name}`."""
    return re.sub(r"<(?:[^>]*:)?([^>:]+)>", r"{\1}", rule)


def test_routes_and_document_agree(app):
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api") or rule.rule in ("/healthz", "/readyz", "/metrics"):
            routes.setdefault(_openapi_path(rule.rule), set()).update(rule.methods - IGNORED_METHODS)
    documented = {path: {method.upper() for method in item} for path, item in openapi_document()["paths"].items()}
    assert routes == documented


def test_path_parameters_are_declared():
    for path, item in openapi_document()["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, path


def test_document_is_valid_openapi_3_1():
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(openapi_document())


def test_intake_schema_is_the_published_one():
    published = intake_components(json.loads((ROOT / "schemas" / "invoice.schema.json").read_text()))
    schemas = openapi_document()["components"]["schemas"]
    assert {name: schemas[name] for name in published} == published
    assert "#/$defs/" not in json.dumps(openapi_document())


def test_served_document_is_the_built_one(app):
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200 and response.get_json() == openapi_document()


def test_intake_component_accepts_the_examples_and_refuses_a_broken_one(documented):
    for name in ("invoice-fr-b2b", "credit-note-fr-b2b"):
        documented("InvoiceIntake", load_example(name))
    broken = load_example("invoice-fr-b2b")
    broken["seller"]["address"]["colour"] = "blue"
    with pytest.raises(jsonschema.ValidationError):
        documented("InvoiceIntake", broken)

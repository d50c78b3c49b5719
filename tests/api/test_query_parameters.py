"""Every /api/v1 route accepts the query parameters its OpenAPI operation documents, and no other: a misspelt filter is a 400."""

from __future__ import annotations

import re
import uuid

import pytest

from gateway.api.openapi import openapi_document
from tests.api.answers import problem

OPERATIONS = [
    (path, method, operation)
    for path, item in openapi_document()["paths"].items()
    if path.startswith("/api/v1/")
    for method, operation in item.items()
]
GETS = [(path, operation) for path, method, operation in OPERATIONS if method == "get"]


def _url(path: str) -> str:
    return re.sub(r"{[^}]+}", str(uuid.uuid4()), path)


def _accepted(operation: dict) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]


@pytest.mark.parametrize(("path", "operation"), GETS, ids=[path for path, _ in GETS])
def test_every_get_route_refuses_an_unknown_parameter_naming_it_and_those_accepted(api, path, operation):
    response = api.get(_url(path), query_string={"stauts": "200"})
    assert response.status_code == 400, (path, response.get_data(as_text=True))
    answer = problem(response)
    assert answer.code == "bad_request" and "stauts" in answer.message
    assert answer.at("?stauts"), answer.errors
    accepted = _accepted(operation)
    if accepted:
        assert all(name in answer.message for name in accepted), answer.message
    else:
        assert "accepts no query parameter" in answer.message


def test_the_known_parameters_still_work_and_a_list_filter_takes_commas_not_repeats(api):
    assert api.get("/api/v1/invoices", query_string={"status": "200,rejected", "per_page": "5"}).status_code == 200
    twice = api.get("/api/v1/invoices?status=200&status=rejected")
    assert twice.status_code == 400
    answer = problem(twice)
    assert answer.at("?status") == ["given more than once"] and "comma-separated" in answer.message


def test_several_unknown_parameters_are_all_named(api):
    answer = problem(api.get("/api/v1/deliveries?sate=dead&pgae=2&state=dead"))
    assert [pointer for pointer, _ in answer.errors] == ["?sate", "?pgae"]
    assert "state, page, per_page" in answer.message


def test_a_post_with_an_unknown_parameter_stores_nothing(api):
    from tests.conftest import load_example

    response = api.post("/api/v1/invoices?profil=basic", json=load_example("invoice-fr-b2b"))
    assert response.status_code == 400 and problem(response).at("?profil")
    assert api.get("/api/v1/invoices").get_json()["total"] == 0


def test_an_anonymous_caller_is_told_only_to_authenticate(app):
    response = app.test_client().get("/api/v1/invoices?stauts=200")
    assert response.status_code == 401


def test_the_document_says_every_api_operation_may_answer_400():
    assert all("400" in operation["responses"] for _, _, operation in OPERATIONS)

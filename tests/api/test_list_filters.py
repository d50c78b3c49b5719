"""GET /api/v1/invoices: filters by number, ERP reference, status, dates and buyer; cursor paging beside page numbers."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.api.answers import problem
from tests.api.conftest import Api, new_tenant_key
from tests.conftest import load_example

EXAMPLE = load_example("invoice-fr-b2b")
LENOIR = {
    **EXAMPLE["buyer"],
    "name": "Pâtisserie Lenoir",
    "identifiers": [{"value": "55210055400013", "scheme": "0009"}],
    "legal_registration_id": {"value": "552100554", "scheme": "0002"},
    "vat_id": "FR96552100554",
    "electronic_address": {"value": "552100554", "scheme": "0225"},
}


def submit(api: Api, number: str, **changes: object) -> dict:
    data = copy.deepcopy(EXAMPLE)
    data.update(number=number, **changes)
    response = api.post("/api/v1/invoices", data=json.dumps(data), content_type="application/json")
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture(scope="module")
def listed(app) -> tuple[Api, dict[str, dict]]:
    """Three invoices of one tenant, per database: Q-1 (October, SO-1), Q-2 (November, buyer Lenoir, SO-2), Q-3 (December, rejected)."""
    api = Api(app, new_tenant_key(app))
    invoices = {
        "Q-1": submit(api, "Q-1", issue_date="2026-10-01", metadata={"erp_reference": "SO-1"}),
        "Q-2": submit(api, "Q-2", issue_date="2026-11-01", buyer=LENOIR, metadata={"erp_reference": "SO-2", "batch": 7}),
        "Q-3": submit(api, "Q-3", issue_date="2026-12-01", totals={"amount_due": "1.00"}),
    }
    assert invoices["Q-3"]["status"] == "rejected"
    return api, invoices


def numbers(api: Api, documented, **query: str) -> list[str]:
    response = api.get("/api/v1/invoices", query_string=query)
    assert response.status_code == 200, response.get_json()
    documented("InvoiceList", response.get_json())
    return sorted(item["number"] for item in response.get_json()["items"])


def test_number_and_erp_reference_match_exactly(listed, documented):
    api, _ = listed
    assert numbers(api, documented, number="Q-2") == ["Q-2"]
    assert numbers(api, documented, number="Q") == [] == numbers(api, documented, number="q-2")
    assert numbers(api, documented, erp_reference="SO-1") == ["Q-1"]
    assert numbers(api, documented, erp_reference="SO") == []


def test_status_takes_codes_rejected_and_states_separated_by_commas(listed, documented):
    api, _ = listed
    assert numbers(api, documented, status="rejected") == ["Q-3"]
    assert numbers(api, documented, status="200") == ["Q-1", "Q-2"] == numbers(api, documented, status="validated")
    assert numbers(api, documented, status="200, rejected") == ["Q-1", "Q-2", "Q-3"]
    assert numbers(api, documented, status="205,sent") == []
    answer = problem(api.get("/api/v1/invoices", query_string={"status": "200,paid"}))
    assert answer.at("?status") == ["unknown status"] and "'paid'" in answer.message and "validated" in answer.message


def test_issue_dates_under_their_names_and_their_former_ones(listed, documented):
    api, _ = listed
    assert numbers(api, documented, issued_from="2026-11-01") == ["Q-2", "Q-3"]
    assert numbers(api, documented, issued_from="2026-10-15", issued_to="2026-11-15") == ["Q-2"]
    assert numbers(api, documented, **{"from": "2026-10-15", "to": "2026-11-15"}) == ["Q-2"]
    both = api.get("/api/v1/invoices", query_string={"issued_from": "2026-10-15", "from": "2026-10-15"})
    assert both.status_code == 400 and problem(both).at("?from")


def test_received_dates_are_days_in_utc_or_moments_with_their_zone(listed, documented):
    api, invoices = listed
    today = datetime.now(UTC).date()
    assert numbers(api, documented, received_from=today.isoformat()) == ["Q-1", "Q-2", "Q-3"]
    assert numbers(api, documented, received_to=(today - timedelta(days=1)).isoformat()) == []
    second = invoices["Q-2"]["created_at"]
    assert numbers(api, documented, received_from=second) == ["Q-2", "Q-3"]
    assert numbers(api, documented, received_to=second) == ["Q-1", "Q-2"]
    in_paris = datetime.fromisoformat(second).astimezone(timezone(timedelta(hours=1))).isoformat()
    assert numbers(api, documented, received_from=in_paris) == ["Q-2", "Q-3"]
    unescaped = api.get(f"/api/v1/invoices?received_from={in_paris}")  # the + of the zone arrives as a space
    assert sorted(i["number"] for i in unescaped.get_json()["items"]) == ["Q-2", "Q-3"]


def test_buyer_is_part_of_its_name_or_any_of_its_identifiers(listed, documented):
    api, _ = listed
    for value in ("lenoir", "552100554", "55210055400013", "552 100 554 00013", "fr96552100554", "0225:552100554", "0009:55210055400013"):
        assert numbers(api, documented, buyer=value) == ["Q-2"], value
    assert numbers(api, documented, buyer="Boulangeries") == ["Q-1", "Q-3"]
    assert numbers(api, documented, buyer="5521005540001") == []  # a part of an identifier is not the identifier
    assert numbers(api, documented, buyer="100%_") == []


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("issued_from", "2026-13-01", "ISO date"),
        ("issued_to", "2026-W47-1", "ISO date"),
        ("received_from", "2026-11-20T10:00:00", "zone"),
        ("received_to", "0001-01-01T00:00:00+01:00", "zone"),
        ("received_to", "9999-12-31T23:00:00-02:00", "zone"),
        ("received_from", "yesterday", "ISO date"),
        ("number", "F\x00", "control characters"),
        ("buyer", "a\x01", "control characters"),
        ("status", ",".join(["200"] * 21), "at most 20"),
    ],
)
def test_a_bad_filter_value_is_a_400_naming_the_parameter_and_why(api, name, value, said):
    response = api.get("/api/v1/invoices", query_string={name: value})
    assert response.status_code == 400, response.get_json()
    answer = problem(response)
    assert answer.at(f"?{name}") and name in answer.message and said in answer.message, answer


# ---------------------------------------------------------------------------- cursors


def test_a_cursor_is_stable_while_invoices_arrive_and_pages_are_not(api, documented):
    for number in ("C-1", "C-2", "C-3"):
        submit(api, number)
    first = api.get("/api/v1/invoices?limit=2")
    body = first.get_json()
    documented("InvoiceList", body)
    assert [i["number"] for i in body["items"]] == ["C-3", "C-2"] and body["limit"] == 2 and "total" not in body
    assert body["next_cursor"] and "cursor=" in body["next"]
    paged = api.get("/api/v1/invoices?per_page=2").get_json()
    assert paged["next_cursor"] and paged["page"] == 1  # numbered pages offer the cursor after them too

    submit(api, "C-4")  # arrives while the client pages
    rest = api.get("/api/v1/invoices", query_string={"cursor": body["next_cursor"], "limit": 2}).get_json()
    documented("InvoiceList", rest)
    assert [i["number"] for i in rest["items"]] == ["C-1"] and rest["next_cursor"] is None and rest["next"] is None
    assert [i["number"] for i in api.get(body["next"]).get_json()["items"]] == ["C-1"]  # the next link says the same
    assert [i["number"] for i in api.get("/api/v1/invoices?page=2&per_page=2").get_json()["items"]] == ["C-2", "C-1"]  # a page shifts
    after_paged = api.get("/api/v1/invoices", query_string={"cursor": paged["next_cursor"], "limit": 5}).get_json()
    assert [i["number"] for i in after_paged["items"]] == ["C-1"]


def test_a_cursor_keeps_the_filters_given_with_it(api):
    for number in ("K-1", "K-2", "K-3"):
        submit(api, number)
    submit(api, "K-4", totals={"amount_due": "1.00"})  # rejected
    first = api.get("/api/v1/invoices?status=200&limit=2").get_json()
    assert [i["number"] for i in first["items"]] == ["K-3", "K-2"] and "status=200" in first["next"]
    assert [i["number"] for i in api.get(first["next"]).get_json()["items"]] == ["K-1"]


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("?page=2&cursor=abc", "?cursor"),
        ("?per_page=5&limit=5", "?limit"),
        ("?cursor=not-a-cursor", "?cursor"),
        ("?cursor=WyJ4IiwieSJd", "?cursor"),  # ["x","y"]: well encoded, not a position
        ("?cursor=" + "A" * 300, "?cursor"),
        ("?limit=0", "?limit"),
        ("?limit=101", "?limit"),
    ],
)
def test_paging_both_ways_or_an_unknown_cursor_is_a_400(api, query, pointer):
    response = api.get(f"/api/v1/invoices{query}")
    assert response.status_code == 400
    assert problem(response).at(pointer), problem(response)

"""ETag and If-None-Match: a GET whose answer has not changed is a 304 with no body."""

from __future__ import annotations

import hashlib
import json

from tests.api.conftest import Api
from tests.conftest import load_example


def submit(api: Api, number: str) -> dict:
    data = {**load_example("invoice-fr-b2b"), "number": number}
    response = api.post("/api/v1/invoices", data=json.dumps(data), content_type="application/json")
    assert response.status_code == 201
    return response.get_json()


def revalidated(api: Api, path: str) -> str:
    """Check the round trip on one path: its ETag, then 304 for it (strong, weak, among others, *), 200 for another; the ETag."""
    first = api.get(path)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "private, no-cache"
    etag = first.headers["ETag"]
    for given in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = api.get(path, headers={"If-None-Match": given})
        assert again.status_code == 304, (path, given)
        assert again.data == b"" and again.headers["ETag"] == etag and "Content-Type" not in again.headers
    assert api.get(path, headers={"If-None-Match": '"other"'}).data == first.data
    return etag


def test_invoice_statuses_list_and_route_answer_304_until_they_change(api):
    invoice = submit(api, "E-1")
    for path in (invoice["links"]["self"], f"{invoice['links']['self']}/statuses", f"{invoice['links']['self']}/route"):
        revalidated(api, path)
    listed = revalidated(api, "/api/v1/invoices")
    submit(api, "E-2")
    changed = api.get("/api/v1/invoices", headers={"If-None-Match": listed})
    assert changed.status_code == 200 and changed.headers["ETag"] != listed and changed.get_json()["total"] == 2


def test_a_document_keeps_the_sha256_of_its_bytes_as_etag(api):
    invoice = submit(api, "E-3")
    path = invoice["links"]["documents"]["facturx"]
    body = api.get(path).data
    assert revalidated(api, path) == f'"{hashlib.sha256(body).hexdigest()}"'


def test_an_error_has_no_etag_and_is_never_a_304(api):
    response = api.get("/api/v1/invoices/00000000-0000-4000-8000-000000000000", headers={"If-None-Match": "*"})
    assert response.status_code == 404 and "ETag" not in response.headers


def test_another_tenants_invoice_is_a_404_even_to_if_none_match_star(api, other_api):
    invoice = submit(api, "E-4")
    assert other_api.get(invoice["links"]["self"], headers={"If-None-Match": "*"}).status_code == 404

"""Text the Factur-X PDF cannot show is a 422 naming the field at intake, never a PDF that silently lacks it."""

from __future__ import annotations

import copy
import io
import json

import pypdf

from tests.conftest import load_example


def test_a_character_no_font_has_is_a_422_naming_the_field(api):
    data = copy.deepcopy(load_example("invoice-fr-b2b"))
    data["number"] = "F2026-GLYPH-1"
    data["buyer"]["name"] = "Boulangeries \ue000 Martin"
    response = api.post("/api/v1/invoices", data=json.dumps(data), content_type="application/json")
    assert response.status_code == 422
    answer = json.dumps(response.get_json())
    assert "/buyer/name" in answer and "U+E000" in answer
    assert api.get("/api/v1/invoices").get_json()["total"] == 0  # nothing stored


def test_names_in_other_scripts_are_accepted_and_shown(api):
    data = copy.deepcopy(load_example("invoice-fr-b2b"))
    data["number"] = "F2026-GLYPH-2"
    data["buyer"]["name"] = "株式会社山田製作所"
    response = api.post("/api/v1/invoices", data=json.dumps(data, ensure_ascii=False).encode(), content_type="application/json")
    body = response.get_json()
    assert response.status_code == 201 and body["state"] == "validated", body
    pdf = api.get(body["links"]["documents"]["facturx"]).data
    assert "株式会社山田製作所" in pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()

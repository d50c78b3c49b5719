"""Every error example of the documentation is what the gateway answers: each is replayed against the live app.

An example is a fenced `http` block (status line, headers, blank line, JSON body) right after a marker naming the
requests that produce it, the last one answered by the block:

    <!-- example: POST /api/v1/invoices @docs/examples/invoice-fr-b2b.json
                  POST /api/v1/invoices @docs/examples/invoice-fr-b2b.json -->

A request is `METHOD PATH [@FILE | INLINE JSON]` (GET, POST or PUT) (a file's Content-Type follows its extension); `{id}` in a path is
the id of the invoice the latest 201 created.  The documented status, headers and members must equal the real ones;
in a documented string `…` stands for any text (ids, times), and a list ending with `"…"` may go on.  A code block
that shows an error answer without a marker fails the test too: undocumented examples drift.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Api

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"<!--\s*example:(?P<requests>.*?)-->\s*\n```http\n(?P<block>.*?)\n```", re.S)
FENCE = re.compile(r"^```[^\n]*\n(?P<body>.*?)^```", re.S | re.M)
LOOKS_LIKE_AN_ERROR = re.compile(r"application/problem\+json|\"/api/problems/|\{\s*\"error\"\s*:")
MEDIA_TYPES = {".json": "application/json", ".xml": "application/xml", ".pdf": "application/pdf"}
ANY = "…"


@dataclass(frozen=True)
class Example:
    where: str  # file:line
    requests: list[str]
    status: int
    headers: dict[str, str]
    body: Any


def _parse(path: Path, match: re.Match[str]) -> Example:
    head, _, body = match["block"].partition("\n\n")
    status_line, *header_lines = head.splitlines()
    headers = dict(line.split(": ", 1) for line in header_lines)
    requests = [line.strip() for line in match["requests"].strip().splitlines() if line.strip()]
    where = f"{path.relative_to(ROOT)}:{path.read_text().count(chr(10), 0, match.start()) + 1}"
    return Example(where, requests, int(status_line.split()[1]), headers, json.loads(body))


def documented_examples() -> list[Example]:
    return [_parse(path, match) for path in DOCUMENTS for match in MARKER.finditer(path.read_text())]


EXAMPLES = documented_examples()


def _send(api: Api, line: str, created: str | None):
    method, path, *rest = line.split(" ", 2)
    if "{id}" in path:
        assert created is not None, f"{line}: no invoice was created before"
        path = path.replace("{id}", created)
    if not rest:
        return api.get(path) if method == "GET" else api.post(path)
    body = rest[0]
    send = api.put if method == "PUT" else api.post
    if body.startswith("@"):
        file = ROOT / body[1:]
        return send(path, data=file.read_bytes(), content_type=MEDIA_TYPES[file.suffix])
    return send(path, data=body.encode(), content_type="application/json")


def replay(api: Api, requests: list[str]):
    created, response = None, None
    for line in requests:
        response = _send(api, line, created)
        if response.status_code == 201 and response.is_json and "id" in response.get_json():
            created = response.get_json()["id"]
    return response


def mismatches(documented: Any, real: Any, where: str = "") -> list[str]:
    """What differs between a documented value and the real one (empty: they agree), `…` matching any text."""
    if isinstance(documented, str) and ANY in documented and isinstance(real, str):
        pattern = ".*".join(re.escape(part) for part in documented.split(ANY))
        return [] if re.fullmatch(pattern, real, re.S) else [f"{where}: documented {documented!r}, real {real!r}"]
    if isinstance(documented, dict) and isinstance(real, dict):
        problems = [f"{where}/{key}: documented, not in the answer" for key in documented.keys() - real.keys()]
        problems += [f"{where}/{key}: in the answer, not documented" for key in real.keys() - documented.keys()]
        for key in documented.keys() & real.keys():
            problems += mismatches(documented[key], real[key], f"{where}/{key}")
        return problems
    if isinstance(documented, list) and isinstance(real, list):
        open_ended = bool(documented) and documented[-1] == ANY
        shown = documented[:-1] if open_ended else documented
        if len(real) < len(shown) or (not open_ended and len(real) != len(shown)):
            return [f"{where}: {len(shown)} item(s) documented{' at least' if open_ended else ''}, {len(real)} in the answer"]
        return [problem for i, item in enumerate(shown) for problem in mismatches(item, real[i], f"{where}/{i}")]
    return [] if documented == real else [f"{where or '/'}: documented {documented!r}, real {real!r}"]


def test_the_documentation_has_its_error_examples():
    documents = {example.where.split(":")[0] for example in EXAMPLES}
    assert len(EXAMPLES) >= 6 and {"README.md", "docs/intake-format.md", "docs/webhooks.md", "docs/reception.md"} <= documents


def test_every_error_shown_in_the_documentation_is_a_replayed_example():
    unmarked = []
    for path in DOCUMENTS:
        text = path.read_text()
        marked = {match.start("block") for match in MARKER.finditer(text)}
        for fence in FENCE.finditer(text):
            if LOOKS_LIKE_AN_ERROR.search(fence["body"]) and fence.start("body") not in marked:
                unmarked.append(f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, fence.start()) + 1}")
    assert unmarked == [], "error examples without an <!-- example: … --> marker (the test cannot check them)"


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.where for example in EXAMPLES])
def test_a_documented_error_is_the_live_answer(api, example):
    response = replay(api, example.requests)
    assert response.status_code == example.status, (example.where, response.get_data(as_text=True)[:500])
    for name, value in example.headers.items():
        assert response.headers.get(name) == value, (example.where, name)
    assert mismatches(example.body, response.get_json()) == [], example.where


def test_the_example_the_docs_used_to_show_is_caught(api):
    """The intake example documented before problem details (`invalid_input`, the answer said `invalid_invoice`) fails the check."""
    before = {
        "error": {
            "code": "invalid_input",
            "message": "The invoice does not follow the intake format.",
            "details": [{"pointer": "/lines/0/quantity", "message": "1.5 is not of type 'string'"}],
        }
    }
    response = replay(api, ["POST /api/v1/invoices @docs/examples/errors/invalid-invoice.json"])
    assert response.status_code == 422
    assert "/error: documented, not in the answer" in mismatches(before, response.get_json())
    assert mismatches({"code": "invalid_input"}, {"code": "invalid_invoice"}) == ["/code: documented 'invalid_input', real 'invalid_invoice'"]


def test_the_matcher_reads_ellipses_as_any_text():
    assert mismatches({"detail": "Invoice … was rejected"}, {"detail": "Invoice 3f2a was rejected"}) == []
    assert mismatches({"detail": "Invoice … was rejected"}, {"detail": "Invoice 3f2a was accepted"}) != []
    assert mismatches({"items": [1, ANY]}, {"items": [1, 2, 3]}) == []
    assert mismatches({"items": [1, 2]}, {"items": [1, 2, 3]}) != []
    assert mismatches({"a": 1}, {"a": 1, "b": 2}) == ["/b: in the answer, not documented"]

"""Hostile input through the HTTP API: each attack is a 4xx, in bounded time and memory, and touches nothing.

The XML and PDF payloads are the parser-level ones of tests/validation/test_hostile.py, sent here through
every endpoint that reads a document; the transport attacks (huge or slow bodies) go through the real
waitress server `gateway serve` runs.  docs/reliability.md lists each attack with its outcome.
"""

from __future__ import annotations

import copy
import http.client
import io
import json
import socket
import time
from pathlib import Path
from urllib.parse import quote

import pikepdf
import pytest
from werkzeug.exceptions import RequestEntityTooLarge

from gateway import intake
from gateway.formats.cii import write_cii
from gateway.formats.facturx import build_facturx
from gateway.store.blobs import BlobStore
from tests.conftest import load_example
from tests.security.conftest import bounded, serving
from tests.validation.pdfs import MB, build_pdf, deflate, zeros_bomb
from tests.validation.test_hostile import BILLION_LAUGHS, HOSTILE_XML, UBL_OPEN

DOCUMENT_ENDPOINTS = ("/api/v1/invoices", "/api/v1/validate", "/api/v1/signatures/verify")
DEEP_NESTING = UBL_OPEN + b"<a>" * 10_000 + b"</a>" * 10_000 + b"</Invoice>"
XML_CASES = {
    **{name: data for name, (data, _error) in HOSTILE_XML.items()},
    "deep nesting": DEEP_NESTING,
}
EXPECTED_XML_STATUS = {name: error.status for name, (_data, error) in HOSTILE_XML.items()} | {"deep nesting": 400}


def _refused(api, path: str, data: bytes, content_type: str) -> int:
    with bounded():
        response = api.post(path, data=data, content_type=content_type)
    assert 400 <= response.status_code < 500, response.get_data()[:300]
    assert response.is_json and "root:" not in response.get_data(as_text=True)  # nothing of /etc/passwd ever surfaces
    return response.status_code


# ---------------------------------------------------------------------------- XML


@pytest.mark.parametrize("case", XML_CASES, ids=str)
@pytest.mark.parametrize("path", DOCUMENT_ENDPOINTS)
def test_hostile_xml_is_a_4xx(api, path, case):
    status = _refused(api, path, XML_CASES[case], "application/xml")
    if len(XML_CASES[case]) > api.client.application.config["MAX_CONTENT_LENGTH"]:
        assert status == 413  # refused by the body limit before any parsing
    elif EXPECTED_XML_STATUS[case] != 422 and path != "/api/v1/signatures/verify":  # the verifier sniffs less: any 4xx
        assert status == EXPECTED_XML_STATUS[case]
    assert api.get("/api/v1/invoices").get_json()["total"] == 0  # nothing stored


def test_xml_bomb_as_intake_json_string_is_inert(api):
    """A bomb inside a JSON string is text: escaped in the generated XML, never parsed as a DTD."""
    data = copy.deepcopy(load_example("invoice-fr-b2b"))
    data["notes"] = [BILLION_LAUGHS.decode()[:900]]
    with bounded():
        response = api.post("/api/v1/validate", json=data)
    assert response.status_code in (200, 422), response.get_json()


# ---------------------------------------------------------------------------- PDF


def _facturx() -> bytes:
    processed = intake.read_json(load_example("invoice-fr-b2b"), None)
    return build_facturx(processed.invoice, write_cii(processed.invoice, profile="en16931"), profile="en16931")


def _with_javascript(pdf: bytes, where: str, *, object_streams: bool) -> bytes:
    """The Factur-X with JavaScript where a viewer runs it: the open action, the JavaScript name tree, or a link annotation."""
    action = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('pwned')"))
    with pikepdf.open(io.BytesIO(pdf)) as document:
        if where == "open action":
            document.Root.OpenAction = action
        elif where == "name tree":
            document.Root.Names.JavaScript = pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("x"), document.make_indirect(action)]))
        else:
            link = pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 100, 100], A=action)
            document.pages[0].Annots = document.make_indirect(pikepdf.Array([document.make_indirect(link)]))
        mode = pikepdf.ObjectStreamMode.generate if object_streams else pikepdf.ObjectStreamMode.disable
        buffer = io.BytesIO()
        document.save(buffer, object_stream_mode=mode, compress_streams=True)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def facturx() -> bytes:
    return _facturx()


PDF_CASES = {
    "flate bomb (200 MB of zeros as factur-x.xml)": (lambda: build_pdf([("factur-x.xml", zeros_bomb(200 * MB), True)]), 413),
    "300 attachments": (lambda: build_pdf([(f"annex-{i:03}.xml", b"<a/>", False) for i in range(300)]), 400),
    "cyclic name tree": (lambda: build_pdf(cyclic_name_tree=True), 400),
    "embedded billion laughs": (lambda: build_pdf([("factur-x.xml", deflate(BILLION_LAUGHS), True)]), 400),
    "truncated PDF": (lambda: b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", 400),
    "PDF without invoice": (lambda: build_pdf(), 415),
}


@pytest.mark.parametrize("case", PDF_CASES, ids=str)
@pytest.mark.parametrize("path", DOCUMENT_ENDPOINTS[:2])
def test_hostile_pdf_is_a_4xx(api, path, case):
    build, expected = PDF_CASES[case]
    assert _refused(api, path, build(), "application/pdf") == expected


@pytest.mark.parametrize("object_streams", [False, True], ids=["plain objects", "object streams"])
@pytest.mark.parametrize("where", ["open action", "name tree", "link annotation"])
def test_facturx_with_javascript_is_refused(api, facturx, where, object_streams):
    """PDF/A-3 forbids JavaScript: refused with a clear 400, never stored, never opened by anyone."""
    assert api.post("/api/v1/validate", data=facturx, content_type="application/pdf").status_code == 200  # the same PDF without script
    hostile = _with_javascript(facturx, where, object_streams=object_streams)
    for path in DOCUMENT_ENDPOINTS[:2]:
        response = api.post(path, data=hostile, content_type="application/pdf")
        assert response.status_code == 400, response.get_json()
        assert response.get_json()["code"] == "unsafe_document" and "JavaScript" in response.get_json()["detail"]
    assert api.get("/api/v1/invoices").get_json()["total"] == 0


# ---------------------------------------------------------------------------- HTTP: content types, sizes, slow clients


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/v1/invoices", "text/plain"),
        ("/api/v1/invoices", "multipart/form-data; boundary=x"),
        ("/api/v1/invoices", "application/x-www-form-urlencoded"),
        ("/api/v1/validate", "text/html"),
        ("/api/v1/validate", ""),
        ("/api/v1/webhooks", "text/plain"),
        ("/api/v1/invoices/{id}/statuses", "application/xml"),
    ],
)
def test_wrong_content_type_is_415(api, invoice, path, content_type):
    response = api.post(path.format(id=invoice["id"]), data=b'{"code": "204"}', content_type=content_type)
    assert response.status_code == 415 and response.get_json()["code"] == "unsupported_media_type"


def test_deeply_nested_json_is_400_everywhere(api, invoice):
    for path in ("/api/v1/invoices", "/api/v1/validate", "/api/v1/webhooks", f"/api/v1/invoices/{invoice['id']}/statuses", "/api/v1/inbox/ack"):
        for body in (b"[" * 100_000, b'{"a":' * 100_000):
            with bounded():
                response = api.post(path, data=body, content_type="application/json")
            assert response.status_code == 400, (path, response.get_json())


BOUND_READ = 30.0  # socket timeout: a server that never answers fails the test instead of hanging it


def _raw_response(port: int, head: bytes, body: bytes = b"", timeout: float = BOUND_READ) -> tuple[http.client.HTTPResponse, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head + body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response, response.read()


def _raw_request(port: int, head: bytes, body: bytes = b"", timeout: float = BOUND_READ) -> tuple[int, bytes]:
    response, answer = _raw_response(port, head, body, timeout)
    return response.status, answer


def _assert_api_too_large(response: http.client.HTTPResponse, answer: bytes) -> None:
    """The server's refusal is the API's problem, the one Flask gives for a body over MAX_CONTENT_LENGTH (not waitress' text)."""
    assert response.status == 413
    assert response.getheader("Content-Type") == "application/problem+json"
    problem = json.loads(answer)
    assert (problem["type"], problem["title"], problem["status"], problem["code"]) == ("/api/problems/too_large", "Body too large", 413, "too_large")
    assert problem["detail"] == RequestEntityTooLarge.description and problem["errors"] == []


@pytest.fixture
def small_server(app, gateway_config):
    """The API behind waitress with a 64 KB body limit."""
    import dataclasses

    from gateway.app import create_app

    config = dataclasses.replace(gateway_config, max_body_bytes=64 * 1024)
    small = create_app(config)
    with serving(small, config) as port:
        yield port
    small.extensions["gateway.database"].dispose()


def test_declared_oversized_body_is_413_before_it_is_read(api, small_server):
    """Content-Length of 10 GB: refused at the door (nothing is spooled to disk), quickly."""
    head = (
        b"POST /api/v1/invoices HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
        b"Authorization: Bearer " + api.key.encode() + b"\r\nContent-Length: 10737418240\r\n\r\n"
    )
    with bounded(trace=False):
        response, answer = _raw_response(small_server, head, b"<Invoice/>")
    _assert_api_too_large(response, answer)


def test_chunked_oversized_body_is_413(api, small_server):
    """No Content-Length, chunks past the limit: cut by the server as they arrive."""
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"<" * 64 * 1024)
    head = (
        b"POST /api/v1/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nTransfer-Encoding: chunked\r\n"
        b"Authorization: Bearer " + api.key.encode() + b"\r\n\r\n"
    )
    with bounded(trace=False):
        response, answer = _raw_response(small_server, head, chunk * 4 + b"0\r\n\r\n")
    _assert_api_too_large(response, answer)


def test_oversized_body_outside_the_api_gets_flasks_page(small_server):
    """The portal keeps Flask's pages: waitress' refusal of a portal form is Flask's HTML 413, not JSON."""
    head = b"POST /portal/sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10737418240\r\n\r\n"
    response, answer = _raw_response(small_server, head)
    assert response.status == 413 and response.getheader("Content-Type", "").startswith("text/html")
    assert b"Request Entity Too Large" in answer


def test_body_just_under_the_limit_reaches_the_application(api, small_server):
    body = UBL_OPEN + b" " * (60 * 1024) + b"</Invoice>"
    head = b"POST /api/v1/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n"
    status, answer = _raw_request(small_server, head % (api.key.encode(), len(body)), body)
    assert status == 200 and json.loads(answer)["valid"] is False  # validated (an empty invoice), not refused by size


def test_slow_bodies_do_not_stop_other_clients(api, app, gateway_config):
    """Slowloris: 30 clients trickle their bodies; the server (2 threads) still answers others at once, then answers the slow ones."""
    body = b'{"not": "an invoice"}'
    head = b"POST /api/v1/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n"
    with serving(app, gateway_config) as port:
        slow = [socket.create_connection(("127.0.0.1", port), timeout=BOUND_READ) for _ in range(30)]
        try:
            for sock in slow:
                sock.sendall(head % (api.key.encode(), len(body)) + body[:5])
            for _ in range(3):
                with bounded(trace=False) as cost:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=BOUND_READ)
                    connection.request("GET", "/healthz")
                    assert connection.getresponse().status == 200
                    connection.close()
                assert cost.seconds < 5, cost
            for sock in slow:  # the slow clients finish: each gets its answer
                sock.sendall(body[5:])
            for sock in slow:
                response = http.client.HTTPResponse(sock)
                response.begin()
                assert response.status == 422
        finally:
            for sock in slow:
                sock.close()


# ---------------------------------------------------------------------------- path traversal


TRAVERSALS = [
    "..",
    "../../etc/passwd",
    "..%2F..%2Fgateway.db",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "....//....//etc/passwd",
    "/etc/passwd",
    "cii/../../x",
    "\\..\\..\\x",
]


def _tree(folder: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in folder.rglob("*")}


@pytest.mark.parametrize("name", TRAVERSALS)
def test_path_traversal_in_names_is_404(api, invoice, gateway_config, name):
    data_dir = gateway_config.data_dir
    outside = _tree(data_dir.parent)
    for path in (
        f"/api/v1/invoices/{invoice['id']}/documents/{name}",
        f"/api/v1/invoices/{name}",
        f"/api/v1/invoices/{name}/documents/cii",
        f"/api/v1/invoices/{name}/statuses",
        f"/api/v1/deliveries/{name}/retry",
        f"/api/v1/webhooks/deliveries/{name}/replay",
    ):
        response = api.get(path) if "/retry" not in path and "/replay" not in path else api.post(path)
        assert response.status_code in (404, 405), (path, response.status_code)
        assert b"root:" not in response.get_data()
    assert {k: v for k, v in _tree(data_dir.parent).items() if not k.startswith(str(data_dir))} == {
        k: v for k, v in outside.items() if not k.startswith(str(data_dir))
    }


def test_blob_store_refuses_a_name_that_is_not_a_digest(tmp_path):
    store = BlobStore(tmp_path / "documents")
    for name in ("../" * 8 + "etc/passwd", "a" * 63 + "/", "A" * 64, "../" + "a" * 61):
        with pytest.raises(ValueError):
            store.path(name)


def test_invoice_number_never_escapes_the_download_file_name(api):
    """BT-1 is the caller's text: in Content-Disposition it can neither traverse nor inject a header."""
    data = copy.deepcopy(load_example("invoice-fr-b2b"))
    data["number"] = '../../etc/passwd";\x7f evil="1'
    created = api.post("/api/v1/invoices", json=data)
    assert created.status_code == 201, created.get_json()
    # Such a number breaks BR-FR rules, so the invoice is rejected: its input is what stays downloadable.
    response = api.get(created.get_json()["links"]["documents"]["input"])
    disposition = response.headers["Content-Disposition"]
    assert disposition == 'attachment; filename=".._.._etc_passwd_evil_1-input.json"', disposition


# ---------------------------------------------------------------------------- SQL injection


INJECTIONS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "1; DROP TABLE invoices; --",
    "x'); DELETE FROM api_keys; --",
    "' UNION SELECT key_sha256, key_sha256 FROM api_keys --",
    '" OR ""="',
    "%",
    "_",
    "%' --",
    "\\",
    "\x00",
    "²",
    "9" * 5000,
    "1e999999",
    "NaN",
    "2026-02-30",
    "2026-01-01' OR '1'='1",
]


def _table_intact(api, invoice) -> None:
    assert api.get(f"/api/v1/invoices/{invoice['id']}").status_code == 200
    listed = api.get("/api/v1/invoices").get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == invoice["id"]


@pytest.mark.parametrize("value", INJECTIONS, ids=lambda v: repr(v)[:24])
def test_sql_injection_in_every_api_filter(api, other_api, invoice, value):
    other_api.post("/api/v1/invoices", json=load_example("invoice-fr-b2b"))  # another tenant's row, never to be listed
    for name in ("status", "from", "to", "buyer", "page", "per_page"):
        response = api.get("/api/v1/invoices", query_string={name: value})
        assert response.status_code in (200, 400), (name, response.get_json())
        if response.status_code == 200:
            assert response.get_json()["total"] == 0, (name, response.get_json())  # no invoice matches an injection string
    filters = (("/api/v1/deliveries", "state"), ("/api/v1/deliveries", "page"), ("/api/v1/webhooks/deliveries", "state"),
               ("/api/v1/inbox", "status"), ("/api/v1/inbox", "limit"), ("/api/v1/inbox", "after"), ("/api/v1/inbox", "all"))  # fmt: skip
    for path, name in filters:
        response = api.get(path, query_string={name: value})
        allowed = (200, 400, 404) if name == "after" else (200, 400)  # `after` names an inbox entry: unknown is a 404
        assert response.status_code in allowed, (path, name, response.get_json())
        assert response.status_code != 200 or response.get_json()["items"] == []
    response = api.post(f"/api/v1/inbox/{quote(value, safe='')}/ack")
    assert response.status_code in (400, 404), response.get_json()
    assert api.post("/api/v1/inbox/ack", json={"ids": [value]}).status_code in (400, 404)
    _table_intact(api, invoice)


def test_sql_injection_in_every_portal_filter(portal_client, value_list=INJECTIONS):
    client, world_invoices = portal_client
    for value in value_list:
        for name in ("q", "status", "from", "to", "min", "max", "sort", "order", "direction", "page"):
            for path in ("/portal/invoices", "/portal/invoices.csv", "/portal/"):
                response = client.get(path, query_string={name: value, "period": value if path == "/portal/" else ""})
                response.get_data()  # the CSV is streamed: its rows are queried while reading
                # read as text that matches nothing (200), or a value the page cannot use, named (400): never a 500
                assert response.status_code in (200, 400), (path, name, repr(value)[:30], response.status_code)
    listing = client.get("/portal/invoices").get_data(as_text=True)
    assert all(number in listing for number in world_invoices)


# ---------------------------------------------------------------------------- header injection


def test_request_id_is_taken_only_when_safe(api):
    assert api.get("/healthz", headers={"X-Request-Id": "erp-42.a_b:c"}).headers["X-Request-Id"] == "erp-42.a_b:c"
    for hostile in ("<script>alert(1)</script>", "a" * 65, "id with spaces", "Ω", "-starts-with-dash"):
        echoed = api.get("/healthz", headers={"X-Request-Id": hostile}).headers["X-Request-Id"]
        assert echoed != hostile and len(echoed) == 32 and echoed.isalnum()


def test_request_id_with_a_line_break_cannot_add_a_response_header(app, gateway_config):
    """Over a raw socket (clients refuse to send it): the server reads the break as the end of the header."""
    with serving(app, gateway_config) as port:
        status, _ = _raw_request(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc\rSet-Cookie: pwned=1\r\n\r\n")
        assert status in (200, 400)
        with socket.create_connection(("127.0.0.1", port), timeout=BOUND_READ) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc\r\n Set-Cookie: pwned=1\r\nConnection: close\r\n\r\n")
            response = http.client.HTTPResponse(sock)
            response.begin()
            assert response.getheader("Set-Cookie") is None


def test_replayed_webhook_signature_is_refused_by_the_documented_verifier():
    """The receiver's check (docs/webhooks.md): a captured request replayed after the 5-minute window fails, so does one from the future."""
    from gateway.webhooks import signing
    from tests.webhooks.conftest import documented_verify

    verify = documented_verify()
    body, secret, now = b'{"event":"invoice.accepted"}', "whsec_test", int(time.time())
    assert verify(secret, body, signing.sign(secret, body, now - 10))
    for stale in (now - 301, now - 86_400, now + 301):
        assert not verify(secret, body, signing.sign(secret, body, stale))
    captured = signing.sign(secret, body, now)
    assert not verify(secret, body, captured.replace(f"t={now}", f"t={now + 1}"))  # a fresher timestamp breaks the HMAC

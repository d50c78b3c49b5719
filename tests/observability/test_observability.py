"""Structured logs with a request id carried into jobs, liveness vs readiness, and the Prometheus metrics."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import create_app
from gateway.archive.service import Archive
from gateway.config import Config, ConfigError
from gateway.jobs.deliver import Deliverer
from gateway.jobs.worker import Worker
from gateway.observability import context
from gateway.observability.logging import JsonFormatter, TextFormatter, configure_logging
from gateway.store.session import Database, upgrade
from tests.api.conftest import Api, app, new_tenant_key  # noqa: F401 (the session's API app)
from tests.conftest import load_example
from tests.signing.conftest import Pki, pki  # noqa: F401 (the test PKI of tests/signing)


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """What the gateway's loggers write, as JSON lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("gateway")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)


def _entries(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


# ---------------------------------------------------------------------------- log format


def test_json_lines_carry_the_bound_context_and_the_traceback(lines):
    log = logging.getLogger("gateway.test")
    with context.bound(request_id="req-1", tenant="acme"):
        log.info("invoice %s\r\nforged: line", "F-1", extra={"invoice_id": "inv-9"})
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("failed")
    log.info("after")
    first, second, after = _entries(lines)
    assert first["message"] == "invoice F-1\r\nforged: line"  # one JSON line: a value from outside cannot forge another
    assert (first["level"], first["logger"], first["request_id"], first["tenant"], first["invoice_id"]) == (
        "INFO",
        "gateway.test",
        "req-1",
        "acme",
        "inv-9",
    )
    assert first["time"].endswith("+00:00")
    assert "RuntimeError: boom" in second["exc"] and second["request_id"] == "req-1"
    assert "request_id" not in after  # the binding ended with its block


def test_text_format_and_configuration():
    record = logging.LogRecord("gateway.x", logging.WARNING, __file__, 1, "hello", None, None)
    with context.bound(request_id="r-2"):
        assert TextFormatter().format(record).endswith("WARNING gateway.x: hello [request_id=r-2]")
    assert TextFormatter().format(record).endswith("WARNING gateway.x: hello")
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging(Config(log_format="json", log_level="WARNING"), stream)
        logging.getLogger("configured-test").warning("as json")
        logging.getLogger("configured-test").info("below the level")
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    assert [json.loads(line)["message"] for line in stream.getvalue().splitlines()] == ["as json"]
    with pytest.raises(ConfigError, match="log_format"):
        Config(log_format="xml")


# ---------------------------------------------------------------------------- request id, into jobs


def test_request_id_is_returned_logged_and_generated_when_absent(app, lines):  # noqa: F811
    api = Api(app, new_tenant_key(app))
    response = api.get("/api/v1/invoices", headers={"X-Request-Id": "erp-7f3a"})
    assert response.headers["X-Request-Id"] == "erp-7f3a"
    [access] = [e for e in _entries(lines) if e["logger"] == "gateway.http"]
    assert access["request_id"] == "erp-7f3a" and access["message"].startswith("GET /api/v1/invoices 200") and access["tenant"].startswith("tenant-")
    generated = {api.get("/healthz").headers["X-Request-Id"] for _ in range(2)}
    assert len(generated) == 2 and all(len(g) == 32 for g in generated)


def test_the_request_id_follows_the_invoice_into_its_delivery_job(tmp_path, lines):
    """Submitted with X-Request-Id: the delivery worker's lines about that invoice carry the same id (and the invoice, the delivery)."""
    config = Config(data_dir=tmp_path, config_dir=tmp_path / "none")
    upgrade(config)
    web = create_app(config)
    api = Api(web, new_tenant_key(web))
    created = api.post("/api/v1/invoices", json=load_example("invoice-fr-b2b"), headers={"X-Request-Id": "erp-batch-42"})
    assert created.status_code == 201
    assert created.get_json()["events"][0]["detail"]["request_id"] == "erp-batch-42"
    database = Database(config)
    deliverer = Deliverer(database, Archive.for_config(config), config)
    assert deliverer.run_once("test-worker")  # no connector configured: the delivery is refused, and logged
    job_lines = [e for e in _entries(lines) if e["logger"].startswith("gateway.jobs")]
    assert job_lines and all(e["request_id"] == "erp-batch-42" and e["invoice_id"] == created.get_json()["id"] for e in job_lines)
    assert all("delivery_id" in e for e in job_lines)
    database.dispose()
    web.extensions["gateway.database"].dispose()


# ---------------------------------------------------------------------------- liveness and readiness


def test_healthz_is_alive_even_when_the_database_is_not(tmp_path):
    down = create_app(Config(data_dir=tmp_path, config_dir=tmp_path / "none", database_url="postgresql+psycopg://postgres@127.0.0.1:1/none"))
    client = down.test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.mimetype == "application/problem+json"
    assert (ready.get_json()["code"], ready.get_json()["database"]) == ("not_ready", "unavailable") and "database" in ready.get_json()["detail"]
    down.extensions["gateway.database"].dispose()


def test_readyz_fails_when_documents_cannot_be_stored(gateway_config):
    broken_dir = gateway_config.data_dir / "readyz-broken"
    broken_dir.mkdir(exist_ok=True)
    (broken_dir / "documents").write_text("a file where the document folder should be")
    broken = create_app(dataclasses.replace(gateway_config, data_dir=broken_dir))
    ready = broken.test_client().get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["storage"] == "unavailable" and ready.get_json()["database"] == "ok"
    broken.extensions["gateway.database"].dispose()


def test_readyz_follows_the_in_process_scheduler(app, gateway_config):  # noqa: F811
    client = app.test_client()
    assert client.get("/readyz").get_json()["scheduler"] == "not-in-process"
    database = Database(gateway_config)
    worker = Worker(Deliverer(database, Archive.for_config(gateway_config), gateway_config), 0)
    worker.start()
    try:
        assert client.get("/readyz").get_json()["scheduler"] == "running"
        worker._scheduler.shutdown(wait=True)  # the scheduler died under the worker
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.get_json()["scheduler"] == "stopped"
    finally:
        worker.stop()
        database.dispose()
    assert client.get("/readyz").get_json()["scheduler"] == "not-in-process"


def _signing_certificate(authority: Pki, ends_in: timedelta) -> x509.Certificate:
    """The test PKI's signing key certified again by its CA, valid until now + `ends_in` (negative: expired)."""
    ca_key = serialization.load_pem_private_key((authority / "ca.key").read_bytes(), None)
    signing_key = serialization.load_pem_private_key((authority / "signing.key").read_bytes(), None)
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(authority.certificate.subject)
        .issuer_name(authority.roots[0].subject)
        .public_key(signing_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=30))
        .not_valid_after(now + ends_in)
        .sign(ca_key, hashes.SHA256())
    )


@pytest.mark.parametrize(
    ("ends_in", "http_status", "signing_status"),
    [(timedelta(days=-1), 503, "expired"), (timedelta(days=5), 200, "expiring"), (timedelta(days=400), 200, "ok")],
    ids=["expired", "expiring", "valid"],
)
def test_readyz_follows_the_signing_certificate_expiry(gateway_config, pki, tmp_path, ends_in, http_status, signing_status):  # noqa: F811
    """An expired signing certificate makes the process not ready (it would sign what verifiers reject); one near its end only warns."""
    certificate = _signing_certificate(pki, ends_in)
    chain = tmp_path / "chain.pem"
    chain.write_bytes(certificate.public_bytes(serialization.Encoding.PEM) + (pki / "ca.pem").read_bytes())
    signing = {"store": "pem", "key_file": str(pki / "signing.key"), "cert_file": str(chain), "expiry_warning_days": 30}
    signer = create_app(dataclasses.replace(gateway_config, sections={"signing": signing}))
    try:
        ready = signer.test_client().get("/readyz")
    finally:
        signer.extensions["gateway.database"].dispose()
    body = ready.get_json()
    assert ready.status_code == http_status and body["status"] == ("ready" if http_status == 200 else 503)
    assert (body["database"], body["storage"], body["signing"]["status"]) == ("ok", "ok", signing_status)  # the signing check alone decides
    signer_certificate = body["signing"]["certificates"][0]
    assert signer_certificate["subject"] == pki.certificate.subject.rfc4514_string() and signer_certificate["state"] == signing_status
    assert signer_certificate["not_after"] == certificate.not_valid_after_utc.isoformat()


# ---------------------------------------------------------------------------- metrics


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_count_invoices_findings_queues_and_latency(app):  # noqa: F811
    api = Api(app, new_tenant_key(app))
    wrong = load_example("invoice-fr-b2b") | {"number": "MET-1", "totals": {"tax_inclusive_amount": "1.00"}}
    assert api.post("/api/v1/invoices", json=wrong).get_json()["status"] == "rejected"
    assert api.post("/api/v1/invoices", json=load_example("invoice-fr-b2b") | {"number": "MET-2"}).get_json()["status"] == "200"
    response = app.test_client().get("/metrics")
    assert response.status_code == 200 and response.content_type.startswith("text/plain; version=0.0.4")
    text = response.get_data(as_text=True)
    samples = _samples(text)
    assert samples[("gateway_database_up", ())] == 1
    assert samples[("gateway_invoices", (("direction", "outgoing"), ("status", "200")))] >= 1
    assert samples[("gateway_invoices", (("direction", "outgoing"), ("status", "rejected")))] >= 1
    assert samples[("gateway_outbox_deliveries", (("state", "pending"),))] >= 1
    assert any(name == "gateway_validation_findings_total" and dict(labels)["severity"] == "fatal" for name, labels in samples)
    count = ("gateway_http_request_duration_seconds_count", (("endpoint", "/api/v1/invoices"), ("method", "POST"), ("status", "201")))
    assert samples[count] >= 2
    assert "gateway_delivery_attempts_total" in text and "gateway_webhook_deliveries" in text
    assert api.key not in text and "MET-1" not in text and "tenant-" not in text  # counts only: no tenant data in labels

"""Prometheus metrics: counters kept by this process, and figures read from the database at scrape time.

Process metrics (reset when the process restarts, as Prometheus expects of counters):
- `gateway_http_request_duration_seconds{method, endpoint, status}` — a histogram of request latency;
  `endpoint` is the route's rule (`/api/v1/invoices/<invoice_id>`), never the URL, so ids never become labels;
  its `_count` is the number of requests.
- `gateway_validation_findings_total{rule_id, severity}` — findings in the reports of stored invoices.

Database metrics (true across every gateway and worker process sharing the database):
- `gateway_invoices{status, direction}` — invoices by lifecycle status ("200" …, "rejected") and direction;
- `gateway_outbox_deliveries{state}` — outbox rows by state (queue depth: pending + failed-retrying);
- `gateway_delivery_attempts_total{connector, outcome}` — delivery attempts by connector and outcome;
- `gateway_webhook_deliveries{state}` — webhook deliveries by state;
- `gateway_database_up` — 0 when the database could not be read for this scrape.

Labels hold no tenant data: figures are counts over every tenant.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from gateway.jobs.models import Delivery, DeliveryAttempt
from gateway.store import models as db
from gateway.store.session import Database
from gateway.webhooks.models import WebhookDelivery

log = logging.getLogger(__name__)
LABELS = {"channel": "connector"}  # column → label name where they differ
NULL_LABELS = {"channel": "none", "outcome": "in-flight", "status": "none", "direction": "none", "state": "none"}  # NULL columns

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)

HTTP_LATENCY = Histogram(
    "gateway_http_request_duration_seconds",
    "HTTP request latency, by method, route and status.",
    ["method", "endpoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
VALIDATION_FINDINGS = Counter(
    "gateway_validation_findings",
    "Validation findings in the reports of stored invoices, by rule and severity.",
    ["rule_id", "severity"],
    registry=REGISTRY,
)


def count_findings(findings: Iterable[dict[str, object]]) -> None:
    """Count a stored report's findings (dictionaries as in `Report.to_dict()["findings"]`)."""
    for finding in findings:
        VALIDATION_FINDINGS.labels(str(finding.get("rule_id") or "none"), str(finding.get("severity") or "none")).inc()


class DatabaseCollector(Collector):
    """The database figures, read when Prometheus scrapes (a few grouped counts over indexed columns)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("gateway_database_up", "1 when the database figures below could be read for this scrape.")
        try:
            families = list(self._families())
        except SQLAlchemyError as exc:
            log.error("metrics: database unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self) -> Iterator[Metric]:
        grouped = (
            (GaugeMetricFamily, "gateway_invoices", "Stored invoices by lifecycle status and direction.", (db.Invoice.status, db.Invoice.direction)),
            (GaugeMetricFamily, "gateway_outbox_deliveries", "Outbox deliveries by state (pending, failed-retrying: the queue).", (Delivery.state,)),
            (
                CounterMetricFamily,
                "gateway_delivery_attempts",
                "Delivery attempts by connector and outcome.",
                (DeliveryAttempt.channel, DeliveryAttempt.outcome),
            ),
            (
                GaugeMetricFamily,
                "gateway_webhook_deliveries",
                "Webhook deliveries by state (pending, retrying: the queue).",
                (WebhookDelivery.state,),
            ),
        )
        with self.database.sessionmaker() as session:
            for kind, name, documentation, columns in grouped:
                family = kind(name, documentation, labels=[LABELS.get(c.key, c.key) for c in columns])
                for *values, count in session.execute(select(*columns, func.count()).group_by(*columns)):
                    family.add_metric([value or NULL_LABELS[c.key] for c, value in zip(columns, values, strict=True)], count)
                yield family


def exposition(database: Database) -> bytes:
    """The text exposition format of this process's metrics and of the database's figures."""
    return generate_latest(REGISTRY) + generate_latest(DatabaseCollector(database))

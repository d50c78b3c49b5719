"""Benchmark of the portal: server time per page with 10,000 invoices in the database.  Prints figures, asserts nothing.

A fresh database gets a few real invoices through the intake (generation, official validation,
archive), then copies of them up to `--invoices` rows: each copy has its own number, dates,
amounts and status events, documents pointing at the same stored bytes, and its own archive
entries (so the archive has ~5 entries per invoice and verification works on a realistic tree).
About a fifth of the copies are incoming (received, some already answered by the buyer); every
copy has its webhook notification (1 % failed after 8 attempts).  One checkpoint covers everything.
Pages are requested through the WSGI app in-process (Flask test client), signed in as an
administrator (who sees every page): the time is the server's, without network.
The target is < 300 ms per page.

Usage: python bench/bench_portal.py [--invoices 10000] [--repeat 5]
       [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]   (empty: SQLite only)
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from gateway import intake
from gateway.api.webhooks import KEY as WEBHOOK_KEY
from gateway.app import create_app
from gateway.config import Config
from gateway.jobs.models import DEAD, RETRYING, SENT, Delivery
from gateway.lifecycle import codes
from gateway.portal.auth import create_user
from gateway.portal.models import ADMINISTRATOR, COMPLIANCE_OFFICER, OPERATOR
from gateway.store import models as db
from gateway.store.session import upgrade
from gateway.store.tenants import create_tenant
from gateway.webhooks import sender
from gateway.webhooks.models import DELIVERED, FAILED, Subscription, WebhookAttempt, WebhookDelivery

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
PASSWORD = "bench password 123"
TARGET_MS = 300
REAL = (  # example, changes: valid and rejected invoices, a credit note, another currency
    ("invoice-fr-b2b", {}),
    ("invoice-fr-b2b", {"totals": {"tax_inclusive_amount": "15000.00"}}),
    ("credit-note-fr-b2b", {}),
    ("invoice-fr-usd", {}),
    ("invoice-fr-reverse-charge", {}),
    ("invoice-fr-intra-eu", {}),
)
BATCH = 500
CHANNELS = ("chorus-pro", "peppol", "email")
INCOMING = 0.2  # share of the copies that are received invoices
BUYER_ANSWERS = ("202", "202", "204", "205", "207", "211")  # where received invoices stand
USERS = 20


@contextmanager
def config_on(kind: str, postgres: str) -> Iterator[Config]:
    """A fresh migrated gateway on SQLite (temporary folder) or PostgreSQL (a schema dropped afterwards)."""
    with tempfile.TemporaryDirectory() as folder:
        url, schema = "", f"bench_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(postgres, poolclass=sa.pool.NullPool) if kind == "postgresql" else None
        if admin is not None:
            with admin.begin() as conn:
                conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
            url = f"{postgres}?options=-csearch_path%3D{schema}"
        config = Config(data_dir=Path(folder), database_url=url, config_dir=Path(folder) / "no-config")
        upgrade(config)
        try:
            yield config
        finally:
            if admin is not None:
                with admin.begin() as conn:
                    conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
                admin.dispose()


def _copy(template: db.Invoice, number: int, rng: random.Random, now: datetime) -> db.Invoice:
    """A new row like `template`: its own number, dates (the last 12 months), amounts and events; some valid ones received."""
    received = now - timedelta(seconds=rng.randrange(365 * 24 * 3600))
    factor = Decimal(rng.randrange(10, 400)) / 100
    amounts = {
        name: (getattr(template, name) * factor).quantize(Decimal("0.01")) if getattr(template, name) is not None else None
        for name in ("tax_exclusive_amount", "tax_amount", "tax_inclusive_amount", "amount_due")
    }
    row = db.Invoice(
        id=db.new_id(), tenant_id=template.tenant_id, direction="outgoing", number=f"F{received.year}-{number:06d}",
        issue_date=received.date(), issue_year=received.year, type_code=template.type_code, currency=template.currency,
        seller_name=template.seller_name, seller_siren=template.seller_siren, buyer_name=f"{template.buyer_name} {number % 250}",
        buyer_siren=f"{rng.randrange(10**8, 10**9)}", buyer_vat_id=template.buyer_vat_id, profile=template.profile, syntax=template.syntax,
        state=template.state, status=template.status, status_label=template.status_label, report=template.report,
        created_at=received, updated_at=received, **amounts,
    )  # fmt: skip
    row.documents = [
        db.Document(kind=d.kind, content_type=d.content_type, sha256=d.sha256, size=d.size, created_at=received) for d in template.documents
    ]
    row.events = [db.StatusEvent(code=e.code, label=e.label, time=received, source=e.source, detail=e.detail) for e in template.events]
    if template.state != db.STATE_REJECTED and rng.random() < INCOMING:
        status = rng.choice(BUYER_ANSWERS)
        row.direction, row.state, row.status, row.status_label = "incoming", db.STATE_RECEIVED, status, codes.label(status)
        row.events = [db.StatusEvent(code=code, label=codes.label(code), time=received, source="gateway" if code == "202" else "portal")
                      for code in dict.fromkeys(("202", status))]  # fmt: skip
    return row


def _notification(row: db.Invoice, subscription: Subscription, rng: random.Random) -> WebhookDelivery:
    """The copy's webhook notification: delivered at the first attempt, or (1 %) failed after 8."""
    failed = rng.random() < 0.01
    delivery = WebhookDelivery(
        id=db.new_id(), tenant_id=row.tenant_id, subscription_id=subscription.id, event="invoice.accepted", invoice_id=row.id,
        payload=b'{"event":"invoice.accepted"}', state=FAILED if failed else DELIVERED, attempts=8 if failed else 1,
        next_attempt_at=row.created_at, delivered_at=None if failed else row.created_at, created_at=row.created_at,
    )  # fmt: skip
    delivery.attempt_rows = [
        WebhookAttempt(at=row.created_at, http_status=503 if failed else 204, error="HTTP 503" if failed else None, duration_ms=12)
        for _ in range(delivery.attempts)
    ]
    return delivery


def _delivery(row: db.Invoice, rng: random.Random) -> Delivery:
    """The copy's delivery, as workers leave them: mostly sent, about 1 % failing and 1 % in the dead-letter queue."""
    draw = rng.random()
    state, error = (DEAD, "refused by the network") if draw < 0.01 else (RETRYING, "connection refused") if draw < 0.02 else (SENT, None)
    return Delivery(
        id=db.new_id(), tenant_id=row.tenant_id, invoice_id=row.id, state=state, channel=rng.choice(CHANNELS), attempts=1 if state == SENT else 3,
        last_error=error, created_at=row.created_at, updated_at=row.created_at, next_attempt_at=row.created_at,
    )  # fmt: skip


def populate(app, invoices: int) -> tuple[str, list[str]]:
    """The tenant's administrator e-mail and a few invoice ids (a valid one, a rejected one, then copies: outgoing, incoming)."""
    database, archive = app.extensions["gateway.database"], app.extensions["gateway.archive"]
    rng, now = random.Random(6), datetime.now(UTC)
    with database.session() as session:
        tenant = create_tenant(session, "bench")
        email = create_user(session, tenant, "admin@bench.test", ADMINISTRATOR, PASSWORD).email
        for i in range(USERS - 1):
            create_user(session, tenant, f"user-{i}@bench.test", (OPERATOR, COMPLIANCE_OFFICER)[i % 2], PASSWORD)
        key = app.extensions[WEBHOOK_KEY]
        subscription, _secret = sender.subscribe(session, key, tenant.id, "https://erp.bench.test/hooks", ["invoice.accepted"])
        session.flush()
        subscription_id = subscription.id
        templates = []
        for i, (name, changes) in enumerate(REAL):
            data = {**json.loads((EXAMPLES / f"{name}.json").read_text()), **changes, "number": f"REAL-{i}"}
            templates.append(intake.submit_json(session, archive, tenant, data))
        ids = [templates[0].id, templates[1].id]
    blobs = {t.id: {d.sha256: archive.read(d.sha256) for d in t.documents} for t in templates}
    made = len(templates)
    while made < invoices:
        with database.session() as session:
            rows = [session.get(db.Invoice, t.id) for t in templates]
            subscription = session.get(Subscription, subscription_id)
            for _ in range(min(BATCH, invoices - made)):
                made += 1
                template = rows[rng.randrange(len(rows)) if rng.random() < 0.5 else 0]
                row = _copy(template, made, rng, now)
                session.add(row)
                if row.state != db.STATE_REJECTED and row.direction == "outgoing":
                    session.add(_delivery(row, rng))
                session.add(_notification(row, subscription, rng))
                session.flush()
                for document in row.documents:
                    archive.append(session, tenant_id=row.tenant_id, invoice_id=row.id, kind=document.kind, data=blobs[template.id][document.sha256])
        print(f"  {made} invoices", end="\r", file=sys.stderr, flush=True)
    with database.session() as session:
        archive.checkpoint(session)
        copies = sa.select(db.Invoice.id).where(db.Invoice.number.like("F%")).order_by(db.Invoice.created_at.desc()).limit(1)
        ids.append(session.scalar(copies.where(db.Invoice.direction == "outgoing")))
        ids.append(session.scalar(copies.where(db.Invoice.direction == "incoming", db.Invoice.status == "202")))
    return email, ids


def measure(client, request: str | tuple[str, str, dict[str, str]], token: str, repeat: int) -> tuple[float, float, int]:
    """Median and worst milliseconds of `repeat` requests (a path to GET, or a POST that changes nothing) after a warm-up, and the size."""

    def send() -> Any:
        if isinstance(request, str):
            return client.get(request)
        return client.post(request[1], data={**request[2], "csrf_token": token})

    response = send()
    assert response.status_code in (200, 422) and response.get_data(), (request, response.status_code)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = send()
        size = len(response.get_data())
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times), size


def run(kind: str, postgres: str, invoices: int, repeat: int) -> None:
    with config_on(kind, postgres) as config:
        app = create_app(config)
        start = time.perf_counter()
        email, (valid, rejected, copied, incoming) = populate(app, invoices)
        with app.extensions["gateway.database"].session() as session:
            entries = app.extensions["gateway.archive"].head(session)[0]
        print(f"{kind}: {invoices} invoices, {entries} archive entries, loaded in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        client = app.test_client()
        client.get("/portal/sign-in")
        with client.session_transaction("/portal/") as state:
            token = state["csrf"]
        client.post("/portal/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token})
        with client.session_transaction("/portal/") as state:
            token = state["csrf"]  # a new session, a new token
        pages = [
            ("dashboard, 30 days", "/portal/"),
            ("dashboard, 12 months", "/portal/?period=12m"),
            ("invoices, newest first", "/portal/invoices"),
            ("invoices, search buyer", "/portal/invoices?q=martin+17"),
            (
                "invoices, status + dates + amount, by amount",
                "/portal/invoices?status=200&from=2026-01-01&to=2026-12-31&min=100&max=20000&sort=amount",
            ),
            ("invoices, page 300 by buyer", "/portal/invoices?sort=buyer&page=300"),
            ("invoice page (valid)", f"/portal/invoices/{valid}"),
            ("invoice page (rejected)", f"/portal/invoices/{rejected}"),
            ("invoice page (incoming, buyer's form)", f"/portal/invoices/{incoming}"),
            ("buyer's form refused (422, page again)", ("POST", f"/portal/invoices/{incoming}/statuses", {"code": "208"})),
            ("verify archive proof (copied invoice)", f"/portal/invoices/{copied}/verify"),
            ("operations", "/portal/operations"),
            ("webhook deliveries, latest 100", "/portal/operations/webhooks"),
            ("webhook deliveries, failed", "/portal/operations/webhooks?state=failed"),
            ("users", "/portal/users"),
            ("CSV export of all invoices (download)", "/portal/invoices.csv"),
        ]
        print(f"\n{kind}: server time per page, {invoices} invoices ({repeat} runs after a warm-up; target < {TARGET_MS} ms)")
        print(f"  {'page':48} {'median':>9} {'worst':>9} {'size':>10}")
        for label, path in pages:
            median, worst, size = measure(client, path, token, repeat)
            flag = "" if worst < TARGET_MS or label.startswith("CSV") else "  OVER TARGET"
            print(f"  {label:48} {median:7.1f}ms {worst:7.1f}ms {size / 1024:8.0f}KB{flag}")
        app.extensions["gateway.database"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default="", help="PostgreSQL URL to also measure there (a schema is created and dropped)")
    args = parser.parse_args()
    for kind in ("sqlite", "postgresql") if args.postgres else ("sqlite",):
        run(kind, args.postgres, args.invoices, args.repeat)


if __name__ == "__main__":
    main()

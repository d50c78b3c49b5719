"""Benchmark of the portal: server time per page with 10,000 invoices in the database.  Prints figures, asserts nothing.

A fresh database gets a few real invoices through the intake (generation, official validation,
archive), then copies of them up to `--invoices` rows: each copy has its own number, dates,
amounts and status events, documents pointing at the same stored bytes, and its own archive
entries (so the archive has ~5 entries per invoice and verification works on a realistic tree).
One checkpoint covers everything.  Pages are requested through the WSGI app in-process (Flask
test client), signed in as an operator (who sees every page): the time is the server's, without network.
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

import sqlalchemy as sa

from gateway import intake
from gateway.app import create_app
from gateway.config import Config
from gateway.jobs.models import DEAD, RETRYING, SENT, Delivery
from gateway.portal.auth import create_user
from gateway.portal.models import OPERATOR
from gateway.store import models as db
from gateway.store.session import upgrade
from gateway.store.tenants import create_tenant

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
    """A new row like `template`: its own number, dates (the last 12 months), amounts and events."""
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
    return row


def _delivery(row: db.Invoice, rng: random.Random) -> Delivery:
    """The copy's delivery, as workers leave them: mostly sent, about 1 % failing and 1 % in the dead-letter queue."""
    draw = rng.random()
    state, error = (DEAD, "refused by the network") if draw < 0.01 else (RETRYING, "connection refused") if draw < 0.02 else (SENT, None)
    return Delivery(
        id=db.new_id(), tenant_id=row.tenant_id, invoice_id=row.id, state=state, channel=rng.choice(CHANNELS), attempts=1 if state == SENT else 3,
        last_error=error, created_at=row.created_at, updated_at=row.created_at, next_attempt_at=row.created_at,
    )  # fmt: skip


def populate(app, invoices: int) -> tuple[str, list[str]]:
    """The tenant's operator e-mail and a few invoice ids (a valid one first, then a rejected one)."""
    database, archive = app.extensions["gateway.database"], app.extensions["gateway.archive"]
    rng, now = random.Random(6), datetime.now(UTC)
    with database.session() as session:
        tenant = create_tenant(session, "bench")
        email = create_user(session, tenant, "operator@bench.test", OPERATOR, PASSWORD).email
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
            for _ in range(min(BATCH, invoices - made)):
                made += 1
                template = rows[rng.randrange(len(rows)) if rng.random() < 0.5 else 0]
                row = _copy(template, made, rng, now)
                session.add(row)
                if row.state != db.STATE_REJECTED:
                    session.add(_delivery(row, rng))
                session.flush()
                for document in row.documents:
                    archive.append(session, tenant_id=row.tenant_id, invoice_id=row.id, kind=document.kind, data=blobs[template.id][document.sha256])
        print(f"  {made} invoices", end="\r", file=sys.stderr, flush=True)
    with database.session() as session:
        archive.checkpoint(session)
        ids.append(session.scalar(sa.select(db.Invoice.id).where(db.Invoice.number.like("F%")).order_by(db.Invoice.created_at.desc()).limit(1)))
    return email, ids


def measure(client, path: str, repeat: int) -> tuple[float, float, int]:
    """Median and worst milliseconds of `repeat` requests (after one warm-up), and the response size."""
    response = client.get(path)
    assert response.status_code == 200 and response.get_data(), (path, response.status_code)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path)
        size = len(response.get_data())
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times), size


def run(kind: str, postgres: str, invoices: int, repeat: int) -> None:
    with config_on(kind, postgres) as config:
        app = create_app(config)
        start = time.perf_counter()
        email, (valid, rejected, copied) = populate(app, invoices)
        with app.extensions["gateway.database"].session() as session:
            entries = app.extensions["gateway.archive"].head(session)[0]
        print(f"{kind}: {invoices} invoices, {entries} archive entries, loaded in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        client = app.test_client()
        client.get("/portal/sign-in")
        with client.session_transaction("/portal/") as state:
            token = state["csrf"]
        client.post("/portal/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token})
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
            ("verify archive proof (copied invoice)", f"/portal/invoices/{copied}/verify"),
            ("operations", "/portal/operations"),
            ("CSV export of all invoices (download)", "/portal/invoices.csv"),
        ]
        print(f"\n{kind}: server time per page, {invoices} invoices ({repeat} runs after a warm-up; target < {TARGET_MS} ms)")
        print(f"  {'page':48} {'median':>9} {'worst':>9} {'size':>10}")
        for label, path in pages:
            median, worst, size = measure(client, path, repeat)
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

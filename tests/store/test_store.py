"""The database layer on SQLite and PostgreSQL: migrations equal the models, exact decimals, the French uniqueness rule, keys."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from gateway.store import models as db
from gateway.store.blobs import BlobCorrupted, BlobStore, sha256_hex
from gateway.store.session import Database, make_engine, upgrade
from gateway.store.tenants import TenantError, create_api_key, create_tenant, revoke_api_key, tenant_for_key


@pytest.fixture(scope="module")
def database(gateway_config):
    database = Database(gateway_config)
    yield database
    database.dispose()


@pytest.fixture
def tenant(database):
    with database.session() as session:
        return create_tenant(session, f"store-{uuid.uuid4().hex[:8]}")


def _invoice(tenant: db.Tenant, number: str = "F-1", state: str = db.STATE_VALIDATED, **values) -> db.Invoice:
    fields = dict(
        tenant_id=tenant.id, number=number, issue_date=date(2026, 11, 20), issue_year=2026, type_code="380", currency="EUR",
        seller_name="Seller", seller_siren="732829320", buyer_name="Buyer", profile="en16931", syntax="json",
        state=state, status="200" if state != db.STATE_REJECTED else db.STATUS_REJECTED, status_label="x", report={"valid": True},
    )  # fmt: skip
    return db.Invoice(**{**fields, **values})


def test_migrations_create_exactly_the_models(database):
    with database.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.all_metadata()) == []
        assert set(inspect(conn).get_table_names()) >= {"tenants", "api_keys", "invoices", "documents", "status_events", "idempotency_records"}


def test_upgrade_is_idempotent(gateway_config):
    upgrade(gateway_config)
    upgrade(gateway_config)


def test_sqlite_enforces_foreign_keys_and_uses_wal(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_foreign_keys_are_enforced(database):
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(db.StatusEvent(invoice_id=str(uuid.uuid4()), code="200", label="x", source="test"))


def test_amounts_are_exact_decimals(database, tenant):
    amount = Decimal("123456789012345.6789")  # more digits than a float holds
    with database.session() as session:
        row = _invoice(tenant, tax_inclusive_amount=amount, amount_due=Decimal("0.10"))
        session.add(row)
    with database.session() as session:
        again = session.get(db.Invoice, row.id)
        assert again.tax_inclusive_amount == amount and isinstance(again.tax_inclusive_amount, Decimal)
        assert str(again.amount_due) == "0.10"
        assert again.created_at.tzinfo is not None


def test_uniqueness_seller_number_year_among_accepted(database, tenant):
    with database.session() as session:
        session.add(_invoice(tenant, "DUP-1"))
        session.add(_invoice(tenant, "DUP-1", state=db.STATE_REJECTED))  # rejected ones do not count
        session.add(_invoice(tenant, "DUP-1", issue_date=date(2027, 1, 5), issue_year=2027))  # another year
        session.add(_invoice(tenant, "DUP-1", seller_siren="356000000"))  # another seller
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(_invoice(tenant, "DUP-1"))
    with database.session() as session:
        other = create_tenant(session, f"other-{uuid.uuid4().hex[:8]}")
        session.add(_invoice(other, "DUP-1"))  # per tenant


def test_status_events_are_ordered_by_time(database, tenant):
    with database.session() as session:
        row = _invoice(tenant, "EV-1")
        session.add(row)
        row.events.append(db.StatusEvent(code="200", label="Déposée", source="test", detail={"n": 1}))
        row.events.append(db.StatusEvent(code="201", label="Émise par la plateforme", source="test"))
    with database.session() as session:
        assert [e.code for e in session.get(db.Invoice, row.id).events] == ["200", "201"]


def test_api_keys_are_stored_hashed_and_revocable(database, tenant):
    with database.session() as session:
        key = create_api_key(session, session.merge(tenant))
    with database.session() as session:
        stored = session.scalars(select(db.ApiKey).where(db.ApiKey.tenant_id == tenant.id)).one()
        assert key not in (stored.key_sha256, stored.prefix) and stored.key_sha256 == sha256_hex(key.encode())
        assert key.startswith(stored.prefix)
        assert tenant_for_key(session, key).id == tenant.id
        assert tenant_for_key(session, key + "x") is None
        assert tenant_for_key(session, "not-a-key") is None
        revoke_api_key(session, key)
        assert tenant_for_key(session, key) is None


def test_tenant_names_are_unique(database, tenant):
    with pytest.raises(TenantError, match="already exists"), database.session() as session:
        create_tenant(session, tenant.name)


def test_blob_store_is_content_addressed_and_checked(tmp_path):
    blobs = BlobStore(tmp_path)
    data = b"<Invoice>\x00\xff exact bytes</Invoice>"
    digest = blobs.put(data)
    assert digest == sha256_hex(data)
    assert blobs.path(digest) == tmp_path / digest[:2] / f"{digest[2:]}.bin"
    assert blobs.put(data) == digest and blobs.get(digest) == data
    blobs.path(digest).write_bytes(b"tampered")
    with pytest.raises(BlobCorrupted):
        blobs.get(digest)
    with pytest.raises(ValueError):
        blobs.path("../../etc/passwd")


def test_database_session_rolls_back_on_error(database):
    name = f"rollback-{uuid.uuid4().hex[:8]}"
    with pytest.raises(RuntimeError), database.session() as session:
        create_tenant(session, name)
        raise RuntimeError("boom")
    with database.session() as session:
        assert session.execute(text("SELECT count(*) FROM tenants WHERE name = :n"), {"n": name}).scalar() == 0

"""Migration 0810: invoices stored before it keep being found by their buyer's SIREN and VAT number, and it goes back down."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from gateway.app import create_app
from gateway.config import Config
from gateway.store import models as db
from gateway.store.session import Database, alembic_config, make_engine, upgrade
from gateway.store.tenants import create_api_key, create_tenant
from tests.api.conftest import Api
from tests.conftest import _postgres_schema_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_config(request, tmp_path) -> Config:
    """A configuration whose database is not migrated yet."""
    url = _postgres_schema_url(request) if request.param == "postgresql" else ""
    return Config(data_dir=tmp_path, database_url=url, config_dir=tmp_path / "no-config")


def _downgrade(config: Config, revision: str) -> None:
    engine = make_engine(config.database_url)
    try:
        with engine.begin() as connection:
            alembic = alembic_config()
            alembic.attributes.update(connection=connection, gateway_config=config)
            command.downgrade(alembic, revision)
    finally:
        engine.dispose()


def _columns(database: Database) -> set[str]:
    with database.engine.connect() as connection:
        return {column["name"] for column in sa.inspect(connection).get_columns("invoices")}


def test_0810_fills_the_buyer_identifiers_of_older_invoices_and_goes_back(fresh_config):
    upgrade(fresh_config, "0800")
    database = Database(fresh_config)
    with database.session() as session:
        tenant_id = create_tenant(session, "before-0810").id
    rows = [("00000000-0000-4000-8000-000000000001", "552100554", "fr 96552100554"), ("00000000-0000-4000-8000-000000000002", None, None)]
    with database.engine.begin() as connection:
        invoices = sa.Table("invoices", sa.MetaData(), autoload_with=connection)
        for ident, siren, vat in rows:
            connection.execute(invoices.insert().values(
                id=ident, tenant_id=tenant_id, direction="outgoing", number=ident[-4:], issue_date=date(2026, 11, 20), issue_year=2026,
                type_code="380", currency="EUR", seller_name="S", seller_siren="732829320", buyer_name="B", buyer_siren=siren,
                buyer_vat_id=vat, profile="en16931", syntax="json", state="validated", status="200", status_label="Déposée",
                report={"valid": True}, created_at=datetime.now(UTC), updated_at=datetime.now(UTC),
            ))  # fmt: skip
    assert {"metadata", "erp_reference", "buyer_identifiers"}.isdisjoint(_columns(database))

    upgrade(fresh_config)
    with database.engine.connect() as connection:
        found = dict(connection.execute(sa.text("SELECT id, buyer_identifiers FROM invoices")).all())
        assert connection.execute(sa.text("SELECT COUNT(*) FROM invoices WHERE erp_reference IS NULL")).scalar() == 2
    assert found == {rows[0][0]: " 552100554 FR96552100554 ", rows[1][0]: " "}
    app = create_app(fresh_config)
    with database.session() as session:
        api = Api(app, create_api_key(session, session.get(db.Tenant, tenant_id)))
    listed = api.get("/api/v1/invoices", query_string={"buyer": "FR 9655 2100 554"}).get_json()
    assert [(item["id"], item["metadata"]) for item in listed["items"]] == [(rows[0][0], {})]
    app.extensions["gateway.database"].dispose()

    _downgrade(fresh_config, "0800")
    assert {"metadata", "erp_reference", "buyer_identifiers"}.isdisjoint(_columns(database))
    upgrade(fresh_config)
    assert {"metadata", "erp_reference", "buyer_identifiers"} <= _columns(database)
    database.dispose()

"""Webhook signing secrets at rest, on SQLite and PostgreSQL: encrypted in the database, shown once, still signing
deliveries the receiver verifies; the key's sources; and the migration that encrypts the rows of the previous schema."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from gateway.config import Config, ConfigError
from gateway.store.session import Database, alembic_config, make_engine, upgrade
from gateway.store.tenants import create_tenant
from gateway.webhooks import sealing, sender
from gateway.webhooks.settings import WebhookSettings
from tests.conftest import LOOPBACK_WEBHOOKS, _postgres_schema_url
from tests.lifecycle.helpers import submit_outgoing
from tests.webhooks.conftest import deliveries, subscribe, verified

SUBSCRIPTION_ID, DELIVERY_ID = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"
PAYLOAD = json.dumps({"event": "invoice.accepted", "id": DELIVERY_ID}).encode()


def _row(database: Database, subscription_id: str) -> dict:
    with database.engine.connect() as connection:
        query = sa.text("SELECT * FROM webhook_subscriptions WHERE id = :id")
        return dict(connection.execute(query, {"id": subscription_id}).mappings().one())


def test_the_database_holds_the_secret_encrypted_and_deliveries_still_verify(api, database, receiver):
    secret = subscribe(api, receiver.url, ["invoice.accepted"])
    [listed] = api.get("/api/v1/webhooks").get_json()["items"]
    row = _row(database, listed["id"])
    assert "secret" not in row and row["encrypted_secret"].startswith("v1:")
    assert secret not in json.dumps(row, default=str) and secret.removeprefix("whsec_") not in json.dumps(row, default=str)
    settings = WebhookSettings.from_config(database.config)
    assert sealing.unseal(sealing.load_key(settings), listed["id"], row["encrypted_secret"]) == secret
    assert stat.S_IMODE(settings.secret_key_file.stat().st_mode) == 0o600  # <data_dir>/webhooks/secret-key, created at start

    submit_outgoing(api, "SEALED-1")
    sender.send_due(database)
    [body] = verified(receiver, secret)
    assert body["event"] == "invoice.accepted"


def test_a_sealed_secret_opens_only_with_its_key_on_its_row(tmp_path):
    settings = WebhookSettings(tmp_path / "webhooks" / "secret-key")
    key = sealing.load_key(settings, environ={})
    assert sealing.load_key(settings, environ={}) == key and len(key) == 32  # the file, created once
    sealed = sealing.seal(key, "row-1", "whsec_abc")
    assert sealed != sealing.seal(key, "row-1", "whsec_abc")  # a fresh nonce each time
    assert sealing.unseal(key, "row-1", sealed) == "whsec_abc"
    other_key = sealing.load_key(settings, environ={sealing.KEY_ENV: "ab" * 32})  # the environment wins over the file
    assert other_key == bytes.fromhex("ab" * 32)
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    for wrong in ((other_key, "row-1", sealed), (key, "row-2", sealed), (key, "row-1", tampered), (key, "row-1", "whsec_abc")):
        with pytest.raises(sealing.SealError, match="does not decrypt"):
            sealing.unseal(*wrong)
    with pytest.raises(ConfigError, match="64 hexadecimal digits"):
        sealing.load_key(settings, environ={sealing.KEY_ENV: "not a key"})


def test_a_secret_that_does_not_decrypt_is_retried_not_sent(api, database, receiver):
    subscribe(api, receiver.url, ["invoice.accepted"])
    [listed] = api.get("/api/v1/webhooks").get_json()["items"]
    with database.engine.begin() as connection:  # as if the gateway were started with another key than the one that sealed it
        resealed = sealing.seal(bytes(32), listed["id"], "whsec_x")
        connection.execute(sa.text("UPDATE webhook_subscriptions SET encrypted_secret = :v WHERE id = :id"), {"v": resealed, "id": listed["id"]})
    submit_outgoing(api, "SEALED-2")
    sender.send_due(database)
    [delivery] = deliveries(api)
    assert delivery["state"] == "retrying" and "does not decrypt" in delivery["attempts"][0]["error"] and receiver.received == []


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_config(request, tmp_path) -> Config:
    """A configuration whose database is not migrated yet."""
    url = _postgres_schema_url(request) if request.param == "postgresql" else ""
    return Config(data_dir=tmp_path, database_url=url, config_dir=tmp_path / "no-config", sections={"webhooks": LOOPBACK_WEBHOOKS})


def _downgrade(config: Config, revision: str) -> None:
    engine = make_engine(config.database_url)
    try:
        with engine.begin() as connection:
            alembic = alembic_config()
            alembic.attributes.update(connection=connection, gateway_config=config)
            command.downgrade(alembic, revision)
    finally:
        engine.dispose()


def test_the_migration_encrypts_the_rows_of_the_previous_schema(fresh_config, receiver):
    upgrade(fresh_config, "0600")
    database = Database(fresh_config)
    secret, now = "whsec_" + "5e" * 32, datetime.now(UTC)
    with database.session() as session:
        tenant_id = create_tenant(session, "before-0700").id
    with database.engine.begin() as connection:  # written with the 0600 schema: the secret in clear
        subscriptions = sa.Table("webhook_subscriptions", sa.MetaData(), autoload_with=connection)
        table_deliveries = sa.Table("webhook_deliveries", sa.MetaData(), autoload_with=connection)
        assert "secret" in subscriptions.c and "encrypted_secret" not in subscriptions.c
        connection.execute(subscriptions.insert().values(
            id=SUBSCRIPTION_ID, tenant_id=tenant_id, url=receiver.url, events=["invoice.accepted"], secret=secret, created_at=now,
        ))  # fmt: skip
        connection.execute(table_deliveries.insert().values(
            id=DELIVERY_ID, tenant_id=tenant_id, subscription_id=SUBSCRIPTION_ID, event="invoice.accepted", payload=PAYLOAD, state="pending",
            attempts=0, next_attempt_at=now, created_at=now,
        ))  # fmt: skip

    upgrade(fresh_config)
    row = _row(database, SUBSCRIPTION_ID)
    assert "secret" not in row and secret.removeprefix("whsec_") not in row["encrypted_secret"]
    sender.send_due(database)  # the migrated secret still signs, and the receiver verifies with the one it kept
    assert verified(receiver, secret) == [json.loads(PAYLOAD)] and receiver.received[0].body == PAYLOAD

    _downgrade(fresh_config, "0600")  # and back, decrypted with the same key
    assert _row(database, SUBSCRIPTION_ID)["secret"] == secret
    database.dispose()

"""Webhook signing secrets encrypted at rest: `secret` (in clear) becomes `encrypted_secret` (`gateway.webhooks.sealing`).

Existing rows are encrypted with the configured key (GATEWAY_WEBHOOK_SECRET_KEY, or the `[webhooks]` key file,
created when missing); the downgrade decrypts them back, with the same key.  SQLite cannot make a column
NOT NULL once added, so there it is added NOT NULL with an empty default, which every row's value replaces.

Revision ID: 0700
Revises: 0600
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import context, op

from gateway.config import load_config
from gateway.webhooks import sealing
from gateway.webhooks.settings import WebhookSettings

revision = "0700"
down_revision = "0600"
branch_labels = None
depends_on = None

TABLE = "webhook_subscriptions"


def _key() -> bytes:
    """The key of the configuration `gateway.store.session.upgrade` hands over (or of the environment, for Alembic run by hand)."""
    config = context.config.attributes.get("gateway_config") or load_config()
    return sealing.load_key(WebhookSettings.from_config(config))


def _move(old: str, new: str, new_type: sa.types.TypeEngine, convert: Callable[[bytes, str, str], str]) -> None:
    """Replace column `old` by `new`, each row's value converted (encrypted or decrypted) with the key."""
    if context.is_offline_mode():
        raise RuntimeError("revision 0700 encrypts existing rows: run it against the database, not as SQL")
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.add_column(TABLE, sa.Column(new, new_type, nullable=not sqlite, server_default="" if sqlite else None))
    rows = bind.execute(sa.text(f"SELECT id, {old} FROM {TABLE}")).all()
    if rows:
        key, table = _key(), sa.table(TABLE, sa.column("id"), sa.column(new))
        for row_id, value in rows:
            bind.execute(table.update().where(table.c.id == row_id).values({new: convert(key, row_id, value)}))
    if not sqlite:
        op.alter_column(TABLE, new, nullable=False)
    op.drop_column(TABLE, old)


def upgrade() -> None:
    _move("secret", "encrypted_secret", sa.Text(), sealing.seal)


def downgrade() -> None:
    _move("encrypted_secret", "secret", sa.String(80), sealing.unseal)

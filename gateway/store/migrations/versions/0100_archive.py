"""Archive: hash-chained entries, the one-row append lock, signed checkpoints; UPDATE/DELETE refused by triggers.

Revision ID: 0100
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0100"
down_revision = "0001"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
APPEND_ONLY = ("archive_entries", "archive_checkpoints")

POSTGRES_FUNCTION = """
CREATE FUNCTION archive_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the archive is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END
$$
"""


def _triggers(table: str, dialect: str) -> list[str]:
    """Statements refusing UPDATE and DELETE (and TRUNCATE on PostgreSQL) on `table`."""
    if dialect == "postgresql":
        return [
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION archive_refuse_change()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION archive_refuse_change()",
        ]
    refuse = "BEGIN SELECT RAISE(ABORT, 'the archive is append-only: {0} on {1} refused'); END"
    return [f"CREATE TRIGGER {table}_no_{name.lower()} BEFORE {name} ON {table} " + refuse.format(name, table) for name in ("UPDATE", "DELETE")]


def upgrade() -> None:
    op.create_table(
        "archive_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("time", TIME, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("invoice_id", sa.String(36), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_archive_entries")),
        sa.UniqueConstraint("entry_hash", name=op.f("uq_archive_entries_entry_hash")),
    )
    op.create_index(op.f("ix_archive_entries_content_sha256"), "archive_entries", ["content_sha256"])
    op.create_index(op.f("ix_archive_entries_invoice_id"), "archive_entries", ["invoice_id"])
    op.create_index("ix_archive_entries_time", "archive_entries", ["time"])
    lock = op.create_table(
        "archive_lock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_lock")),
    )
    op.bulk_insert(lock, [{"id": 1}])
    op.create_table(
        "archive_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("merkle_root", sa.String(64), nullable=False),
        sa.Column("time", TIME, nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("tsa_token", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_checkpoints")),
    )
    op.create_index(op.f("ix_archive_checkpoints_tree_size"), "archive_checkpoints", ["tree_size"])
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(POSTGRES_FUNCTION)
    for table in APPEND_ONLY:
        for statement in _triggers(table, dialect):
            op.execute(statement)


def downgrade() -> None:
    for table in ("archive_checkpoints", "archive_lock", "archive_entries"):
        op.drop_table(table)  # drops the triggers with the tables
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION archive_refuse_change()")

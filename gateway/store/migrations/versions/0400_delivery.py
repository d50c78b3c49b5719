"""Delivery: the outbox (deliveries, their attempts, status-polling watermarks) and the routing directory.

Revision ID: 0400
Revises: 0300
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0400"
down_revision = "0300"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("document_kind", sa.String(16), nullable=True),
        sa.Column("idempotency_key", sa.String(64), nullable=True),
        sa.Column("decision", JSON, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attempt_base", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIME, nullable=False),
        sa.Column("lease_until", TIME, nullable=True),
        sa.Column("claimed_by", sa.String(120), nullable=True),
        sa.Column("claim_token", sa.String(36), nullable=True),
        sa.Column("remote_id", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_deliveries_invoice_id_invoices")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_deliveries_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_deliveries_idempotency_key")),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["state", "next_attempt_at"])
    op.create_index("ix_deliveries_tenant_state", "deliveries", ["tenant_id", "state"])
    op.create_index(op.f("ix_deliveries_invoice_id"), "deliveries", ["invoice_id"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.String(36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(120), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("finished_at", TIME, nullable=True),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("transient", sa.Boolean(), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("remote_id", sa.Text(), nullable=True),
        sa.Column("receipt", JSON, nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"], name=op.f("fk_delivery_attempts_delivery_id_deliveries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
        sa.UniqueConstraint("delivery_id", "number", name=op.f("uq_delivery_attempts_delivery_id_number")),
    )
    op.create_index(op.f("ix_delivery_attempts_delivery_id"), "delivery_attempts", ["delivery_id"])
    op.create_table(
        "delivery_status_polls",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("polled_until", TIME, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_delivery_status_polls_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "channel", name=op.f("pk_delivery_status_polls")),
    )
    op.create_table(
        "routing_directory",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("scheme", sa.String(8), nullable=False),
        sa.Column("identifier", sa.String(200), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("public_sector", sa.Boolean(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("peppol_id", sa.Text(), nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_routing_directory_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_directory")),
    )
    op.create_index("ix_routing_directory_key", "routing_directory", ["scheme", "identifier", "tenant_id"], unique=True)


def downgrade() -> None:
    for table in ("routing_directory", "delivery_status_polls", "delivery_attempts", "deliveries"):
        op.drop_table(table)

"""Reception: one row per document received from a partner, with its outcome and the ERP's acknowledgement (the inbox).

Revision ID: 0600
Revises: 0500
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0600"
down_revision = "0500"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "receptions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.String(36), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("origin", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        sa.Column("duplicate_of", sa.String(36), nullable=True),
        sa.Column("document_sha256", sa.String(64), nullable=False),
        sa.Column("message_sha256", sa.String(64), nullable=True),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("acknowledged_at", TIME, nullable=True),
        sa.Column("acknowledged_by", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_receptions_invoice_id_invoices")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_receptions_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receptions")),
    )
    op.create_index(op.f("ix_receptions_invoice_id"), "receptions", ["invoice_id"])
    op.create_index("ix_receptions_inbox", "receptions", ["tenant_id", "acknowledged_at", "received_at"])


def downgrade() -> None:
    op.drop_table("receptions")

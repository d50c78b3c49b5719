"""Dunning: the tenants' policies and the reminders planned and sent.

Revision ID: 0860
Revises: 0850
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.store.models import Amount, JSONType, UTCDateTime

revision = "0860"
down_revision = "0850"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dunning_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", name="fk_dunning_policies_tenant_id_tenants"), nullable=False),
        sa.Column("buyer", sa.String(9), nullable=False),
        sa.Column("body", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dunning_policies"),
        sa.UniqueConstraint("tenant_id", "buyer", name="uq_dunning_policies_tenant_id_buyer"),
    )
    op.create_index("ix_dunning_policies_tenant_id", "dunning_policies", ["tenant_id"])
    op.create_table(
        "dunning_reminders",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", name="fk_dunning_reminders_tenant_id_tenants"), nullable=False),
        sa.Column("invoice_id", sa.String(36), sa.ForeignKey("invoices.id", name="fk_dunning_reminders_invoice_id_invoices"), nullable=False),
        sa.Column("tier", sa.String(64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("days_late", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("claimed", Amount(), nullable=False),
        sa.Column("penalties", Amount(), nullable=False),
        sa.Column("indemnity", Amount(), nullable=False),
        sa.Column("channels", JSONType, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("detail", JSONType, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("letter_sha256", sa.String(64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dunning_reminders"),
        sa.UniqueConstraint("invoice_id", "tier", name="uq_dunning_reminders_invoice_id_tier"),
    )
    op.create_index("ix_dunning_reminders_invoice_id", "dunning_reminders", ["invoice_id"])
    op.create_index("ix_dunning_reminders_tenant_state", "dunning_reminders", ["tenant_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_dunning_reminders_tenant_state", table_name="dunning_reminders")
    op.drop_index("ix_dunning_reminders_invoice_id", table_name="dunning_reminders")
    op.drop_table("dunning_reminders")
    op.drop_index("ix_dunning_policies_tenant_id", table_name="dunning_policies")
    op.drop_table("dunning_policies")

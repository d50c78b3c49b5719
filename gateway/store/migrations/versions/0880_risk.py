"""Risk: each supplier's history of incoming invoices, each incoming invoice's assessment, each tenant's thresholds.

Revision ID: 0880
Revises: 0870
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.store.models import Amount, JSONType, UTCDateTime

revision = "0880"
down_revision = "0870"
branch_labels = None
depends_on = None


def _keys(table: str) -> list[sa.Column]:
    return [
        sa.Column("invoice_id", sa.String(36), sa.ForeignKey("invoices.id", name=f"fk_{table}_invoice_id_invoices"), nullable=False),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", name=f"fk_{table}_tenant_id_tenants"), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "risk_observations",
        *_keys("risk_observations"),
        sa.Column("supplier", sa.Text(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("total", Amount(), nullable=False),
        sa.Column("credit_note", sa.Boolean(), nullable=False),
        sa.Column("iban", sa.Text(), nullable=True),
        sa.Column("trusted_iban", sa.Boolean(), nullable=False),
        sa.Column("document_sha256", sa.String(64), nullable=True),
        sa.Column("address", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("invoice_id", name="pk_risk_observations"),
    )
    op.create_index("ix_risk_observations_tenant_supplier", "risk_observations", ["tenant_id", "supplier"])
    op.create_table(
        "risk_settings",
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", name="fk_risk_settings_tenant_id_tenants"), nullable=False),
        sa.Column("hold", sa.Integer(), nullable=False),
        sa.Column("normal", sa.Integer(), nullable=False),
        sa.Column("known_after", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_risk_settings"),
    )
    op.create_table(
        "risk_assessments",
        *_keys("risk_assessments"),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("findings", JSONType, nullable=False),
        sa.Column("assessed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("invoice_id", name="pk_risk_assessments"),
    )
    op.create_index("ix_risk_assessments_tenant_id", "risk_assessments", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("risk_assessments")
    op.drop_table("risk_settings")
    op.drop_table("risk_observations")

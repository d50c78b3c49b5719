"""What a person's payment decisions taught the matching engine besides IBANs: a payer's name, how a buyer writes numbers.

Revision ID: 0840
Revises: 0830
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.store.models import UTCDateTime

revision = "0840"
down_revision = "0830"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_hints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", name="fk_payment_hints_tenant_id_tenants"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("buyer_key", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_payment_hints"),
        sa.UniqueConstraint("tenant_id", "kind", "value", "buyer_key", name="uq_payment_hints_tenant_id_kind_value_buyer_key"),
    )
    op.create_index("ix_payment_hints_tenant_id", "payment_hints", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_payment_hints_tenant_id", table_name="payment_hints")
    op.drop_table("payment_hints")

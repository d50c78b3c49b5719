"""Bank statements, their lines, payment matches and learned payer accounts (gateway.payments.models).

Revision ID: 0820
Revises: 0810
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from gateway.store.models import Amount, UTCDateTime

revision = "0820"
down_revision = "0810"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "bank_statements",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", name="fk_bank_statements_tenant_id_tenants"), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("statement_ref", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bank_statements"),
        sa.UniqueConstraint("tenant_id", "account", "statement_ref", name="uq_bank_statements_tenant_id_account_statement_ref"),
    )
    op.create_index("ix_bank_statements_tenant_id", "bank_statements", ["tenant_id"])
    op.create_table(
        "bank_lines",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", name="fk_bank_lines_tenant_id_tenants"), nullable=False),
        sa.Column(
            "statement_id", sa.String(36), sa.ForeignKey("bank_statements.id", name="fk_bank_lines_statement_id_bank_statements"), nullable=False
        ),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("position", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("amount", Amount(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("bank_ref", sa.Text(), nullable=True),
        sa.Column("end_to_end_id", sa.Text(), nullable=True),
        sa.Column("creditor_ref", sa.Text(), nullable=True),
        sa.Column("remittance", sa.Text(), nullable=True),
        sa.Column("payer_name", sa.Text(), nullable=True),
        sa.Column("payer_iban", sa.Text(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bank_lines"),
        sa.UniqueConstraint("tenant_id", "fingerprint", name="uq_bank_lines_tenant_id_fingerprint"),
    )
    op.create_index("ix_bank_lines_tenant_id", "bank_lines", ["tenant_id"])
    op.create_index("ix_bank_lines_statement_id", "bank_lines", ["statement_id"])
    op.create_table(
        "payment_matches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", name="fk_payment_matches_tenant_id_tenants"), nullable=False),
        sa.Column("line_id", sa.Integer(), sa.ForeignKey("bank_lines.id", name="fk_payment_matches_line_id_bank_lines"), nullable=False),
        sa.Column("invoice_id", sa.String(36), sa.ForeignKey("invoices.id", name="fk_payment_matches_invoice_id_invoices"), nullable=False),
        sa.Column("amount", Amount(), nullable=False),
        sa.Column("written_off", Amount(), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=False),
        sa.Column(
            "status_event_id", sa.Integer(), sa.ForeignKey("status_events.id", name="fk_payment_matches_status_event_id_status_events"), nullable=True
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_payment_matches"),
    )
    for column in ("tenant_id", "line_id", "invoice_id"):
        op.create_index(f"ix_payment_matches_{column}", "payment_matches", [column])
    op.create_table(
        "payer_accounts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", name="fk_payer_accounts_tenant_id_tenants"), nullable=False),
        sa.Column("iban", sa.String(34), nullable=False),
        sa.Column("buyer_key", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_payer_accounts"),
        sa.UniqueConstraint("tenant_id", "iban", "buyer_key", name="uq_payer_accounts_tenant_id_iban_buyer_key"),
    )
    op.create_index("ix_payer_accounts_tenant_id", "payer_accounts", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("payer_accounts")
    op.drop_table("payment_matches")
    op.drop_table("bank_lines")
    op.drop_table("bank_statements")

"""Initial schema: tenants, API keys, invoices, documents, status events, idempotency records.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the model's column types (a migration must not change when the models do).
TIME = sa.DateTime(timezone=True)
AMOUNT = sa.Numeric().with_variant(sa.String(64), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
NOT_REJECTED = sa.text("state != 'rejected'")


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("name", name=op.f("uq_tenants_name")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("revoked_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_api_keys_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_sha256", name=op.f("uq_api_keys_key_sha256")),
    )
    op.create_index(op.f("ix_api_keys_prefix"), "api_keys", ["prefix"])
    op.create_index(op.f("ix_api_keys_tenant_id"), "api_keys", ["tenant_id"])
    op.create_table(
        "idempotency_records",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_idempotency_records_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "key", name=op.f("pk_idempotency_records")),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("issue_year", sa.Integer(), nullable=False),
        sa.Column("type_code", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("seller_name", sa.Text(), nullable=False),
        sa.Column("seller_siren", sa.Text(), nullable=True),
        sa.Column("buyer_name", sa.Text(), nullable=False),
        sa.Column("buyer_siren", sa.Text(), nullable=True),
        sa.Column("buyer_vat_id", sa.Text(), nullable=True),
        sa.Column("tax_exclusive_amount", AMOUNT, nullable=True),
        sa.Column("tax_amount", AMOUNT, nullable=True),
        sa.Column("tax_inclusive_amount", AMOUNT, nullable=True),
        sa.Column("amount_due", AMOUNT, nullable=True),
        sa.Column("profile", sa.String(16), nullable=False),
        sa.Column("syntax", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_label", sa.Text(), nullable=False),
        sa.Column("report", JSON, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_invoices_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
    )
    op.create_index("ix_invoices_tenant_created", "invoices", ["tenant_id", "created_at"])
    op.create_index(
        "uq_invoices_identity",
        "invoices",
        ["tenant_id", "seller_siren", "number", "issue_year"],
        unique=True,
        sqlite_where=NOT_REJECTED,
        postgresql_where=NOT_REJECTED,
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_documents_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("invoice_id", "kind", name=op.f("uq_documents_invoice_id_kind")),
    )
    op.create_index(op.f("ix_documents_invoice_id"), "documents", ["invoice_id"])
    op.create_index(op.f("ix_documents_sha256"), "documents", ["sha256"])
    op.create_table(
        "status_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.String(36), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("time", TIME, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("detail", JSON, nullable=True),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_status_events_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_events")),
    )
    op.create_index(op.f("ix_status_events_invoice_id"), "status_events", ["invoice_id"])


def downgrade() -> None:
    for table in ("status_events", "documents", "invoices", "idempotency_records", "api_keys", "tenants"):
        op.drop_table(table)

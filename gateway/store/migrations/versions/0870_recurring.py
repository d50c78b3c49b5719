"""Recurring invoices: numbering series, schedules and their occurrences.

Revision ID: 0870
Revises: 0860
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.store.models import JSONType, UTCDateTime

revision = "0870"
down_revision = "0860"
branch_labels = None
depends_on = None


def _tenant(table: str) -> sa.Column:
    return sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenants.id", name=f"fk_{table}_tenant_id_tenants"), nullable=False)


def _series(table: str) -> sa.Column:
    return sa.Column("series_id", sa.Integer(), sa.ForeignKey("invoice_series.id", name=f"fk_{table}_series_id_invoice_series"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "invoice_series",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant("invoice_series"),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("number_format", sa.String(100), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.Column("last_issue_date", sa.Date(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_invoice_series"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_invoice_series_tenant_id_name"),
    )
    op.create_index("ix_invoice_series_tenant_id", "invoice_series", ["tenant_id"])
    op.create_table(
        "recurring_schedules",
        sa.Column("id", sa.String(36), nullable=False),
        _tenant("recurring_schedules"),
        _series("recurring_schedules"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.Column("body", JSONType, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recurring_schedules"),
    )
    op.create_index("ix_recurring_schedules_tenant_id", "recurring_schedules", ["tenant_id"])
    op.create_index("ix_recurring_schedules_series_id", "recurring_schedules", ["series_id"])
    op.create_table(
        "recurring_occurrences",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant("recurring_occurrences"),
        sa.Column(
            "schedule_id",
            sa.String(36),
            sa.ForeignKey("recurring_schedules.id", name="fk_recurring_occurrences_schedule_id_recurring_schedules"),
            nullable=False,
        ),
        _series("recurring_occurrences"),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("number", sa.Text(), nullable=True),
        sa.Column("invoice_id", sa.String(36), sa.ForeignKey("invoices.id", name="fk_recurring_occurrences_invoice_id_invoices"), nullable=True),
        sa.Column("issue_date", sa.Date(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recurring_occurrences"),
        sa.UniqueConstraint("schedule_id", "on", name="uq_recurring_occurrences_schedule_id_on"),
    )
    op.create_index("ix_recurring_occurrences_tenant_id", "recurring_occurrences", ["tenant_id"])
    op.create_index("ix_recurring_occurrences_schedule_id", "recurring_occurrences", ["schedule_id"])
    op.create_index("ix_recurring_occurrences_due", "recurring_occurrences", ["state", "on"])


def downgrade() -> None:
    for index, table in (
        ("ix_recurring_occurrences_due", "recurring_occurrences"), ("ix_recurring_occurrences_schedule_id", "recurring_occurrences"),
        ("ix_recurring_occurrences_tenant_id", "recurring_occurrences"),
    ):  # fmt: skip
        op.drop_index(index, table_name=table)
    op.drop_table("recurring_occurrences")
    op.drop_index("ix_recurring_schedules_series_id", table_name="recurring_schedules")
    op.drop_index("ix_recurring_schedules_tenant_id", table_name="recurring_schedules")
    op.drop_table("recurring_schedules")
    op.drop_index("ix_invoice_series_tenant_id", table_name="invoice_series")
    op.drop_table("invoice_series")

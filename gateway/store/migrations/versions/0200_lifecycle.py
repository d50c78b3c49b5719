"""Lifecycle: who set each status event, applied or flagged, the message that carried it; transmissions to the PPF.

Revision ID: 0200
Revises: 0100
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0200"
down_revision = "0100"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "lifecycle_events",
        sa.Column("status_event_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=True),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("flag", sa.Text(), nullable=True),
        sa.Column("message_sha256", sa.String(64), nullable=True),
        sa.Column("message_type", sa.String(100), nullable=True),
        sa.Column("recorded_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["status_event_id"], ["status_events.id"], name=op.f("fk_lifecycle_events_status_event_id_status_events")),
        sa.PrimaryKeyConstraint("status_event_id", name=op.f("pk_lifecycle_events")),
    )
    op.create_table(
        "ppf_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status_event_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(4), nullable=False),
        sa.Column("sent_at", TIME, nullable=False),
        sa.Column("message_sha256", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["status_event_id"], ["status_events.id"], name=op.f("fk_ppf_reports_status_event_id_status_events")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ppf_reports")),
        sa.UniqueConstraint("status_event_id", "kind", name=op.f("uq_ppf_reports_status_event_id_kind")),
    )


def downgrade() -> None:
    op.drop_table("ppf_reports")
    op.drop_table("lifecycle_events")

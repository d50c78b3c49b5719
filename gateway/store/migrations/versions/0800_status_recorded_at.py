"""When the gateway recorded each status event, beside the time its emitter states (`status_events.recorded_at`).

A partner's status carries the time its platform claims; the timeline lists events in the order they were
recorded (their id), and shows both times.  Existing rows are given their stated time.

Revision ID: 0800
Revises: 0700
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0800"
down_revision = "0700"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("status_events", sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE status_events SET recorded_at = time")
    with op.batch_alter_table("status_events") as batch:
        batch.alter_column("recorded_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("status_events") as batch:
        batch.drop_column("recorded_at")

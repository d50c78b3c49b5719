"""An invoice's due date (BT-9) and payment terms (BT-20 and its AAB notes): payments read early-payment discounts there.

Invoices stored before this revision keep both empty (no discount is recognised for them).

Revision ID: 0850
Revises: 0840
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.store.models import Amount

revision = "0850"
down_revision = "0840"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invoices") as table:
        table.add_column(sa.Column("due_date", sa.Date(), nullable=True))
        table.add_column(sa.Column("payment_terms", sa.Text(), nullable=True))
    with op.batch_alter_table("payment_matches") as table:
        table.add_column(sa.Column("discount", Amount(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("payment_matches") as table:
        table.drop_column("discount")
    with op.batch_alter_table("invoices") as table:
        table.drop_column("payment_terms")
        table.drop_column("due_date")

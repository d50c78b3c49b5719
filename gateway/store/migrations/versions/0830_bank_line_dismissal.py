"""A bank line a person set aside as paying no invoice (bank interest, a refund, a transfer between accounts): why and by whom.

Revision ID: 0830
Revises: 0820
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0830"
down_revision = "0820"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bank_lines", sa.Column("dismissal", sa.Text(), nullable=True))
    op.add_column("bank_lines", sa.Column("dismissed_by", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("bank_lines", "dismissed_by")
    op.drop_column("bank_lines", "dismissal")

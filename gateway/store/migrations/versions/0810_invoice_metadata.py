"""The ERP's metadata on an invoice, and what the invoice list filters on (`invoices.metadata`, `erp_reference`, `buyer_identifiers`).

`metadata` holds the free JSON object the ERP attached at intake (gateway.metadata); `erp_reference` its
`erp_reference` member, indexed for `?erp_reference=`; `buyer_identifiers` every identifier of the buyer,
for `?buyer=`.  Invoices stored before have no metadata, and their buyer is still found by name, SIREN and
VAT number (the columns they already have): their other identifiers are filled in from those two here.
An index on (tenant, number) serves `?number=`.

Revision ID: 0810
Revises: 0800
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0810"
down_revision = "0800"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("invoices", sa.Column("buyer_identifiers", sa.Text(), nullable=True))
    op.add_column("invoices", sa.Column("metadata", JSON, nullable=True))
    op.add_column("invoices", sa.Column("erp_reference", sa.Text(), nullable=True))
    vat = "UPPER(REPLACE(buyer_vat_id, ' ', ''))"
    op.execute(f"UPDATE invoices SET buyer_identifiers = ' ' || COALESCE(buyer_siren || ' ', '') || COALESCE({vat} || ' ', '')")
    op.create_index("ix_invoices_tenant_number", "invoices", ["tenant_id", "number"])
    op.create_index("ix_invoices_tenant_erp_reference", "invoices", ["tenant_id", "erp_reference"])


def downgrade() -> None:
    op.drop_index("ix_invoices_tenant_erp_reference", table_name="invoices")
    op.drop_index("ix_invoices_tenant_number", table_name="invoices")
    with op.batch_alter_table("invoices") as batch:
        batch.drop_column("erp_reference")
        batch.drop_column("metadata")
        batch.drop_column("buyer_identifiers")

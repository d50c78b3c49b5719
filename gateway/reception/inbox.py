"""The ERP's inbox: received invoices it has not acknowledged yet, oldest first, and their acknowledgement.

Webhooks push each reception; the inbox is the pull side that makes sure nothing is lost between the two:
an entry stays listed until the ERP acknowledges it explicitly, whatever happened to its webhook.  Pages
are keyset-paginated (after the last entry seen), so acknowledging entries while paging skips none.
Receptions without a readable invoice are not listed: there is nothing for the ERP to import.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from gateway.errors import InputError
from gateway.reception.models import Reception
from gateway.store import models as db
from gateway.store.models import ID_PATTERN, utcnow


class UnknownReception(InputError):
    """An inbox entry the tenant does not have."""

    status = 404
    code = "not_found"


def entries(
    session: Session, tenant_id: int, *, limit: int, after: str | None = None, acknowledged: bool = False, status: str | None = None
) -> list[Reception]:
    """Up to `limit` inbox entries of the tenant, oldest first, after the entry `after`; acknowledged ones too when asked."""
    filters = [Reception.tenant_id == tenant_id, Reception.invoice_id.is_not(None)]
    if not acknowledged:
        filters.append(Reception.acknowledged_at.is_(None))
    if status is not None:
        filters.append(Reception.outcome == status)
    if after is not None:
        last = _own(session, tenant_id, after)
        filters.append(or_(Reception.received_at > last.received_at, and_(Reception.received_at == last.received_at, Reception.id > last.id)))
    query = (
        select(Reception)
        .where(*filters)
        .options(selectinload(Reception.invoice).selectinload(db.Invoice.documents))
        .order_by(Reception.received_at, Reception.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def acknowledge(session: Session, tenant_id: int, ids: Sequence[str], by: str) -> list[Reception]:
    """Acknowledge the tenant's entries `ids`, all or none (`UnknownReception` names the first unknown one).

    Acknowledging again changes nothing: the first acknowledgement's time and key are kept.
    """
    rows = [_own(session, tenant_id, reception_id) for reception_id in ids]
    now = utcnow()
    for row in rows:
        if row.acknowledged_at is None:
            row.acknowledged_at, row.acknowledged_by = now, by
    session.flush()
    return rows


def _own(session: Session, tenant_id: int, reception_id: str) -> Reception:
    row = session.get(Reception, reception_id) if ID_PATTERN.match(reception_id) else None
    if row is None or row.tenant_id != tenant_id or row.invoice_id is None:
        raise UnknownReception(f"No inbox entry {reception_id}.")
    return row

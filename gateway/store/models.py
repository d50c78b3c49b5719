"""The database tables, as SQLAlchemy 2 typed models.

Document bytes are not in the database: `Document` rows name them by SHA-256 in
the content-addressed folder (`gateway.store.blobs`).  Status events are
append-only; the invoice row carries the latest status for fast queries.
Changing a model means adding an Alembic revision (a test compares both).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Integer, MetaData, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Outgoing invoices: the technical state (what the gateway did) and the rejected lifecycle value.
STATE_RECEIVED = "received"
STATE_VALIDATED = "validated"
STATE_REJECTED = "rejected"
STATUS_REJECTED = "rejected"
DOCUMENT_KINDS = ("input", "canonical", "cii", "ubl", "facturx", "ubl-signed", "facturx-signed", "ubl-peppol")  # ubl-peppol: written at delivery


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


# The form of every id `new_id` makes: a URL or a query naming anything else names nothing (and never reaches the database).
ID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Amount(TypeDecorator[Decimal]):
    """An exact decimal: NUMERIC on PostgreSQL, text on SQLite (whose numbers are floats)."""

    impl = Numeric()
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        return dialect.type_descriptor(String(64) if dialect.name == "sqlite" else Numeric())

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


# JSONB on PostgreSQL (indexable), JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
        }
    )


def all_metadata() -> MetaData:
    """`Base.metadata` with every `gateway.<area>.models` module imported: other areas (archive, lifecycle …) add tables to it."""
    import gateway

    for module in pkgutil.iter_modules(gateway.__path__):
        if module.ispkg and importlib.util.find_spec(f"gateway.{module.name}.models") is not None:
            importlib.import_module(f"gateway.{module.name}.models")
    return Base.metadata


class Tenant(Base):
    """A customer organisation of the gateway; everything it submits is its own."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="tenant")


class ApiKey(Base):
    """An API key of a tenant.  Only its SHA-256 is stored; `prefix` finds it without revealing it."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tenant: Mapped[Tenant] = relationship(back_populates="api_keys")


class Invoice(Base):
    """An invoice handled by the gateway: its summary, technical state, lifecycle status and validation report.

    French uniqueness rule (A7 G1.45): seller SIREN + number + year of issue, per tenant,
    among invoices that were not rejected (a rejected invoice is corrected and sent again
    under the same number).
    """

    __tablename__ = "invoices"
    __table_args__ = (
        Index(
            "uq_invoices_identity",
            "tenant_id",
            "seller_siren",
            "number",
            "issue_year",
            unique=True,
            sqlite_where=text("state != 'rejected'"),
            postgresql_where=text("state != 'rejected'"),
        ),
        Index("ix_invoices_tenant_created", "tenant_id", "created_at"),
        Index("ix_invoices_tenant_number", "tenant_id", "number"),
        Index("ix_invoices_tenant_erp_reference", "tenant_id", "erp_reference"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    direction: Mapped[str] = mapped_column(String(8), default="outgoing")
    number: Mapped[str] = mapped_column(Text)
    issue_date: Mapped[date] = mapped_column(Date)
    issue_year: Mapped[int] = mapped_column(Integer)
    type_code: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    seller_name: Mapped[str] = mapped_column(Text)
    seller_siren: Mapped[str | None] = mapped_column(Text)
    buyer_name: Mapped[str] = mapped_column(Text)
    buyer_siren: Mapped[str | None] = mapped_column(Text)
    buyer_vat_id: Mapped[str | None] = mapped_column(Text)
    # Every identifier of the buyer (SIREN, SIRET, VAT, electronic address …), space-separated and padded: " A B ", for ?buyer=.
    buyer_identifiers: Mapped[str | None] = mapped_column(Text)
    tax_exclusive_amount: Mapped[Decimal | None] = mapped_column(Amount)
    tax_amount: Mapped[Decimal | None] = mapped_column(Amount)
    tax_inclusive_amount: Mapped[Decimal | None] = mapped_column(Amount)
    amount_due: Mapped[Decimal | None] = mapped_column(Amount)
    due_date: Mapped[date | None] = mapped_column(Date)  # BT-9
    # BT-20 and the notes on discount terms (subject AAB), one per line: what payments reads early-payment discounts from.
    payment_terms: Mapped[str | None] = mapped_column(Text)
    profile: Mapped[str] = mapped_column(String(16))
    syntax: Mapped[str] = mapped_column(String(32))  # the input: json, cii, ubl-invoice, ubl-creditnote, facturx
    state: Mapped[str] = mapped_column(String(16), default=STATE_RECEIVED)
    status: Mapped[str] = mapped_column(String(16))  # latest lifecycle status code ("200" …) or "rejected"
    status_label: Mapped[str] = mapped_column(Text)
    report: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # The ERP's own data on the invoice (gateway.metadata), given back as is; `erp_reference` is its one member the list filters on.
    invoice_metadata: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONType)
    erp_reference: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    tenant: Mapped[Tenant] = relationship()
    documents: Mapped[list[Document]] = relationship(back_populates="invoice", order_by="Document.id")
    events: Mapped[list[StatusEvent]] = relationship(back_populates="invoice", order_by=lambda: StatusEvent.id)  # as recorded


class Document(Base):
    """One stored document of an invoice; its exact bytes are in the content-addressed folder under `sha256`."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("invoice_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # one of DOCUMENT_KINDS
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    invoice: Mapped[Invoice] = relationship(back_populates="documents")


class StatusEvent(Base):
    """One lifecycle event of an invoice.  Append-only: the timeline is never rewritten.

    `time` is when its emitter says it happened (a partner's clock, a message held back: it may precede an
    earlier-recorded event); `recorded_at` is when the gateway recorded it.  Events are listed by id, the order recorded.
    """

    __tablename__ = "status_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(Text)
    time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    invoice: Mapped[Invoice] = relationship(back_populates="events")


class IdempotencyRecord(Base):
    """The first answer to a POST carrying an `Idempotency-Key`, replayed for a retry of the same request."""

    __tablename__ = "idempotency_records"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_sha256: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

"""Risk tables: what the history of each supplier keeps of its invoices (`risk_observations`, one per incoming
invoice) and each invoice's assessment (`risk_assessments`: its score, level and findings).  Only this domain writes
them; the invoices themselves are read through the store."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.store.models import Amount, Base, JSONType, UTCDateTime, utcnow


class RiskObservation(Base):
    """One incoming invoice as its supplier's history: the checks of the next invoices read these rows only."""

    __tablename__ = "risk_observations"
    __table_args__ = (Index("ix_risk_observations_tenant_supplier", "tenant_id", "supplier"),)

    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    supplier: Mapped[str] = mapped_column(Text)
    number: Mapped[str] = mapped_column(Text)
    issue_date: Mapped[date] = mapped_column(Date)
    total: Mapped[Decimal] = mapped_column(Amount)
    credit_note: Mapped[bool] = mapped_column(Boolean)
    iban: Mapped[str | None] = mapped_column(Text)  # BT-84 as given: an IBAN, or another kind of account identifier
    trusted_iban: Mapped[bool] = mapped_column(Boolean)  # False while a changed or invalid IBAN awaits a person
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(Text)  # the seller's postal address folded ("" when none)


class RiskSettings(Base):
    """A tenant's thresholds (gateway.risk.checks.Thresholds); a tenant without a row has the defaults."""

    __tablename__ = "risk_settings"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    hold: Mapped[int] = mapped_column(Integer)
    normal: Mapped[int] = mapped_column(Integer)
    known_after: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RiskAssessment(Base):
    """An incoming invoice's findings, as they were when it arrived."""

    __tablename__ = "risk_assessments"

    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(16))
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

"""The directory of known recipients: which channel (and which address on it) reaches a buyer.

An entry is keyed by an identifier with its scheme — "0002" SIREN, "0009" SIRET, "VAT", "EM" e-mail, or
any ISO 6523 ICD of an electronic address ("0225" …) — stored normalised (`directory.normalise`).
`tenant_id` None makes the entry visible to every tenant; a tenant's own entry wins over a shared one.
Entries come from `gateway directory import FILE.csv`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.store.models import Base, UTCDateTime, utcnow


class DirectoryEntry(Base):
    """A known recipient: its identifier, whether it is a public-sector buyer, and how to reach it."""

    __tablename__ = "routing_directory"
    __table_args__ = (Index("ix_routing_directory_key", "scheme", "identifier", "tenant_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"))
    scheme: Mapped[str] = mapped_column(String(8))
    identifier: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str | None] = mapped_column(String(32))  # None: inferred from public_sector / peppol_id / email
    public_sector: Mapped[bool] = mapped_column(Boolean, default=False)  # a public entity: Chorus Pro
    email: Mapped[str | None] = mapped_column(Text)
    peppol_id: Mapped[str | None] = mapped_column(Text)  # "<ICD>:<value>"
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

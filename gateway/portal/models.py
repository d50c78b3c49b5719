"""The portal's users: people who sign in to see (and, by role, act on) one tenant's invoices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.store.models import Base, Tenant, UTCDateTime, utcnow

ADMINISTRATOR = "administrator"
COMPLIANCE_OFFICER = "compliance-officer"
OPERATOR = "operator"
ROLES = (ADMINISTRATOR, COMPLIANCE_OFFICER, OPERATOR)


class PortalUser(Base):
    """A person with a portal account.  Only a salted scrypt/PBKDF2 hash of the password is stored.

    `session_version` is part of every session cookie: signing out, disabling the account or
    changing the password bumps it, which ends every session of the user at once.
    """

    __tablename__ = "portal_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    role: Mapped[str] = mapped_column(String(32))  # one of ROLES
    password_hash: Mapped[str] = mapped_column(Text)
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tenant: Mapped[Tenant] = relationship()

"""Portal accounts: hashed passwords, sign-in with lockout, sessions that expire, CSRF tokens and roles.

The session is Flask's signed cookie (HttpOnly, SameSite=Lax), holding the user id, the
user's `session_version`, when it started and when it was last used.  It ends after
`session_idle_minutes` without use or `session_hours` in all, and at once for every device
when the user signs out or is disabled (the version no longer matches).  Every POST carries
the session's CSRF token (a hidden form field), compared in constant time.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from gateway.config import Config, ConfigError
from gateway.portal.models import ADMINISTRATOR, OPERATOR, ROLES, PortalUser
from gateway.store.models import Tenant, utcnow

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # hashing a megabyte per attempt would be a denial of service
MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=15)
SECRET_FILE = Path("portal") / "session-secret"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Compared against when the e-mail is unknown, so that a wrong e-mail takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password of anyone", method="scrypt")

# What each role may do beyond reading its tenant's data.
OPERATE = "operate"  # retry deliveries and webhooks, set buyer-side statuses, sign an archive checkpoint
ADMINISTER = "administer"  # manage the tenant's portal accounts
PERMISSIONS = {ADMINISTRATOR: frozenset({OPERATE, ADMINISTER}), OPERATOR: frozenset({OPERATE})}


class AccountError(ValueError):
    """An account that cannot be created or changed as asked; `reason` names the problem for a translated message."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason  # email, role, password, taken, yourself


@dataclass(frozen=True)
class PortalSettings:
    """The `[portal]` table of the configuration."""

    session_idle_minutes: int = 30
    session_hours: int = 12
    secure_cookies: bool = False  # set true when the portal is served over HTTPS (it should be, past loopback)
    time_zone: str = "Europe/Paris"
    secret_file: str = ""  # empty: <data_dir>/portal/session-secret, created on first use

    @classmethod
    def from_config(cls, config: Config) -> PortalSettings:
        section: Mapping[str, Any] = config.sections.get("portal", {})
        defaults, values = cls(), {}
        for name, value in section.items():
            if name not in {f.name for f in fields(cls)}:
                raise ConfigError(f"unknown setting [portal] {name}")
            expected = type(getattr(defaults, name))
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise ConfigError(f"[portal] {name} must be of type {expected.__name__}")
            values[name] = value
        settings = cls(**values)
        if settings.session_idle_minutes < 1 or settings.session_hours < 1:
            raise ConfigError("[portal] session_idle_minutes and session_hours must be positive")
        try:
            ZoneInfo(settings.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"[portal] time_zone: unknown time zone {settings.time_zone!r}") from None
        return settings


# ---------------------------------------------------------------------------- accounts


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password_strength(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise AccountError(f"A password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters.", "password")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}: one of {', '.join(ROLES)}.", "role")


def create_user(session: Session, tenant: Tenant, email: str, role: str, password: str) -> PortalUser:
    """A new portal user of `tenant`; the password is stored as a salted scrypt hash."""
    email = normalise_email(email)
    if not _EMAIL.match(email) or len(email) > 254:
        raise AccountError(f"Not an e-mail address: {email!r}.", "email")
    _check_role(role)
    check_password_strength(password)
    if session.scalar(select(PortalUser.id).where(PortalUser.email == email)) is not None:
        raise AccountError(f"A portal user with e-mail {email} already exists.", "taken")
    user = PortalUser(tenant_id=tenant.id, email=email, role=role, password_hash=generate_password_hash(password, method="scrypt"))
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> PortalUser | None:
    """The active, unlocked user with these credentials, or None.  Failures are counted; too many lock the account for a while."""
    user = session.scalar(select(PortalUser).where(PortalUser.email == normalise_email(email)))
    if len(password) > MAX_PASSWORD_LENGTH:
        password = ""
    if user is None or user.disabled_at is not None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    now = utcnow()
    locked = user.locked_until is not None and user.locked_until > now
    if not check_password_hash(user.password_hash, password) or locked:
        if not locked:
            user.failed_attempts += 1
            if user.failed_attempts >= MAX_FAILED_ATTEMPTS:
                user.locked_until, user.failed_attempts = now + LOCKOUT, 0
        return None
    user.failed_attempts, user.locked_until, user.last_sign_in_at = 0, None, now
    return user


def end_all_sessions(user: PortalUser) -> None:
    """Invalidate every session of `user` (sign-out, disabling, password change)."""
    user.session_version += 1


def _not_yourself(user: PortalUser, by: PortalUser) -> None:
    """An administrator does not demote or disable themselves: a tenant is never left without one by a slip."""
    if user.id == by.id:
        raise AccountError("You cannot change your own role or disable your own account.", "yourself")


def change_role(user: PortalUser, role: str, by: PortalUser) -> None:
    """Give `user` another role (effective at their next request: the role is read on every request)."""
    _not_yourself(user, by)
    _check_role(role)
    user.role = role


def set_disabled(user: PortalUser, disabled: bool, by: PortalUser) -> None:
    """Disable `user` (every session ends at once, sign-in is refused) or enable them again (with a fresh failure count)."""
    _not_yourself(user, by)
    if disabled and user.disabled_at is None:
        user.disabled_at = utcnow()
        end_all_sessions(user)
    elif not disabled:
        user.disabled_at, user.failed_attempts, user.locked_until = None, 0, None


def can(user: PortalUser, permission: str) -> bool:
    return permission in PERMISSIONS.get(user.role, frozenset())


def users_of(session: Session, tenant: Tenant) -> list[PortalUser]:
    return list(session.scalars(select(PortalUser).where(PortalUser.tenant_id == tenant.id).order_by(func.lower(PortalUser.email))))


# ---------------------------------------------------------------------------- sessions and CSRF


def start_session(state: dict[str, Any], user: PortalUser) -> None:
    """Fill a fresh session for `user` (the caller clears the old one first: no fixation)."""
    now = time.time()
    state.update(uid=user.id, ver=user.session_version, since=now, seen=now, csrf=secrets.token_urlsafe(32))


def session_user(session: Session, state: Mapping[str, Any], settings: PortalSettings, now: float | None = None) -> PortalUser | None:
    """The user of a live session, or None when there is none, it expired, or the user was disabled or signed out everywhere."""
    uid, since, seen = state.get("uid"), state.get("since"), state.get("seen")
    if not isinstance(uid, int) or not isinstance(since, float | int) or not isinstance(seen, float | int):
        return None
    now = time.time() if now is None else now
    if now - seen > settings.session_idle_minutes * 60 or now - since > settings.session_hours * 3600:
        return None
    user = session.get(PortalUser, uid)
    if user is None or user.disabled_at is not None or user.session_version != state.get("ver"):
        return None
    return user


def csrf_token(state: dict[str, Any]) -> str:
    """The session's CSRF token, created when the session has none (the sign-in form of a new visitor)."""
    if not isinstance(state.get("csrf"), str):
        state["csrf"] = secrets.token_urlsafe(32)
    return state["csrf"]


def csrf_valid(state: Mapping[str, Any], submitted: str | None) -> bool:
    expected = state.get("csrf")
    return isinstance(expected, str) and isinstance(submitted, str) and hmac.compare_digest(expected.encode(), submitted.encode())

"""Certificate expiry: warn `expiry_warning_days` ahead (log), and say it to the health check.

A signing certificate that expires stops the gateway from signing (or makes it sign with a
certificate verifiers reject); renewing a qualified certificate takes days, hence the warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from cryptography import x509

from gateway.config import Config
from gateway.signing.keys import KeyStoreError, SigningKey, load_key
from gateway.signing.settings import signing_settings

log = logging.getLogger(__name__)

ExpiryState = Literal["ok", "expiring", "expired"]


@dataclass(frozen=True)
class ExpiryStatus:
    subject: str
    not_after: datetime
    days_left: int
    state: ExpiryState

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "not_after": self.not_after.isoformat(), "days_left": self.days_left, "state": self.state}


def expiry_status(certificate: x509.Certificate, warning_days: int, now: datetime | None = None) -> ExpiryStatus:
    """Whether the certificate is valid for more than `warning_days` days ("ok"), fewer ("expiring"), or no more ("expired")."""
    now = now or datetime.now(UTC)
    not_after = certificate.not_valid_after_utc
    left = not_after - now
    state: ExpiryState = "expired" if left.total_seconds() <= 0 else "expiring" if left.days < warning_days else "ok"
    return ExpiryStatus(certificate.subject.rfc4514_string(), not_after, left.days, state)


def check_key_expiry(key: SigningKey, warning_days: int, now: datetime | None = None) -> list[ExpiryStatus]:
    """The expiry of the signing certificate and of its chain; logs a warning (expiring) or an error (expired) for each concerned."""
    statuses = [expiry_status(certificate, warning_days, now) for certificate in (key.certificate, *key.chain)]
    for status in statuses:
        if status.state == "expired":
            log.error("signing certificate %s (%s) expired on %s", status.subject, key.description, status.not_after.date())
        elif status.state == "expiring":
            log.warning(
                "signing certificate %s (%s) expires in %d day(s), on %s: renew it",
                status.subject,
                key.description,
                status.days_left,
                status.not_after.date(),
            )
    return statuses


def signing_health(config: Config, now: datetime | None = None) -> dict[str, Any]:
    """For the health check: {"status": "disabled" | "ok" | "expiring" | "expired" | "unavailable", "certificates": [...], "message"?}.

    Opens the configured key store (so a wrong PIN or a missing token shows here too), checks, closes it.
    """
    settings = signing_settings(config)
    if settings.key is None:
        return {"status": "disabled", "certificates": []}
    try:
        key = load_key(settings.key)
    except KeyStoreError as exc:
        log.error("signing key unavailable: %s", exc)
        return {"status": "unavailable", "certificates": [], "message": str(exc)}
    try:
        statuses = check_key_expiry(key, settings.expiry_warning_days, now)
    finally:
        key.close()
    states = {s.state for s in statuses}
    overall = "expired" if "expired" in states else "expiring" if "expiring" in states else "ok"
    return {"status": overall, "certificates": [s.to_dict() for s in statuses]}

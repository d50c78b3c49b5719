"""Certificate expiry: warned ahead of time in the log, and reported to the health check."""

from __future__ import annotations

import logging
from datetime import timedelta

from gateway.config import Config
from gateway.signing.expiry import check_key_expiry, expiry_status, signing_health
from tests.signing.conftest import PASSWORD, Pki


def test_expiry_states(pki: Pki) -> None:
    certificate = pki.certificate
    end = certificate.not_valid_after_utc
    assert expiry_status(certificate, 30, now=end - timedelta(days=31)).state == "ok"
    expiring = expiry_status(certificate, 30, now=end - timedelta(days=10, hours=1))
    assert (expiring.state, expiring.days_left) == ("expiring", 10)
    assert expiry_status(certificate, 30, now=end + timedelta(seconds=1)).state == "expired"


def test_a_key_near_its_end_is_logged(pem_key, caplog) -> None:
    end = pem_key.certificate.not_valid_after_utc
    with caplog.at_level(logging.WARNING, logger="gateway.signing.expiry"):
        statuses = check_key_expiry(pem_key, 30, now=end - timedelta(days=5))
    assert [s.state for s in statuses] == ["expiring", "ok"]  # the CA outlives the signing certificate
    assert "expires in 5 day(s)" in caplog.text and "renew it" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="gateway.signing.expiry"):
        check_key_expiry(pem_key, 30)
    assert caplog.text == ""


def test_health_check(pki: Pki, monkeypatch) -> None:
    assert signing_health(Config())["status"] == "disabled"
    monkeypatch.setenv("GATEWAY_SIGNING_SECRET", PASSWORD)
    config = Config(sections={"signing": {"store": "pkcs12", "pkcs12_file": str(pki / "signing.p12"), "expiry_warning_days": 30}})
    health = signing_health(config)
    assert health["status"] == "ok" and health["certificates"][0]["subject"] == pki.certificate.subject.rfc4514_string()
    assert signing_health(config, now=pki.certificate.not_valid_after_utc - timedelta(days=2))["status"] == "expiring"
    monkeypatch.setenv("GATEWAY_SIGNING_SECRET", "wrong")
    broken = signing_health(config)
    assert broken["status"] == "unavailable" and "wrong password" in broken["message"]

"""The Connector protocol and registry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from connectors import base
from connectors.base import ConnectorError, Envelope, Receipt, StatusUpdate


class Loopback:
    """The smallest connector: proves the protocol is satisfiable by a plain class."""

    name = "loopback"

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def send(self, envelope: Envelope) -> Receipt:
        return Receipt(self.name, envelope.idempotency_key, accepted=True)

    def fetch_statuses(self, since: datetime) -> list[StatusUpdate]:
        return []

    def health(self) -> dict[str, Any]:
        return {"ok": True}


def test_register_and_get():
    base.register("loopback-test", Loopback)
    built = base.get("loopback-test", {"x": 1})
    assert isinstance(built, base.Connector) and built.config == {"x": 1}
    assert "loopback-test" in base.registered()


def test_unknown_connector_is_a_key_error():
    with pytest.raises(KeyError, match="no_such_network"):
        base.get("no_such_network", {})


def test_connector_packages_register_themselves_on_first_use():
    assert base.get("email", {"sender": "a@b.example"}).name == "email"


def test_connector_error_carries_its_class():
    error = ConnectorError("timed out", transient=True, code="timeout", raw=b"x")
    assert (str(error), error.transient, error.code, error.raw) == ("timed out", True, "timeout", b"x")

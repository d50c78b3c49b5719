"""The Connector protocol: the one small shape every delivery network (Chorus Pro, Peppol, e-mail, …) implements.

Connectors know nothing of Flask or of the database: they take an `Envelope` (document bytes + the routing
metadata they need) and return a `Receipt`, or raise `ConnectorError` whose `transient` flag tells the outbox
whether retrying can help. Status polling returns `StatusUpdate`s carrying lifecycle codes of the reform
("200" Déposée … "213"), so the lifecycle layer never sees network-specific vocabularies.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol, runtime_checkable

DocumentKind = Literal["facturx", "ubl", "cii"]


@dataclass(frozen=True)
class Recipient:
    """Who receives the invoice; each network reads the identifiers it routes on."""

    name: str = ""
    siret: str | None = None  # BT-47 / BT-46 with scheme 0009: the public buyer's structure on Chorus Pro
    service_code: str | None = None  # BT-10 buyer reference, the Chorus Pro "code service"
    legal_commitment: str | None = None  # BT-13 purchase order reference, the Chorus Pro "numéro d'engagement"
    email: str | None = None
    peppol_id: str | None = None  # "scheme:value", e.g. "0225:315143296_00015"


@dataclass(frozen=True)
class Envelope:
    """One delivery: the document to send and what the networks need to know about it."""

    invoice_id: str  # the gateway's id (used in logs and messages, never sent as a business reference)
    tenant: str
    document: bytes
    kind: DocumentKind
    content_type: str  # "application/pdf" for Factur-X, "application/xml" for UBL / CII
    filename: str
    recipient: Recipient
    idempotency_key: str  # stable across retries of the same delivery
    invoice_number: str = ""  # BT-1
    seller_name: str = ""  # BT-27
    payment_means_code: str | None = None  # BT-81 (30/58 = credit transfer, which requires an IBAN)
    payee_iban: str | None = None  # BT-84
    language: str = "fr"  # "fr" or "en", for human-readable text (e-mail body)


@dataclass(frozen=True)
class Receipt:
    """What the network answered. `accepted=False` is a definitive business rejection after hand-over
    (e.g. a Chorus Pro deposit report IN_REJETE); failures before hand-over raise `ConnectorError` instead."""

    connector: str
    remote_id: str  # the network's id for the delivery (SMTP Message-ID, Chorus Pro numeroFluxDepot, AS4 MessageId …)
    accepted: bool
    raw: bytes = b""  # the network's response as received, for the record
    message: str = ""
    pending: bool = False  # handed over, but the network's verdict is not known yet: see `ReportingConnector`


@dataclass(frozen=True)
class StatusAmount:
    """An amount a status carries (MDT-207 type: MEN collected on 212, MPA paid on 211), incl. VAT, at a VAT rate."""

    type_code: str
    amount: Decimal
    currency: str
    vat_rate: Decimal | None = None


@dataclass(frozen=True)
class StatusUpdate:
    """A status the network reports for a delivered invoice, already mapped to the reform's lifecycle code."""

    remote_id: str  # same id space as Receipt.remote_id, or the network's invoice id when it has one
    code: str  # lifecycle code of the reform, e.g. "202" (Reçue par la plateforme), "210" (Refusée)
    at: datetime
    detail: str = ""
    invoice_number: str = ""  # BT-1 when the network reports it, to join back to the invoice
    reason_code: str | None = None  # MDT-113 when the network gives one (required for 206, 207, 208, 210)
    amounts: tuple[StatusAmount, ...] = ()  # what a 211 paid or a 212 collected, per VAT rate


class ConnectorError(Exception):
    """A delivery that did not happen. `transient=True` (timeouts, 5xx, connection refused, expired token that
    could not be renewed right now) means retry later; `transient=False` (bad credentials, business rejection,
    invalid recipient data) means retrying the same envelope will fail the same way."""

    def __init__(self, message: str, *, transient: bool, code: str = "", raw: bytes = b"") -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.code = code  # short machine-readable reason, e.g. "auth", "timeout", "rejected", "invalid-recipient"
        self.raw = raw


@runtime_checkable
class Connector(Protocol):
    """One delivery network."""

    name: str

    def send(self, envelope: Envelope) -> Receipt: ...

    def fetch_statuses(self, since: datetime) -> list[StatusUpdate]: ...

    def health(self) -> dict[str, Any]: ...


@runtime_checkable
class ReportingConnector(Protocol):
    """A network that judges a hand-over later (Chorus Pro's deposit report): the scheduler asks again about every
    pending Receipt until its verdict is final, since a rejection can arrive after the hand-over was recorded."""

    def final_receipt(self, remote_id: str) -> Receipt | None:
        """The final Receipt of the hand-over `remote_id` (accepted or not), or None while it is still pending."""
        ...


ConnectorFactory = Callable[[Mapping[str, Any]], Connector]

_registry: dict[str, ConnectorFactory] = {}


def register(name: str, factory: ConnectorFactory) -> None:
    """Make a connector available under `name`; each connector package registers itself on import."""
    _registry[name] = factory


def get(name: str, config: Mapping[str, Any]) -> Connector:
    """Build the connector `name` from its configuration, importing `connectors.<name>` on first use."""
    if name not in _registry:
        try:
            importlib.import_module(f"connectors.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"connectors.{name}":
                raise  # the package exists but one of its dependencies is missing: say so, not "unknown"
            raise KeyError(f"unknown connector {name!r}") from exc
    if name not in _registry:
        raise KeyError(f"unknown connector {name!r}")
    return _registry[name](config)


def registered() -> list[str]:
    """Names of the connectors registered so far."""
    return sorted(_registry)


__all__ = [
    "Connector",
    "ConnectorError",
    "ConnectorFactory",
    "DocumentKind",
    "Envelope",
    "Receipt",
    "Recipient",
    "ReportingConnector",
    "StatusAmount",
    "StatusUpdate",
    "get",
    "register",
    "registered",
]

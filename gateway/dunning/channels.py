"""How a reminder reaches the buyer: e-mail through the tenant's e-mail connector, the ERP's webhook, a letter PDF.

The e-mail connector is the one invoices are delivered with (`[delivery.connectors.email]`, per tenant); its
errors keep their `transient` flag, and the next run retries a reminder whose channel failed.
"""

from __future__ import annotations

import threading

from connectors.base import ConnectorError, Receipt
from connectors.email import EmailConnector
from connectors.email.message import Attachment, build_notice
from gateway.config import Config
from gateway.jobs.settings import DeliverySettings
from gateway.texts import N_


class Mailer:
    """The tenants' e-mail connectors, built once each."""

    def __init__(self, config: Config) -> None:
        self.settings = DeliverySettings.from_section(config.sections.get("delivery", {}))
        self._connectors: dict[str, EmailConnector] = {}
        self._lock = threading.Lock()

    def connector(self, tenant: str) -> EmailConnector:
        with self._lock:
            if tenant not in self._connectors:
                config = self.settings.connector_config(tenant, "email")
                if config is None:
                    why = N_("no email connector is configured for tenant {tenant} ([delivery.connectors.email] in config/routing.toml)")
                    raise ConnectorError(why.format(tenant=repr(tenant)), transient=False, code="not-configured")
                try:
                    self._connectors[tenant] = EmailConnector(config)
                except (KeyError, ValueError, TypeError, ConnectorError) as exc:
                    why = N_("the email connector settings are unusable: {error}").format(error=exc)
                    raise ConnectorError(why, transient=False, code="config") from None
            return self._connectors[tenant]

    def send(self, tenant: str, to_name: str, to_address: str, subject: str, body: str, attachments: list[Attachment], *, key: str,
             language: str) -> tuple[Receipt, bytes]:  # fmt: skip
        """Send the reminder; (the server's receipt, the message's exact bytes, for the archive)."""
        connector = self.connector(tenant)
        message = build_notice(connector.sender, to_name, to_address, subject, body, attachments, key=key, language=language)
        receipt = connector.send_message(message, to_address)
        return receipt, message.as_bytes()

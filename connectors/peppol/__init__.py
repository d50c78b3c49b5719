"""Peppol: participant identifiers, SML/SMP discovery, the SBDH envelope, and delivery through an access point."""

from connectors.base import register
from connectors.peppol.connector import PeppolConfig, PeppolConnector

register("peppol", PeppolConnector.from_config)

__all__ = ["PeppolConfig", "PeppolConnector"]

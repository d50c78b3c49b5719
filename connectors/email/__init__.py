"""E-mail delivery over SMTP (STARTTLS + AUTH); registered as connector "email"."""

from connectors.base import register
from connectors.email.bounce import Bounce, BouncedRecipient, parse_bounce
from connectors.email.connector import EmailConnector
from connectors.email.message import Sender, build_message

register(EmailConnector.name, EmailConnector)

__all__ = ["Bounce", "BouncedRecipient", "EmailConnector", "Sender", "build_message", "parse_bounce"]

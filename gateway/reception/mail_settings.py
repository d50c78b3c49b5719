"""The `[reception]` table for invoices arriving by e-mail (config/gateway.toml documents every key).

`[reception.mailboxes]` maps each address partners write to onto the tenant it belongs to: the SMTP
listener refuses any other recipient, and the IMAP poller reads one account whose `address` must be
among them.  `[reception.smtp]` configures the listener, `[reception.imap]` the poller (no `host`: no
polling).  A key ending in `_env` names an environment variable holding the value, so passwords stay
out of files.  An unknown key or a value of the wrong type is a ConfigError at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from gateway.config import Config, ConfigError

MIB = 1024 * 1024
IMAP_SECURITY = ("tls", "starttls")
_TABLES = {"mailboxes", "smtp", "imap"}
_KINDS = {str: "a string", int: "a positive integer", float: "a positive number", bool: "true or false"}


@dataclass(frozen=True)
class SmtpSettings:
    """The SMTP listener partners' mail servers deliver to (`gateway inbound smtp`)."""

    host: str = "127.0.0.1"  # interface to listen on
    port: int = 2525
    server_name: str = ""  # the name in the greeting and EHLO answer; empty: this machine's FQDN
    tls_cert: str = ""  # PEM certificate chain: with tls_key, STARTTLS is offered
    tls_key: str = ""
    require_tls: bool = False  # refuse mail until STARTTLS (only with a certificate)
    timeout_seconds: float = 300.0  # an idle client is disconnected after this long


@dataclass(frozen=True)
class ImapSettings:
    """One IMAP account polled for new mail (`gateway inbound imap-poll`, or the worker's scheduler)."""

    host: str = ""  # empty: no polling
    port: int = 993
    security: str = "tls"  # tls (implicit, port 993) or starttls (port 143)
    ca_file: str = ""  # trust anchors for the server certificate; empty: the system's
    username: str = ""
    password: str = field(default="", repr=False)
    address: str = ""  # the mailbox address this account receives for: one of [reception.mailboxes]
    folder: str = "INBOX"
    processed_folder: str = ""  # handled messages are moved there (created if missing); empty: only flagged \Seen
    interval_seconds: float = 60.0
    timeout_seconds: float = 30.0


@dataclass(frozen=True)
class MailSettings:
    """Mailboxes, limits, and the listener's and the poller's settings."""

    mailboxes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # lower-case address → tenant name
    max_message_bytes: int = 25 * MIB  # larger messages: SMTP 552, skipped by the poller
    max_attachments: int = 20  # invoice attachments (PDF, XML) in one message
    max_parts: int = 200  # MIME parts in one message, all levels together
    max_depth: int = 10  # nesting of multiparts and attached messages
    smtp: SmtpSettings = SmtpSettings()
    imap: ImapSettings | None = None  # None: no IMAP polling

    @classmethod
    def from_config(cls, config: Config) -> MailSettings:
        return cls.from_section(config.sections.get("reception", {}))

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> MailSettings:
        if not isinstance(section, Mapping):
            raise ConfigError("[reception] must be a table")
        limits = _typed(cls, {k: v for k, v in section.items() if k not in _TABLES}, "[reception]", skip=_TABLES)
        mailboxes = {}
        for address, tenant in _table(section, "mailboxes", "[reception]").items():
            if "@" not in address or not isinstance(tenant, str) or not tenant:
                raise ConfigError(f"[reception.mailboxes] maps an e-mail address to a tenant's name, not {address!r} = {tenant!r}")
            mailboxes[address.strip().lower()] = tenant
        smtp = SmtpSettings(**_typed(SmtpSettings, _table(section, "smtp", "[reception]"), "[reception.smtp]"))
        if bool(smtp.tls_cert) != bool(smtp.tls_key) or (smtp.require_tls and not smtp.tls_cert):
            raise ConfigError("[reception.smtp] STARTTLS needs both tls_cert and tls_key (require_tls needs them too)")
        imap_values = _typed(ImapSettings, _table(section, "imap", "[reception]"), "[reception.imap]")
        imap = ImapSettings(**imap_values) if imap_values.get("host") else None
        if imap is not None:
            if imap.security not in IMAP_SECURITY:
                raise ConfigError(f"[reception.imap] security must be one of {', '.join(IMAP_SECURITY)}, not {imap.security!r}")
            if imap.address.lower() not in mailboxes:
                raise ConfigError(f"[reception.imap] address {imap.address!r} must be one of [reception.mailboxes]")
        return cls(mailboxes=MappingProxyType(mailboxes), **limits, smtp=smtp, imap=imap)

    def tenant_for(self, address: str) -> str | None:
        """The tenant a recipient address belongs to (compared without case), or None for an unknown mailbox."""
        return self.mailboxes.get(address.strip().strip("<>").lower())


def _table(section: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    value = section.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} {name} must be a table")
    return value


def _typed(cls: type, values: Mapping[str, Any], where: str, skip: Collection[str] = ()) -> dict[str, Any]:
    """`values` checked against the dataclass's scalar fields (their defaults give the types); `*_env` keys read the environment."""
    defaults = {f.name: getattr(cls, f.name) for f in fields(cls) if f.name not in skip and f.name != "mailboxes"}
    checked: dict[str, Any] = {}
    for key, value in values.items():
        name = key.removesuffix("_env")
        if name not in defaults or (key != name and not isinstance(defaults[name], str)):
            raise ConfigError(f"unknown setting {where} {key}")
        if key != name:
            if not isinstance(value, str) or value not in os.environ:
                raise ConfigError(f"{where} {key}: environment variable {value!r} is not set")
            value = os.environ[value]
        expected = type(defaults[name])
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            raise ConfigError(f"{where} {key} must be {_KINDS[expected]}")
        if expected in (int, float) and value <= 0:
            raise ConfigError(f"{where} {key} must be positive")
        checked[name] = value
    return checked

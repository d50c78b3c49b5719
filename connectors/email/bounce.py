"""Delivery Status Notifications (RFC 3464): a bounce received later is a failed delivery.

A DSN is a `multipart/report; report-type=delivery-status` whose `message/delivery-status` part holds one
block of per-message fields and one block per recipient (Final-Recipient, Action, Status, Diagnostic-Code);
the returned original (`message/rfc822` or `text/rfc822-headers`) carries the Message-ID we recorded in the
Receipt, which is how the bounce finds its delivery.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser


@dataclass(frozen=True)
class BouncedRecipient:
    address: str
    action: str  # failed, delayed, delivered, relayed, expanded
    status: str  # RFC 3463 enhanced status code, e.g. "5.1.1"
    diagnostic: str = ""


@dataclass(frozen=True)
class Bounce:
    original_message_id: str | None  # the Receipt.remote_id of the delivery this DSN is about
    reporting_mta: str = ""
    recipients: list[BouncedRecipient] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """At least one recipient could not be reached (a "delayed" notice is not a failure yet)."""
        return any(r.action == "failed" for r in self.recipients)

    @property
    def permanent(self) -> bool:
        """A failure with a 5.x.x status: resending the same message will not help."""
        return any(r.action == "failed" and r.status.startswith("5") for r in self.recipients)

    @property
    def summary(self) -> str:
        return "; ".join(f"{r.address}: {r.action} {r.status} {r.diagnostic}".strip() for r in self.recipients)


def parse_bounce(raw: bytes) -> Bounce | None:
    """The DSN in `raw`, or None when `raw` is not a delivery-status report."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if message.get_content_type() != "multipart/report" or (message.get_param("report-type") or "").lower() != "delivery-status":
        return None
    status_part = _first_part(message, "message/delivery-status")
    if status_part is None:
        return None
    blocks = status_part.get_payload()
    if not isinstance(blocks, list) or not blocks:
        return None
    per_message, per_recipient = blocks[0], blocks[1:]
    recipients = [
        BouncedRecipient(
            address=_typed_value(block.get("Final-Recipient") or block.get("Original-Recipient")),
            action=str(block.get("Action", "")).strip().lower(),
            status=str(block.get("Status", "")).strip(),
            diagnostic=" ".join(_typed_value(block.get("Diagnostic-Code")).split()),
        )
        for block in per_recipient
    ]
    return Bounce(_original_message_id(message), _typed_value(per_message.get("Reporting-MTA")), recipients)


def _first_part(message: Message, content_type: str) -> Message | None:
    return next((part for part in message.walk() if part.get_content_type() == content_type), None)


def _typed_value(value: object) -> str:
    """ "rfc822; buyer@example.org" → "buyer@example.org" (DSN fields are "type; value")."""
    text = str(value or "")
    return text.split(";", 1)[1].strip() if ";" in text else text.strip()


def _original_message_id(message: Message) -> str | None:
    original = _first_part(message, "message/rfc822")
    if original is not None:
        payload = original.get_payload()
        headers = payload[0] if isinstance(payload, list) and payload else None
    else:
        part = _first_part(message, "text/rfc822-headers")
        headers = BytesHeaderParser(policy=email.policy.default).parsebytes(part.get_payload(decode=True) or b"") if part is not None else None
    if headers is None or headers.get("Message-ID") is None:
        return None
    return str(headers["Message-ID"]).strip()

"""One received e-mail (RFC 5322 bytes) → a delivery status report, or the invoice documents it carries.

A delivery status notification (RFC 3464) is recognised first, with `connectors.email.parse_bounce`: it
answers one of the gateway's own sendings, and the invoice it returns must never be read as a partner's.
Otherwise every leaf part of the MIME tree is looked at, nested multiparts and attached messages (a
forwarded invoice mail) included: a part is an invoice candidate when its type is PDF or XML, or when its
file name ends in .pdf or .xml (mailers often send `application/octet-stream`).  PDFs come first, so a
Factur-X PDF is read before the same invoice's XML attached beside it.  The tree is bounded (parts, depth,
candidates): a message past a bound is `UnusableMail`, never half read.  Nothing here touches the database.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.utils import parseaddr

from connectors.email.bounce import Bounce, parse_bounce

INVOICE_TYPES = {"application/pdf": "pdf", "application/x-pdf": "pdf", "application/xml": "xml", "text/xml": "xml"}
INVOICE_EXTENSIONS = {".pdf": "pdf", ".xml": "xml"}


class UnusableMail(ValueError):
    """A message whose MIME structure exceeds the bounds (too many parts, too deep, too many attachments)."""


@dataclass(frozen=True)
class Limits:
    max_attachments: int = 20
    max_parts: int = 200
    max_depth: int = 10


@dataclass(frozen=True)
class Attachment:
    """One invoice candidate: its bytes decoded from their transfer encoding, its declared type and file name."""

    data: bytes
    content_type: str
    filename: str | None
    kind: str  # "pdf" or "xml", from the type or the file name


@dataclass(frozen=True)
class Mail:
    """What a message carries: a bounce, or the invoice candidates (and what else was seen, to explain an empty one)."""

    sender: str | None  # the From address (as claimed by the sender)
    message_id: str | None
    subject: str
    bounce: Bounce | None = None
    attachments: list[Attachment] = field(default_factory=list)
    other_parts: list[str] = field(default_factory=list)  # content types of the parts that are not invoices

    def describe_other_parts(self) -> str:
        return ", ".join(sorted(set(self.other_parts))) or "none"


def read_mail(raw: bytes, limits: Limits = Limits()) -> Mail:
    """The bounce or the invoice attachments of `raw`; `UnusableMail` when the structure is past `limits`."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    sender = parseaddr(_header(message, "From"))[1] or None
    base = Mail(sender, _header(message, "Message-ID").strip() or None, _header(message, "Subject"))
    bounce = parse_bounce(raw)
    if bounce is not None:
        return Mail(base.sender, base.message_id, base.subject, bounce=bounce)
    attachments: list[Attachment] = []
    others: list[str] = []
    _walk(message, 0, limits, attachments, others, [0])
    if len(attachments) > limits.max_attachments:
        raise UnusableMail(f"the message carries {len(attachments)} invoice attachments, more than the {limits.max_attachments} allowed")
    attachments.sort(key=lambda a: a.kind != "pdf")  # stable: PDFs first, each kind in message order
    return Mail(base.sender, base.message_id, base.subject, attachments=attachments, other_parts=others)


def _header(message: Message, name: str) -> str:
    """A header as one line of text; a header too broken to parse reads as empty."""
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):  # the header parser's errors on hostile values
        return ""
    return " ".join(str(value or "").split())


def _walk(part: Message, depth: int, limits: Limits, attachments: list[Attachment], others: list[str], count: list[int]) -> None:
    count[0] += 1
    if count[0] > limits.max_parts:
        raise UnusableMail(f"the message has more than {limits.max_parts} MIME parts")
    if depth > limits.max_depth:
        raise UnusableMail(f"the message's MIME parts are nested deeper than {limits.max_depth} levels")
    content_type = part.get_content_type()
    if part.is_multipart():  # a multipart, or an attached message (its payload is the message)
        for child in part.get_payload():  # type: ignore[union-attr]
            _walk(child, depth + 1, limits, attachments, others, count)
        return
    filename = _filename(part)
    kind = INVOICE_TYPES.get(content_type) or next((k for ext, k in INVOICE_EXTENSIONS.items() if (filename or "").lower().endswith(ext)), None)
    if kind is None:
        others.append(content_type)
        return
    data = part.get_payload(decode=True)
    if isinstance(data, bytes) and data:
        attachments.append(Attachment(data, content_type, filename, kind))
    else:
        others.append(f"{content_type} (empty)")


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except (ValueError, IndexError, TypeError, LookupError):
        return None
    return " ".join(name.split()) if name else None

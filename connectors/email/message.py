"""The MIME message that carries an invoice to its buyer.

Names, subjects and file names come from invoices, i.e. from outside: every one is reduced to a single line of
printable text before it reaches a header, and addresses must be plain ASCII addr-specs, so no header can be
injected. The Message-ID is derived from the delivery's idempotency key: a re-send after a crash carries the
same Message-ID, which lets mail systems and the buyer recognise the duplicate.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

import facturx

from connectors.base import ConnectorError, Envelope

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_ADDR_SPEC = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MAX_HEADER_TEXT = 200

SUBJECTS = {
    "fr": "Facture {number} de {seller}",
    "en": "Invoice {number} from {seller}",
}
BODIES = {
    "fr": (
        "Bonjour,\n\n"
        "Veuillez trouver ci-joint la facture {number} émise par {seller}.\n"
        "Le fichier {filename} est une facture électronique{structured} : il peut être lu tel quel ou importé "
        "dans votre logiciel de comptabilité.\n\n"
        "Ce message a été envoyé automatiquement ; pour toute question, répondez à {reply_to}.\n"
    ),
    "en": (
        "Hello,\n\n"
        "Please find attached invoice {number} issued by {seller}.\n"
        "The file {filename} is an electronic invoice{structured}: it can be read as is or imported into your "
        "accounting software.\n\n"
        "This message was sent automatically; for any question, reply to {reply_to}.\n"
    ),
}
STRUCTURED = {
    "fr": {"facturx": " Factur-X (PDF avec ses données XML intégrées)", "ubl": " UBL", "cii": " CII"},
    "en": {"facturx": " in Factur-X (a PDF with its XML data embedded)", "ubl": " in UBL", "cii": " in CII"},
}


@dataclass(frozen=True)
class Sender:
    """Who the message comes from: From (address + display name), Reply-To, and the Message-ID domain."""

    address: str
    name: str = ""
    reply_to: str | None = None
    message_id_domain: str | None = None


def header_text(value: str) -> str:
    """One printable line (control characters and line breaks become spaces), at most MAX_HEADER_TEXT characters."""
    return " ".join(_CONTROL.sub(" ", value).split())[:MAX_HEADER_TEXT]


def checked_address(value: str | None, what: str) -> str:
    """A plain ASCII addr-spec, or a permanent error: nothing else may reach SMTP commands or address headers."""
    address = (value or "").strip()
    if not _ADDR_SPEC.match(address) or ".." in address or len(address) > 254:
        raise ConnectorError(f"{what} {value!r} is not a usable e-mail address", transient=False, code="invalid-recipient")
    return address


def message_id(envelope: Envelope, domain: str) -> str:
    """<hash of tenant + idempotency key @ domain>: stable across retries of one delivery, unique across deliveries."""
    digest = hashlib.sha256(f"{envelope.tenant}\0{envelope.idempotency_key}".encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


def _headed(sender: Sender, to_name: str, to_address: str, reply_to: str, subject: str, mid: str, language: str) -> EmailMessage:
    """A message with its headers set (addresses already checked)."""
    message = EmailMessage()
    message["From"] = Address(display_name=header_text(sender.name), addr_spec=checked_address(sender.address, "sender"))
    message["To"] = Address(display_name=to_name, addr_spec=to_address)
    message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = mid
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
    return message


def _set_body(message: EmailMessage, text: str, language: str) -> None:
    """The plain-text body, and its language (after: setting the content drops every Content-* header set before)."""
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message["Content-Language"] = language


def build_message(envelope: Envelope, sender: Sender, *, attach_xml: bool = False) -> EmailMessage:
    """The message to the buyer: subject and body in the envelope's language (fr or en), the document attached
    byte for byte, and for Factur-X, when `attach_xml`, the embedded XML as a second attachment."""
    language = envelope.language if envelope.language in SUBJECTS else "fr"
    to_address = checked_address(envelope.recipient.email, "recipient")
    from_address = checked_address(sender.address, "sender")
    reply_to = checked_address(sender.reply_to, "reply-to") if sender.reply_to else from_address
    number = header_text(envelope.invoice_number) or header_text(envelope.invoice_id)
    seller = header_text(envelope.seller_name) or header_text(sender.name)
    filename = attachment_filename(envelope.filename, envelope.kind)

    subject = SUBJECTS[language].format(number=number, seller=seller).strip()
    mid = message_id(envelope, sender.message_id_domain or from_address.split("@", 1)[1])
    message = _headed(sender, header_text(envelope.recipient.name), to_address, reply_to, subject, mid, language)
    body = BODIES[language].format(number=number, seller=seller, filename=filename, structured=STRUCTURED[language][envelope.kind], reply_to=reply_to)
    _set_body(message, body, language)
    maintype, _, subtype = envelope.content_type.partition("/")
    message.add_attachment(envelope.document, maintype=maintype, subtype=subtype or "octet-stream", filename=filename)
    if attach_xml and envelope.kind == "facturx":
        xml_name, xml = facturx.get_xml_from_pdf(envelope.document, check_xsd=False)
        if not xml:
            raise ConnectorError("the Factur-X PDF has no embedded XML to attach", transient=False, code="invalid-document")
        message.add_attachment(xml, maintype="application", subtype="xml", filename=header_text(xml_name) or "factur-x.xml")
    return message


@dataclass(frozen=True)
class Attachment:
    data: bytes
    content_type: str
    filename: str


def build_notice(
    sender: Sender, to_name: str, to_address: str, subject: str, body: str, attachments: list[Attachment], *, key: str, language: str
) -> EmailMessage:
    """A message of the seller's own words to the buyer (a payment reminder …): plain-text body, attachments byte for byte,
    its Message-ID derived from `key` (the same notice sent again carries the same one)."""
    from_address = checked_address(sender.address, "sender")
    reply_to = checked_address(sender.reply_to, "reply-to") if sender.reply_to else from_address
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    mid = f"<{digest}@{sender.message_id_domain or from_address.split('@', 1)[1]}>"
    message = _headed(sender, header_text(to_name), checked_address(to_address, "recipient"), reply_to, header_text(subject), mid, language)
    _set_body(message, body, language)
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(attachment.data, maintype=maintype, subtype=subtype or "octet-stream", filename=header_text(attachment.filename))
    return message


def attachment_filename(filename: str, kind: str) -> str:
    """The attachment's name: the envelope's base name on one line, with the right extension."""
    name = header_text(filename.replace("\\", "/").rsplit("/", 1)[-1]).strip(". ") or "invoice"
    extension = ".pdf" if kind == "facturx" else ".xml"
    return name if name.lower().endswith(extension) else name + extension

"""One message for the gateway's mailboxes, handled in one transaction: what the SMTP listener and the IMAP poller share.

For each tenant whose mailbox is among the recipients, the message is

- a **bounce** of one of the tenant's e-mail deliveries: that delivery fails (`gateway.jobs.bounces`);
- or its **invoice attachments**, each received through `reception.service.receive` (channel "email",
  origin the From address, the whole message archived with it): 202, or 213 with its reasons (DOUBLON …);
  an attachment equal to a document already read from the same message (the XML beside its Factur-X PDF)
  is not read twice;
- or, with no invoice in it (or past the MIME bounds), one **unreadable** reception holding the message.

The answer is a `Reply` — the SMTP reply the listener gives after the commit: 250 when an invoice or a bounce
was stored, 554 when nothing readable was (stored all the same, the sender's server returns our reason), 451
when anything failed (a validator that cannot run, the database …): then nothing was kept and the sender
tries again, so a message is acknowledged only once it is stored.  A message whose exact bytes were already
handled for the tenant (the poller's crash between commit and flagging it, an SMTP client that lost our 250)
is acknowledged again without being received twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from gateway.archive.models import ArchiveEntry
from gateway.archive.service import Archive
from gateway.config import Config
from gateway.errors import UnsupportedDocument
from gateway.jobs.bounces import BOUNCE_KIND, record_bounce
from gateway.jobs.settings import DeliverySettings
from gateway.reception.mail import Limits, Mail, UnusableMail, read_mail
from gateway.reception.mail_settings import MailSettings
from gateway.reception.service import MESSAGE_KIND, UNREADABLE_KIND, Received, UnreadableDocument, receive, record_unreadable
from gateway.store import models as db
from gateway.store.blobs import sha256_hex
from gateway.store.session import Database
from gateway.store.tenants import get_tenant

log = logging.getLogger(__name__)

CHANNEL = "email"
MAX_ROUNDS = 3  # a concurrent reception of the same invoice rolls the transaction back: the message is handled again
MAX_REPLY_TEXT = 400  # an SMTP reply line is at most 512 octets


class NoInvoice(UnsupportedDocument):
    """A message that carries no invoice document (or cannot be looked through)."""

    code = "no_invoice_attachment"


@dataclass(frozen=True)
class Reply:
    """The SMTP reply for a message: code, enhanced status code and text; the reception records it made."""

    code: int
    text: str
    reception_ids: tuple[str, ...] = ()

    @property
    def transient(self) -> bool:
        """Nothing was stored: the message must be offered again."""
        return 400 <= self.code < 500

    def line(self) -> str:
        """The reply as one printable ASCII line of bounded length."""
        text = " ".join(self.text.split()).encode("ascii", "replace").decode("ascii")
        return f"{self.code} {text[: MAX_REPLY_TEXT - 3] + '...' if len(text) > MAX_REPLY_TEXT else text}"


class _Raced(Exception):
    """The session was rolled back under the handler (a concurrent reception of the same invoice)."""


class Mailroom:
    """Handles messages for the configured mailboxes of one gateway."""

    def __init__(self, database: Database, archive: Archive, config: Config) -> None:
        self.database = database
        self.archive = archive
        self.settings = MailSettings.from_config(config)
        self.delivery = DeliverySettings.from_section(config.sections.get("delivery", {}))
        self.limits = Limits(self.settings.max_attachments, self.settings.max_parts, self.settings.max_depth)

    def accepts(self, address: str) -> bool:
        return self.settings.tenant_for(address) is not None

    def handle(self, raw: bytes, recipients: Sequence[str], envelope_from: str | None = None) -> Reply:
        """Store what `raw` carries for the tenants of `recipients`, in one transaction, and say what the sender is told."""
        tenants = sorted({tenant for address in recipients if (tenant := self.settings.tenant_for(address))})
        if not tenants:
            return Reply(550, "5.1.1 No mailbox of this gateway among the recipients")
        try:
            mail: Mail | None = read_mail(raw, self.limits)
            problem = None
        except UnusableMail as exc:
            mail, problem = None, f"The message cannot be looked through: {exc}."
        try:
            for _ in range(MAX_ROUNDS):
                try:
                    return self._handle_once(raw, mail, problem, tenants, envelope_from)
                except _Raced:
                    continue
            return Reply(451, "4.3.0 The same invoice is being received concurrently: try again later")
        except Exception:  # nothing was stored: the sender must try again rather than be told 250
            log.exception("e-mail for %s not stored", ", ".join(tenants))
            return Reply(451, "4.3.0 The message could not be stored: try again later")

    def _handle_once(self, raw: bytes, mail: Mail | None, problem: str | None, tenants: list[str], envelope_from: str | None) -> Reply:
        with self.database.sessionmaker() as session:
            rollbacks: list[Session] = []
            event.listen(session, "after_rollback", rollbacks.append)
            replies = [self._for_tenant(session, get_tenant(session, name), raw, mail, problem, envelope_from) for name in tenants]
            if rollbacks:
                raise _Raced()
            session.commit()
        stored = [reply for reply in replies if reply.code == 250]
        chosen = stored[0] if stored else replies[0]
        return Reply(chosen.code, chosen.text, tuple(i for reply in replies for i in reply.reception_ids))

    def _for_tenant(
        self, session: Session, tenant: db.Tenant, raw: bytes, mail: Mail | None, problem: str | None, envelope_from: str | None
    ) -> Reply:
        if self._already_handled(session, tenant, raw):
            return Reply(250, "2.0.0 Already received: this message was handled before")
        if mail is not None and mail.bounce is not None:
            outcome = record_bounce(session, self.archive, tenant.id, mail.bounce, raw, self.delivery)
            return Reply(250, f"2.0.0 Delivery report recorded: {outcome.note}")
        origin = (mail.sender if mail else None) or envelope_from or None
        if mail is None or not mail.attachments:
            why = problem or (
                "No invoice attached: a Factur-X PDF, or a UBL or CII XML file, is expected "
                f"(parts seen: {mail.describe_other_parts() if mail else 'none'})."
            )
            unreadable = record_unreadable(session, self.archive, tenant, raw, NoInvoice(why), channel=CHANNEL, origin=origin, message=None)
            log.warning("e-mail from %s for %s holds no invoice: %s", origin, tenant.name, why)
            return Reply(554, f"5.6.0 {why}", (unreadable.reception_id,))
        received: list[Received] = []
        refused: list[tuple[str, UnreadableDocument]] = []
        seen: set[str] = set()
        for attachment in mail.attachments:
            if sha256_hex(attachment.data) in seen:
                continue
            name = attachment.filename or attachment.content_type
            try:
                result = receive(session, self.archive, tenant, attachment.data, attachment.content_type, channel=CHANNEL, origin=origin, message=raw)
            except UnreadableDocument as exc:
                refused.append((name, exc))
                continue
            seen.update(document.sha256 for document in result.invoice.documents)
            received.append(result)
        summary = [f"{r.invoice.number} {r.status}" + "".join(f" {reason.code}" for reason in r.reasons[:1]) for r in received]
        summary += [f"{name} unreadable ({exc.message})" for name, exc in refused]
        ids = tuple(r.reception.id for r in received) + tuple(exc.reception_id for _, exc in refused)
        log.info("e-mail from %s for %s: %s", origin, tenant.name, "; ".join(summary))
        if received:
            return Reply(250, "2.0.0 Received: " + "; ".join(summary), ids)
        return Reply(554, "5.6.0 No readable invoice: " + "; ".join(summary), ids)

    @staticmethod
    def _already_handled(session: Session, tenant: db.Tenant, raw: bytes) -> bool:
        """Whether these exact bytes were stored for the tenant as a message, an unreadable message or a bounce."""
        return (
            session.scalar(
                select(ArchiveEntry.seq)
                .where(
                    ArchiveEntry.content_sha256 == sha256_hex(raw),
                    ArchiveEntry.tenant_id == tenant.id,
                    ArchiveEntry.kind.in_((MESSAGE_KIND, UNREADABLE_KIND, BOUNCE_KIND)),
                )
                .limit(1)
            )
            is not None
        )

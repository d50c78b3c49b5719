"""Peppol inbound: what the tenant's access point received, handed to the gateway as the Standard Business Document.

Three kinds of business document arrive that way:

- an **invoice** (UBL, CII) from a partner: it is received like any other (`service.receive`, channel "peppol",
  origin the SBDH sender, the SBD archived as its message), and answered with the MLS the access point sends
  back to the sender's (AP when the gateway gave 202, RE with one line per reason for 213 or unreadable bytes);
- a **CDAR** (a partner platform's lifecycle status about one of the tenant's invoices): recorded through
  `lifecycle.service.receive_cdar`, after the official CDAR artefacts accepted it;
- an **MLS** about one of the tenant's own transmissions: the delivery whose network id (`remote_id`, the
  SBDH InstanceIdentifier it sent) the MLS refers to gets the status (AP/AB → 202, RE → 213), recorded as a
  partner's message (the SBD archived with it).  The same MLS handed over twice is recorded once.

An SBD that cannot be read is kept like any unreadable reception and refused (no MLS can answer it: its
InstanceIdentifier is unknown).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.peppol import mls, sbdh
from connectors.peppol.identifiers import MLS_DOCUMENT, ParticipantId
from gateway.archive.service import Archive
from gateway.config import Config
from gateway.errors import InputError
from gateway.jobs.models import Delivery
from gateway.jobs.settings import DeliverySettings
from gateway.lifecycle import cdar, codes
from gateway.lifecycle import service as lifecycle
from gateway.lifecycle.events import StatusChange
from gateway.lifecycle.models import LifecycleEvent
from gateway.reception import service
from gateway.reception.models import ACCEPTED, UNREADABLE
from gateway.store import models as db

CHANNEL = "peppol"
XML_TYPE = "application/xml"


class InvalidSbd(InputError):
    """Bytes that are not a Peppol Standard Business Document, or an MLS in one that cannot be read."""

    status = 422
    code = "invalid_sbd"


class UnknownTransmission(InputError):
    """An MLS about a transmission the tenant did not make on Peppol."""

    status = 404
    code = "unknown_transmission"


@dataclass(frozen=True)
class InvoiceAnswer:
    """An invoice received on Peppol: the reception (None when its document was unreadable) and the MLS SBD answering it."""

    received: service.Received | None
    reception_id: str
    status: str  # 202, 213 or unreadable
    mls: bytes


@dataclass(frozen=True)
class StatusAnswer:
    """An MLS about one of the tenant's transmissions: the invoice, and the recorded event (None when it was already recorded)."""

    invoice: db.Invoice
    code: str
    recorded: lifecycle.Recorded | None


def access_point_id(config: Config, tenant: str) -> ParticipantId | None:
    """The tenant's access point id (SPIS, 0242), sender of the MLS answers: the Peppol connector's `mls_to` setting, where MLSes reach it."""
    settings = DeliverySettings.from_section(config.sections.get("delivery", {}))
    merged = {**settings.connectors.get("peppol", {}), **settings.tenants.get(tenant, {}).get("peppol", {})}
    return ParticipantId.parse(merged["mls_to"]) if merged.get("mls_to") else None


def receive_sbd(
    session: Session, archive: Archive, tenant: db.Tenant, data: bytes, *, own_id: ParticipantId | None = None
) -> InvoiceAnswer | StatusAnswer:
    """Receive an SBD from the tenant's access point (the caller commits, also when `service.UnreadableDocument` is raised for
    bytes that are no SBD: they are kept).

    `own_id` is the access point's SPIS id (0242), the sender of the MLS answers.
    """
    try:
        header, payload = sbdh.read(data)
    except sbdh.SbdhError as exc:
        cause = InvalidSbd(f"Not a Peppol Standard Business Document: {exc}")
        raise service.record_unreadable(session, archive, tenant, data, cause, channel=CHANNEL, origin=None, message=None) from None
    if header.document_type == MLS_DOCUMENT.value:
        return _status(session, archive, tenant, data, header)
    if etree.QName(payload).namespace == cdar.RSM:  # a partner platform's lifecycle status (CDAR) about one of the tenant's invoices
        recorded = lifecycle.receive_cdar(session, archive, tenant, etree.tostring(payload, encoding="UTF-8"), actor=f"peppol:{header.sender}")
        return StatusAnswer(recorded.event.invoice, recorded.event.code, recorded)
    return _invoice(session, archive, tenant, data, header, payload, own_id)


def _invoice(
    session: Session, archive: Archive, tenant: db.Tenant, data: bytes, header: sbdh.Header, payload: etree._Element, own_id: ParticipantId | None
) -> InvoiceAnswer:
    document = etree.tostring(payload, xml_declaration=True, encoding="UTF-8")
    try:
        received = service.receive(session, archive, tenant, document, XML_TYPE, channel=CHANNEL, origin=header.sender, message=data)
    except service.UnreadableDocument as exc:
        answer = mls.answer(header, mls.REJECTED, [(mls.SYNTAX_VIOLATION, exc.message)], own_id=own_id)
        return InvoiceAnswer(None, exc.reception_id, UNREADABLE, answer)
    if received.status == ACCEPTED:
        answer = mls.answer(header, mls.ACCEPTED, own_id=own_id)
    else:
        lines = [(mls.BUSINESS_RULE_FATAL, f"{r.code} {r.rule_id}: {r.message}" if r.rule_id else f"{r.code}: {r.message}") for r in received.reasons]
        answer = mls.answer(header, mls.REJECTED, lines, own_id=own_id)
    return InvoiceAnswer(received, received.reception.id, received.status, answer)


def _status(session: Session, archive: Archive, tenant: db.Tenant, data: bytes, header: sbdh.Header) -> StatusAnswer:
    try:
        message = mls.read(data)
    except mls.MlsError as exc:
        raise InvalidSbd(f"The SBD's MLS cannot be read: {exc}") from None
    invoice = session.scalars(
        select(db.Invoice)
        .join(Delivery, Delivery.invoice_id == db.Invoice.id)
        .where(Delivery.tenant_id == tenant.id, Delivery.channel == CHANNEL, Delivery.remote_id == message.reference)
    ).first()
    if invoice is None:
        raise UnknownTransmission(f"No Peppol transmission {message.reference} of this tenant.")
    digest = hashlib.sha256(data).hexdigest()
    known = session.scalar(
        select(LifecycleEvent.status_event_id)
        .join(db.StatusEvent, db.StatusEvent.id == LifecycleEvent.status_event_id)
        .where(db.StatusEvent.invoice_id == invoice.id, LifecycleEvent.message_sha256 == digest)
    )
    if known is not None:
        return StatusAnswer(invoice, message.lifecycle_code, None)
    change = StatusChange(message.lifecycle_code, message.issued, codes.PLATFORM, reason_code=message.reason_code, comment=message.detail)
    recorded = lifecycle.record(
        session, archive, invoice, change, source=lifecycle.SOURCE_PARTNER, actor=f"peppol:{header.sender}", message=data, message_type=XML_TYPE
    )
    return StatusAnswer(invoice, message.lifecycle_code, recorded)

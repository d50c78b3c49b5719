"""A bounce (RFC 3464 delivery status notification) for an invoice the gateway sent by e-mail: a delivery failure.

SMTP's "250" only says the first server took the message; a later bounce says it never reached the buyer.
The DSN names the original Message-ID, which the e-mail connector returned as the delivery's `remote_id`:
that finds the tenant's sent e-mail delivery.  The failure is a new attempt row (outcome "failed",
error code "bounced", the DSN's per-recipient summary as the error), so the timeline keeps the send and
its bounce, and the delivery moves on as any failure does:

- a permanent failure (status 5.x.x: unknown user, domain, refused) is a dead letter at once: sending the
  same message again would bounce again, an operator fixes the address and retries it;
- a transient one (4.x.x: the remote system gave up retrying a full mailbox …) is retried with the outbox
  backoff until the attempt limit, then dead.

A "delayed" notice is no failure: it is archived, nothing else changes.  Every DSN is archived (kind
"bounce"), with the invoice when its delivery was found.  A second DSN for a delivery no longer "sent"
(another recipient's, a copy) changes nothing.  The caller commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connectors.email.bounce import Bounce
from gateway.archive.service import Archive
from gateway.jobs import outbox
from gateway.jobs.models import INVOICE_UNDELIVERABLE, OUTCOME_FAILED, RETRYING, SENT, Delivery, DeliveryAttempt
from gateway.jobs.settings import DeliverySettings
from gateway.store import models as db
from gateway.store.models import utcnow

log = logging.getLogger(__name__)

CHANNEL = "email"
BOUNCE_KIND = "bounce"  # archive kind of a DSN
ERROR_CODE = "bounced"


@dataclass(frozen=True)
class BounceOutcome:
    """What a DSN did: the delivery it is about (None: not one of the tenant's e-mail deliveries) and its state after it."""

    delivery_id: str | None
    state: str | None
    note: str


def message_id_key(value: str) -> str:
    """A Message-ID as the connector records it: `<local@domain>`."""
    value = value.strip()
    return value if value.startswith("<") else f"<{value}>"


def record_bounce(
    session: Session, archive: Archive, tenant_id: int, bounce: Bounce, raw: bytes, settings: DeliverySettings, now: datetime | None = None
) -> BounceOutcome:
    """Archive the DSN `raw` and turn it into a failure of the tenant's e-mail delivery it is about (the caller commits)."""
    now = now or utcnow()
    delivery = None
    if bounce.original_message_id:
        delivery = session.scalars(
            select(Delivery).where(
                Delivery.tenant_id == tenant_id, Delivery.channel == CHANNEL, Delivery.remote_id == message_id_key(bounce.original_message_id)
            )
        ).first()
    archive.append(session, tenant_id=tenant_id, invoice_id=delivery.invoice_id if delivery else None, kind=BOUNCE_KIND, data=raw)
    if delivery is None:
        note = f"no e-mail delivery of this tenant has Message-ID {bounce.original_message_id or '(none in the report)'}"
        log.warning("bounce archived: %s", note)
        return BounceOutcome(None, None, note)
    if not bounce.failed:
        return BounceOutcome(delivery.id, delivery.state, f"not a failure ({bounce.summary}): the delivery stays {delivery.state}")
    # Conditional on "sent": of two reports for one delivery, the second finds it failed already and changes nothing.
    taken = session.execute(
        update(Delivery).where(Delivery.id == delivery.id, Delivery.state == SENT).values(attempts=Delivery.attempts + 1, updated_at=now),
        execution_options={"synchronize_session": False},
    )
    if taken.rowcount != 1:
        return BounceOutcome(delivery.id, delivery.state, f"the delivery is {delivery.state} already")
    session.refresh(delivery)
    transient = not bounce.permanent
    error = f"bounced by {bounce.reporting_mta or 'a mail server'}: {bounce.summary}"
    session.add(
        DeliveryAttempt(
            delivery_id=delivery.id,
            number=delivery.attempts,
            worker=f"bounce {bounce.reporting_mta}".strip(),
            started_at=now,
            finished_at=now,
            channel=CHANNEL,
            outcome=OUTCOME_FAILED,
            transient=transient,
            error_code=ERROR_CODE,
            error=error,
            remote_id=delivery.remote_id,
        )
    )
    invoice = session.get(db.Invoice, delivery.invoice_id)
    assert invoice is not None
    retried = outbox.failed(delivery, now, error, transient=transient, settings=settings) == RETRYING
    invoice.state = db.STATE_VALIDATED if retried else INVOICE_UNDELIVERABLE  # retried: not delivered, due again
    session.flush()
    log.warning("delivery %s %s: %s", delivery.id, delivery.state, error)
    return BounceOutcome(delivery.id, delivery.state, error)

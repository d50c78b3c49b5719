"""One delivery from claim to outcome: route it (once), build its envelope, send it, record what happened.

Three short transactions per delivery — the claim, the routing decision, the outcome — and none open
while the network is spoken to.  The outcome is recorded under the claim token (`outbox.owned`):

- accepted: the receipt is archived (kind "receipt"), the lifecycle moves on with 201 "Émise par la
  plateforme" (through `gateway.lifecycle.service.record`), the delivery is "sent";
- refused by the network after hand-over (a Chorus Pro flow IN_REJETE …): the receipt is archived, the
  delivery is dead; a Chorus Pro refusal is also the lifecycle status 213 Rejetée (reason REJ_CONT_B2G);
- a transient ConnectorError: retried with exponential backoff and jitter until `max_attempts`, then dead;
- a permanent ConnectorError (bad credentials, invalid recipient, business error): dead at once.

The network's answer is committed on the attempt the moment it arrives (`_hand_over`, one small
transaction), before the longer recording; a worker that dies in between leaves it there and the next
worker records it without sending again.  A worker killed after sending and before that commit does
send again, with the same idempotency key (fixed with the routing decision, from the invoice, the
channel and the document's SHA-256): Chorus Pro finds the invoice already deposited, Peppol access
points drop the repeated SBDH InstanceIdentifier.  E-mail has no such check: the repeated message
carries the same Message-ID, which mail systems and buyers can recognise, but SMTP cannot be asked
whether a message was accepted — that window, from the server's "250" to the hand-over commit, is the
residual risk of a second copy (see docs/delivery.md).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connectors import base as connectors
from connectors.base import Connector, ConnectorError, Envelope, Receipt, Recipient
from gateway.archive.service import Archive
from gateway.config import Config
from gateway.jobs import outbox, peppol_document
from gateway.jobs.models import (
    DEAD,
    INVOICE_SENT,
    INVOICE_UNDELIVERABLE,
    INVOICE_UNROUTABLE,
    OUTCOME_FAILED,
    OUTCOME_GAVE_UP,
    OUTCOME_REJECTED,
    OUTCOME_SENT,
    OUTCOME_UNROUTABLE,
    RETRYING,
    SANDBOX,
    SENT,
    UNROUTABLE,
    Delivery,
    DeliveryAttempt,
)
from gateway.jobs.settings import DOCUMENT_KINDS, DeliverySettings
from gateway.lifecycle import codes
from gateway.lifecycle import service as lifecycle
from gateway.lifecycle.events import StatusChange
from gateway.model.invoice import Invoice
from gateway.model.serialize import invoice_from_json
from gateway.observability import context as log_context
from gateway.routing.router import PEPPOL, Buyer, Context, Decision, PeppolLookup, route
from gateway.routing.settings import RoutingSettings
from gateway.store import models as db
from gateway.store.models import utcnow
from gateway.store.session import Database, unavailable
from gateway.texts import N_

log = logging.getLogger(__name__)

ACTOR = "gateway:delivery"
RECEIPT_KIND = "receipt"
ISSUED = "201"  # Émise par la plateforme
REJECTED = "213"  # Rejetée (by the receiving platform)
REJECTION_REASONS = {"chorus_pro": "REJ_CONT_B2G"}  # a network refusal that is the lifecycle status 213, with its reason
CANNOT_CARRY = {"peppol": {"facturx"}}  # a Factur-X PDF does not travel in a Peppol SBD
CONTENT_TYPES = {"facturx": "application/pdf", "ubl": "application/xml", "cii": "application/xml"}
EXTENSIONS = {"facturx": ".pdf", "ubl": "-ubl.xml", "cii": "-cii.xml"}
PEPPOL_UBL = peppol_document.DOCUMENT_KIND  # generated for Peppol when it is routed there, stored and archived with the invoice
ENVELOPE_KINDS = {PEPPOL_UBL: "ubl"}  # a stored document kind → the syntax a connector sees


class Unroutable(Exception):
    """Routing found no channel."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.reason)
        self.decision = decision


class OutcomeNotRecorded(Exception):
    """The database went away during a delivery: its outcome could not be recorded, and the claim is to be given back
    (`Deliverer.release`) once it answers, rather than left to its lease."""

    def __init__(self, claim: outbox.Claim) -> None:
        super().__init__(f"delivery {claim.delivery_id}: the database became unavailable before the outcome was recorded")
        self.claim = claim


@dataclass(frozen=True)
class Job:
    """What a worker read about a claimed delivery (no database objects: it outlives its session)."""

    delivery_id: str
    tenant_id: int
    tenant: str
    invoice_id: str
    invoice: Invoice  # the canonical invoice
    documents: dict[str, str]  # kind → SHA-256
    failures: int  # attempts since the last admin retry, this one included
    channel: str | None
    document_kind: str | None
    idempotency_key: str | None
    decision: dict[str, Any] | None
    handed_over: dict[str, Any] | None = None  # a receipt an interrupted attempt committed: record it, do not send again
    request_id: str | None = None  # the request that submitted the invoice, for the logs


def idempotency_key(invoice_id: str, channel: str, document_sha256: str) -> str:
    """Stable for one delivery (same invoice, channel and document bytes), whatever the number of attempts."""
    return hashlib.sha256(f"{invoice_id}\0{channel}\0{document_sha256}".encode()).hexdigest()[:40]


def receipt_to_dict(receipt: Receipt, at: datetime) -> dict[str, Any]:
    """A receipt as JSON values (the network's raw answer in base64), with the time it arrived."""
    return {
        "connector": receipt.connector,
        "remote_id": receipt.remote_id,
        "accepted": receipt.accepted,
        "message": receipt.message,
        "raw": base64.b64encode(receipt.raw).decode("ascii"),
        "time": at.isoformat(),
        "pending": receipt.pending,
    }


def receipt_from_dict(data: dict[str, Any]) -> Receipt:
    raw = base64.b64decode(data["raw"])
    return Receipt(data["connector"], data["remote_id"], bool(data["accepted"]), raw, data["message"], bool(data.get("pending")))


def receipt_record(delivery_id: str, invoice_id: str, key: str | None, receipt: dict[str, Any]) -> bytes:
    """The archived form of a receipt: canonical JSON, with the delivery, the invoice and the idempotency key."""
    record = {**receipt, "delivery": delivery_id, "invoice": invoice_id, "idempotency_key": key}
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def refusal_change(channel: str | None, receipt: Receipt, now: datetime) -> StatusChange | None:
    """The lifecycle status of a network's refusal after hand-over: 213 Rejetée where the network is a platform
    (Chorus Pro, reason REJ_CONT_B2G, its errors in the comment), else none."""
    if channel not in REJECTION_REASONS:
        return None
    comment = f"{channel} {receipt.remote_id}: {receipt.message}"
    return StatusChange(REJECTED, now, codes.PLATFORM, reason_code=REJECTION_REASONS[channel], comment=comment)


def build_envelope(job: Job, document: bytes) -> Envelope:
    """The envelope for the job's routed channel: the document, and the recipient data from the canonical invoice
    (BT-44 name, BT-46 SIRET, BT-10 service code, BT-13 legal commitment, e-mail, Peppol id) and the routing decision."""
    assert job.channel and job.document_kind and job.idempotency_key
    invoice = job.invoice
    kind = ENVELOPE_KINDS.get(job.document_kind, job.document_kind)
    buyer = Buyer.of(invoice)
    chosen = (job.decision or {}).get("recipient", {})
    transfers = invoice.payment.credit_transfers if invoice.payment else []
    recipient = Recipient(
        name=chosen.get("name") or buyer.name,
        siret=buyer.sirets[0] if buyer.sirets else None,
        service_code=invoice.buyer_reference,
        legal_commitment=invoice.purchase_order_reference,
        email=chosen.get("email") or buyer.email,
        peppol_id=chosen.get("peppol_id") or buyer.peppol_id(),
    )
    return Envelope(
        invoice_id=job.invoice_id,
        tenant=job.tenant,
        document=document,
        kind=kind,  # type: ignore[arg-type]
        content_type=CONTENT_TYPES[kind],
        filename=invoice.number + EXTENSIONS[kind],
        recipient=recipient,
        idempotency_key=job.idempotency_key,
        invoice_number=invoice.number,
        seller_name=invoice.seller.name,
        payment_means_code=invoice.payment.means_code if invoice.payment else None,
        payee_iban=transfers[0].account_id if transfers else None,
    )


class Deliverer:
    """Delivers claimed outbox rows for one gateway: its database, archive, routing and delivery settings, and connectors."""

    def __init__(self, database: Database, archive: Archive, config: Config) -> None:
        self.database = database
        self.archive = archive
        self.routing = RoutingSettings.from_section(config.sections.get("routing", {}))
        self.settings = DeliverySettings.from_section(config.sections.get("delivery", {}))
        self.sandbox_folder = config.data_dir / "sandbox"  # the sandbox's inbox unless [delivery.connectors.sandbox] folder says
        self._connectors: dict[tuple[str, str], Connector] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ connectors and documents

    def connector(self, tenant: str, channel: str) -> Connector:
        """The tenant's connector for `channel` (built once); a permanent ConnectorError when it is not configured or unusable."""
        with self._lock:
            if (tenant, channel) not in self._connectors:
                config = self.settings.connector_config(tenant, channel)
                if channel == SANDBOX:  # needs no settings: its inbox is the tenant's own folder
                    config = {"folder": str(self.sandbox_folder), **(config or {}), "tenant": tenant}
                if config is None:
                    why = N_("no {channel} connector is configured for tenant {tenant} ([delivery.connectors.{channel}] in config/routing.toml)")
                    raise ConnectorError(why.format(channel=channel, tenant=repr(tenant)), transient=False, code="not-configured")
                try:
                    self._connectors[tenant, channel] = connectors.get(channel, config)
                except (KeyError, ValueError, TypeError) as exc:
                    why = N_("the {channel} connector settings are unusable: {error}").format(channel=channel, error=exc)
                    raise ConnectorError(why, transient=False, code="config") from None
            return self._connectors[tenant, channel]

    def document_kind(self, job: Job, channel: str) -> str:
        """The configured document for `channel`, else the first other stored kind the channel can carry;
        UBL on Peppol is the Peppol UBL (BIS Billing 3.0 or the French CIUS) written for it."""
        preferred = self.settings.documents.get(channel, "facturx")
        for kind in (preferred, *DOCUMENT_KINDS):
            if kind in job.documents and kind not in CANNOT_CARRY.get(channel, ()):
                return PEPPOL_UBL if (channel, kind) == (PEPPOL, "ubl") else kind
        why = N_("invoice {invoice} has no document the {channel} channel can carry").format(invoice=job.invoice_id, channel=channel)
        raise ConnectorError(why, transient=False, code="no-document")

    def document(self, job: Job, kind: str) -> bytes:
        """The document to send: its signed copy when the gateway signed it (XAdES / PAdES), else as generated;
        the Peppol UBL not stored yet is written (unvalidated) to say what it will be (its document type, its hash)."""
        if kind == PEPPOL_UBL and kind not in job.documents:
            return peppol_document.write(job.invoice, self._peppol_profile(job.tenant))[1]
        return self.database.blobs.get(job.documents.get(f"{kind}-signed") or job.documents[kind])

    def _peppol_profile(self, tenant: str) -> str:
        from connectors.peppol import PeppolConnector

        connector = self.connector(tenant, PEPPOL)
        return connector.config.profile if isinstance(connector, PeppolConnector) else "auto"

    # ------------------------------------------------------------------ the work

    def release(self, claim: outbox.Claim) -> None:
        """Give back a claim whose outcome could not be recorded (`OutcomeNotRecorded`); raises while the database is still away."""
        with self.database.session() as session:
            if not outbox.release(session, claim):
                log.warning("delivery %s: the claim of %s was taken by another worker meanwhile", claim.delivery_id, claim.worker)

    def run_once(self, worker: str) -> bool:
        """Claim one due delivery and deliver it; False when nothing was due."""
        with self.database.session() as session:
            claim = outbox.claim(session, worker, self.settings.lease_seconds)
        if claim is None:
            return False
        self.process(claim)
        return True

    def process(self, claim: outbox.Claim) -> str:
        """Deliver a claimed row; the delivery's state afterwards ("lost" when the claim expired under this worker)."""
        with log_context.bound(delivery_id=claim.delivery_id):
            try:
                return self._process(claim)
            except Exception as exc:
                if unavailable(exc):  # nothing can be recorded now: the worker gives the claim back once the database answers
                    raise OutcomeNotRecorded(claim) from exc
                raise

    def _process(self, claim: outbox.Claim) -> str:
        try:
            job = self._load(claim)
            log_context.bind(invoice_id=job.invoice_id, tenant=job.tenant, request_id=job.request_id)  # undone by `process`
            if job.handed_over is None:
                if job.failures > self.settings.max_attempts:
                    return self._give_up(claim)
                job = self._send(claim, job)
            return self._received(claim, job)
        except Unroutable as exc:
            return self._unroutable(claim, exc.decision)
        except outbox.LostClaim as exc:  # another worker has the row now (it sends with the same key, or records the receipt)
            log.warning("%s", exc)
            return "lost"
        except ConnectorError as exc:
            return self._failed(claim, exc.message, exc.code, exc.transient)
        except Exception as exc:  # a bug or an unreadable document: retried (and dead-lettered) like a transient failure, never lost
            if unavailable(exc):
                raise
            log.exception("delivery %s failed unexpectedly", claim.delivery_id)
            return self._failed(claim, f"internal error: {exc.__class__.__name__}: {exc}", "internal", transient=True)

    def _send(self, claim: outbox.Claim, job: Job) -> Job:
        """Route (the first time), send, and commit the network's answer at once; the job with the receipt to record."""
        if job.channel is None:
            with self.database.sessionmaker() as session:
                decision = route(job.invoice, self._routing_context(session, job))
            if decision.channel is None:
                raise Unroutable(decision)
            job = self._store_route(claim, job, decision)
        assert job.channel and job.document_kind
        if job.document_kind == PEPPOL_UBL and PEPPOL_UBL not in job.documents:
            job = self._store_peppol_document(claim, job)
        receipt = self.connector(job.tenant, job.channel).send(build_envelope(job, self.document(job, job.document_kind)))
        return self._hand_over(claim, job, receipt)

    def _load(self, claim: outbox.Claim) -> Job:
        with self.database.session() as session:
            delivery = session.get(Delivery, claim.delivery_id)
            assert delivery is not None
            invoice = delivery.invoice
            documents = {d.kind: d.sha256 for d in invoice.documents}
            # An answer received but not recorded (its worker died, or the recording failed): record it, even after an admin retry.
            handed_over = [a.receipt for a in delivery.attempt_rows if a.receipt and a.outcome not in (OUTCOME_SENT, OUTCOME_REJECTED)]
            return Job(
                delivery_id=delivery.id,
                tenant_id=delivery.tenant_id,
                tenant=delivery.tenant.name,
                invoice_id=invoice.id,
                invoice=invoice_from_json(json.loads(self.database.blobs.get(documents["canonical"]))),
                documents=documents,
                failures=outbox.failures(delivery),
                channel=delivery.channel,
                document_kind=delivery.document_kind,
                idempotency_key=delivery.idempotency_key,
                decision=delivery.decision,
                handed_over=handed_over[-1] if handed_over else None,
                request_id=(invoice.events[0].detail or {}).get("request_id") if invoice.events else None,
            )

    def _routing_context(self, session: Session, job: Job) -> Context:
        configured = self.settings.configured(job.tenant)
        lookup = self._peppol_lookup(job) if PEPPOL in configured else None
        return Context(session, job.tenant_id, job.tenant, self.routing, configured, lookup)

    def _peppol_lookup(self, job: Job) -> PeppolLookup:
        """An SML/SMP look-up for the document type and process of the document Peppol would carry."""
        from connectors.peppol import PeppolConnector
        from connectors.peppol.document import describe

        def lookup(participant: Any) -> None:
            connector = self.connector(job.tenant, PEPPOL)
            assert isinstance(connector, PeppolConnector)
            kind = self.document_kind(job, PEPPOL)
            facts = describe(self.document(job, kind), ENVELOPE_KINDS.get(kind, kind))
            connector.discover(participant, facts.document_type, connector.process_for(facts))

        return lookup

    # ------------------------------------------------------------------ recording (each under the claim token)

    @contextmanager
    def _owned(self, claim: outbox.Claim) -> Iterator[tuple[Session, Delivery, DeliveryAttempt, db.Invoice]]:
        with self.database.session() as session:
            delivery = outbox.owned(session, claim)
            attempt = outbox.attempt_of(session, claim)
            invoice = session.get(db.Invoice, delivery.invoice_id)
            assert invoice is not None
            yield session, delivery, attempt, invoice

    @staticmethod
    def _close(attempt: DeliveryAttempt, now: datetime, outcome: str, **values: Any) -> None:
        attempt.finished_at, attempt.outcome = now, outcome
        for name, value in values.items():
            setattr(attempt, name, value)

    def _store_route(self, claim: outbox.Claim, job: Job, decision: Decision) -> Job:
        """Keep the decision, the document kind and the idempotency key with the delivery before anything is sent."""
        assert decision.channel is not None
        routed = replace(job, channel=decision.channel, decision=decision.to_dict())
        kind = self.document_kind(routed, decision.channel)
        digest = job.documents.get(kind) or hashlib.sha256(self.document(routed, kind)).hexdigest()
        routed = replace(routed, document_kind=kind, idempotency_key=idempotency_key(job.invoice_id, decision.channel, digest))
        with self._owned(claim) as (_, delivery, attempt, _invoice):
            delivery.channel, delivery.document_kind = routed.channel, routed.document_kind
            delivery.idempotency_key, delivery.decision = routed.idempotency_key, routed.decision
            attempt.channel = routed.channel
        return routed

    def _store_peppol_document(self, claim: outbox.Claim, job: Job) -> Job:
        """Write the Peppol UBL, validate it and keep it with the invoice's documents (archived); a fatal finding is a
        permanent failure naming the rules, and nothing is sent."""
        document = peppol_document.build(job.invoice, self._peppol_profile(job.tenant))
        if not document.report.valid:
            raise ConnectorError(document.refusal, transient=False, code="peppol-validation")
        with self._owned(claim) as (session, _delivery, _attempt, invoice):
            entry = self.archive.append(session, tenant_id=job.tenant_id, invoice_id=job.invoice_id, kind=PEPPOL_UBL, data=document.data)
            invoice.documents.append(db.Document(kind=PEPPOL_UBL, content_type=CONTENT_TYPES["ubl"], sha256=entry.content_sha256, size=entry.size))
        return replace(job, documents={**job.documents, PEPPOL_UBL: entry.content_sha256})

    def _unroutable(self, claim: outbox.Claim, decision: Decision) -> str:
        now = utcnow()
        with self._owned(claim) as (_, delivery, attempt, invoice):
            self._close(attempt, now, OUTCOME_UNROUTABLE, transient=False, error=decision.reason)
            outbox.finish(delivery, UNROUTABLE, now, decision=decision.to_dict(), last_error=decision.reason)
            invoice.state = INVOICE_UNROUTABLE
        log.warning("delivery %s: unroutable: %s", claim.delivery_id, "; ".join(s["detail"] for s in decision.to_dict()["steps"]))
        return UNROUTABLE

    def _failed(self, claim: outbox.Claim, message: str, code: str, transient: bool) -> str:
        now = utcnow()
        with self._owned(claim) as (_, delivery, attempt, invoice):
            self._close(attempt, now, OUTCOME_FAILED, transient=transient, error_code=code or None, error=message)
            if outbox.failed(delivery, now, message, transient=transient, settings=self.settings) == RETRYING:
                return RETRYING
            invoice.state = INVOICE_UNDELIVERABLE
        log.warning("delivery %s is a dead letter: %s", claim.delivery_id, delivery.last_error)
        return DEAD

    def _give_up(self, claim: outbox.Claim) -> str:
        """The attempt limit was reached without a recorded failure (its workers kept dying): dead letter."""
        now = utcnow()
        message = f"gave up after {self.settings.max_attempts} attempts, the last ones interrupted"
        with self._owned(claim) as (_, delivery, attempt, invoice):
            self._close(attempt, now, OUTCOME_GAVE_UP, transient=True, error=message)
            outbox.finish(delivery, DEAD, now, last_error=message)
            invoice.state = INVOICE_UNDELIVERABLE
        return DEAD

    def _hand_over(self, claim: outbox.Claim, job: Job, receipt: Receipt) -> Job:
        """Commit the network's answer on the attempt before anything else: the shortest window for a crash to resend."""
        answer = receipt_to_dict(receipt, utcnow())
        with self.database.session() as session:
            outbox.owned(session, claim)
            session.execute(
                update(DeliveryAttempt)
                .where(DeliveryAttempt.delivery_id == claim.delivery_id, DeliveryAttempt.number == claim.attempt)
                .values(receipt=answer, remote_id=receipt.remote_id),
                execution_options={"synchronize_session": False},
            )
        return replace(job, handed_over=answer)

    def _received(self, claim: outbox.Claim, job: Job) -> str:
        """Archive the receipt and move the lifecycle on: 201 when accepted, 213 when Chorus Pro refused the flow."""
        assert job.handed_over is not None
        receipt = receipt_from_dict(job.handed_over)
        now = utcnow()
        with self._owned(claim) as (session, delivery, attempt, invoice):
            detail = f"{job.channel} {receipt.remote_id}" + (f": {receipt.message}" if receipt.message else "")
            change = StatusChange(ISSUED, now, codes.PLATFORM, comment=detail) if receipt.accepted else refusal_change(job.channel, receipt, now)
            if change is not None:  # first: the lifecycle locks the invoice before the archive, as everywhere
                lifecycle.record(session, self.archive, invoice, change, source=lifecycle.SOURCE_GATEWAY, actor=ACTOR)
            record = receipt_record(job.delivery_id, job.invoice_id, job.idempotency_key, job.handed_over)
            self.archive.append(session, tenant_id=job.tenant_id, invoice_id=job.invoice_id, kind=RECEIPT_KIND, data=record)
            attempt.receipt, attempt.remote_id = job.handed_over, receipt.remote_id
            if receipt.accepted:
                self._close(attempt, now, OUTCOME_SENT)
                outbox.finish(delivery, SENT, now, remote_id=receipt.remote_id, sent_at=now, last_error=None)
                invoice.state = INVOICE_SENT
                log.info("delivery %s sent through %s: %s", claim.delivery_id, job.channel, detail)
                return SENT
            self._close(attempt, now, OUTCOME_REJECTED, transient=False, error_code="rejected", error=receipt.message)
            refused = N_("refused by {channel}: {message}").format(channel=job.channel, message=receipt.message)
            outbox.finish(delivery, DEAD, now, remote_id=receipt.remote_id, last_error=refused)
            invoice.state = INVOICE_UNDELIVERABLE
        log.warning("delivery %s refused by %s: %s", claim.delivery_id, job.channel, receipt.message)
        return DEAD

    def record_verdict(self, delivery_id: str, attempt: int, receipt: Receipt) -> str:
        """Record the network's final verdict on a sent delivery whose receipt was pending (Chorus Pro's deposit report
        read later): the attempt's receipt is replaced and archived; a refusal makes the delivery a dead letter (with the
        status 213 for Chorus Pro).  The delivery's state afterwards; nothing changes when another scheduler recorded it first."""
        now = utcnow()
        answer = receipt_to_dict(receipt, now)
        with self.database.session() as session:
            locked = session.execute(  # serialises two schedulers recording the same verdict
                update(Delivery).where(Delivery.id == delivery_id, Delivery.state == SENT).values(updated_at=now),
                execution_options={"synchronize_session": False},
            )
            if locked.rowcount != 1:
                return "changed"
            delivery = session.get(Delivery, delivery_id, populate_existing=True)
            row = session.scalar(
                select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id, DeliveryAttempt.number == attempt),
                execution_options={"populate_existing": True},
            )
            assert delivery is not None and row is not None
            if not (row.receipt or {}).get("pending"):
                return delivery.state
            invoice = session.get(db.Invoice, delivery.invoice_id)
            assert invoice is not None
            change = None if receipt.accepted else refusal_change(delivery.channel, receipt, now)
            if change is not None:
                lifecycle.record(session, self.archive, invoice, change, source=lifecycle.SOURCE_GATEWAY, actor=ACTOR)
            record = receipt_record(delivery.id, invoice.id, delivery.idempotency_key, answer)
            self.archive.append(session, tenant_id=delivery.tenant_id, invoice_id=invoice.id, kind=RECEIPT_KIND, data=record)
            row.receipt = answer
            if receipt.accepted:
                return SENT
            refused = N_("refused by {channel} after hand-over: {message}").format(channel=delivery.channel, message=receipt.message)
            outbox.finish(delivery, DEAD, now, last_error=refused)
            invoice.state = INVOICE_UNDELIVERABLE
        log.warning("delivery %s refused by %s after hand-over: %s", delivery_id, delivery.channel, receipt.message)
        return DEAD

"""The sandbox: a simulated recipient for a tenant that has no real channel yet.  Nothing leaves the gateway.

`send` files the document in the recipient's inbox, a folder on the gateway's disk (`<data>/sandbox/<tenant>/`
by default: the document as the buyer would get it, and a JSON record), and answers with a receipt, so the
invoice is issued (201) as through a real network.  `fetch_statuses` — the status polling the worker runs —
then plays back what a buyer's platform and the buyer would answer, `step_seconds` apart from the hand-over:

    +1 step  202 Reçue par la plateforme
    +2 steps 204 Prise en charge
    +3 steps 205 Approuvée, or 210 Refusée (reason TRANSAC_INC) when asked
    +4 steps 211 Paiement transmis (the amount due), when asked
    +5 steps 212 Encaissée (the amount due per VAT rate), when asked

What is asked is read from the invoice itself, as a buyer reads it: a note (BT-22) containing `SANDBOX:REFUSE`
gets 210, one containing `SANDBOX:PAY` gets 205 then 211 and 212; otherwise the `verdict` ("approve", the
default, or "refuse") and `pay` (false by default) settings decide.  The same invoice always gets the same answers.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from connectors.base import ConnectorError, Envelope, Receipt, StatusAmount, StatusUpdate
from gateway.errors import InputError
from gateway.formats.cii import read_cii
from gateway.formats.documents import read_document
from gateway.formats.ubl import read_ubl
from gateway.lifecycle.payments import Balance, due_of, full_payment
from gateway.model.invoice import Invoice

REFUSE_MARKER, PAY_MARKER = "SANDBOX:REFUSE", "SANDBOX:PAY"
VERDICTS = ("approve", "refuse")
REFUSAL_REASON = "TRANSAC_INC"  # Transaction inconnue: the simulated buyer knows of no such purchase
_KEYS = {"folder", "tenant", "step_seconds", "verdict", "pay"}
_EXTENSIONS = {"application/pdf": ".pdf"}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SandboxSettings:
    """`[delivery.connectors.sandbox]`: folder (the inbox; default <data>/sandbox), step_seconds (3), verdict, pay."""

    folder: Path
    tenant: str
    step_seconds: float = 3.0
    verdict: str = "approve"
    pay: bool = False

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> SandboxSettings:
        unknown = set(config) - _KEYS
        if unknown:
            raise ValueError(f"unknown sandbox setting(s) {', '.join(sorted(unknown))} (known: folder, step_seconds, verdict, pay)")
        step = config.get("step_seconds", cls.step_seconds)
        if isinstance(step, bool) or not isinstance(step, int | float) or step < 0:
            raise ValueError("sandbox step_seconds must be a number of seconds, 0 or more")
        if config.get("verdict", cls.verdict) not in VERDICTS:
            raise ValueError(f"sandbox verdict must be one of {', '.join(VERDICTS)}")
        if not isinstance(config.get("pay", False), bool):
            raise ValueError("sandbox pay must be true or false")
        return cls(Path(config["folder"]), str(config["tenant"]), float(step), config.get("verdict", cls.verdict), config.get("pay", False))

    @property
    def inbox(self) -> Path:
        """The tenant's inbox: a readable name and a hash that keeps tenants apart whatever their names."""
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", self.tenant).strip("-")[:40] or "tenant"
        return self.folder / f"{slug}-{hashlib.sha256(self.tenant.encode()).hexdigest()[:12]}"


def _read(document: bytes) -> Invoice:
    try:
        parsed = read_document(document)
    except InputError as exc:
        raise ConnectorError(f"the sandbox recipient cannot read the document: {exc}", transient=False, code="invalid-document") from None
    return read_cii(parsed.tree) if parsed.syntax == "cii" else read_ubl(parsed.tree)


def _asked(invoice: Invoice, settings: SandboxSettings) -> tuple[str, bool]:
    """(verdict, pay): the invoice's notes first, then the settings."""
    notes = " ".join(note.text for note in invoice.notes).upper()
    if REFUSE_MARKER in notes:
        return "refuse", False
    if PAY_MARKER in notes:
        return "approve", True
    return settings.verdict, settings.pay and settings.verdict == "approve"


class SandboxConnector:
    """Connector `sandbox`: delivers to a simulated recipient on disk and plays back its answers (see the module)."""

    name = "sandbox"

    def __init__(self, config: Mapping[str, Any], clock: Callable[[], datetime] = _now) -> None:
        self.settings = SandboxSettings.from_mapping(config)
        self.clock = clock

    def send(self, envelope: Envelope) -> Receipt:
        """File the document and its record in the inbox (again the same for a retry: same id, same first reception time)."""
        invoice = _read(envelope.document)
        verdict, pay = _asked(invoice, self.settings)
        remote_id = f"sandbox-{envelope.idempotency_key[:32]}"
        inbox = self.settings.inbox
        inbox.mkdir(parents=True, exist_ok=True)
        record_path = inbox / f"{remote_id}.json"
        earlier = json.loads(record_path.read_text("utf-8")) if record_path.exists() else {}
        due = due_of(invoice)
        record = {
            "remote_id": remote_id,
            "tenant": envelope.tenant,
            "invoice_id": envelope.invoice_id,
            "invoice_number": envelope.invoice_number,
            "received_at": earlier.get("received_at") or self.clock().isoformat(),
            "document": f"{remote_id}{_EXTENSIONS.get(envelope.content_type, '.xml')}",
            "verdict": verdict,
            "pay": pay,
            "currency": due.currency,
            "payment": [[str(rate), str(amount)] for rate, amount in full_payment(Balance(due, {})).items()] if pay else [],
        }
        _write(inbox / record["document"], envelope.document)
        data = json.dumps(record, ensure_ascii=False, indent=1).encode()
        _write(record_path, data)
        message = f"delivered to the sandbox's simulated recipient ({inbox}); nothing left the gateway"
        return Receipt(self.name, remote_id, accepted=True, raw=data, message=message)

    def fetch_statuses(self, since: datetime) -> list[StatusUpdate]:
        """The played-back statuses whose time has come (`since` ≤ time ≤ now), in the order of the cycle."""
        now, found = self.clock(), []
        inbox = self.settings.inbox
        for path in sorted(inbox.glob("sandbox-*.json")) if inbox.is_dir() else ():
            found += [update for update in playback(json.loads(path.read_text("utf-8")), self.settings.step_seconds) if since <= update.at <= now]
        return sorted(found, key=lambda update: update.at)

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "sandbox": True, "inbox": str(self.settings.inbox)}


def playback(record: Mapping[str, Any], step_seconds: float) -> list[StatusUpdate]:
    """What the simulated platform and buyer answer about one received invoice, each with its time."""
    start, step = datetime.fromisoformat(record["received_at"]), timedelta(seconds=step_seconds)
    remote_id, number = record["remote_id"], record["invoice_number"]

    def update(k: int, code: str, detail: str, **extra: Any) -> StatusUpdate:
        return StatusUpdate(remote_id, code, start + k * step, f"sandbox: {detail}", number, **extra)

    updates = [
        update(1, "202", "the simulated platform received the invoice"),
        update(2, "204", "the simulated buyer took the invoice in hand"),
    ]
    if record["verdict"] == "refuse":
        comment = f"the simulated buyer refused the invoice, as it asked ({REFUSE_MARKER} or verdict = refuse)"
        return [*updates, update(3, "210", comment, reason_code=REFUSAL_REASON)]
    updates.append(update(3, "205", "the simulated buyer approved the invoice"))
    if record["pay"] and record["payment"]:
        currency = record["currency"]
        collected = tuple(StatusAmount("MEN", Decimal(amount), currency, Decimal(rate)) for rate, amount in record["payment"])
        paid = StatusAmount("MPA", sum((a.amount for a in collected), Decimal(0)), currency)
        updates.append(update(4, "211", "the simulated buyer paid the amount due", amounts=(paid,)))
        updates.append(update(5, "212", "the amount due was collected from the simulated buyer", amounts=collected))
    return updates


def _write(path: Path, data: bytes) -> None:
    """Replace `path` whole (a reader never sees half a file)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)

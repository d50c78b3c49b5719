"""The 24-hour deadlines toward the PPF, and what is late.  Pure: events and transmissions in, deadlines out.

DSE-G §3.6.5: the issuer's platform sends the regulatory data (flow F1) within 24 h of the 200
Déposée status.  DSE-G §3.6.6: a platform sends each mandatory status it emits (200, 210, 212, 213;
flow F6) within 24 h of the status time.  Only statuses the gateway's side emitted and applied count:
a status received from another platform is that platform's to report, and a flagged one is not
reported at all.  Every outgoing invoice is taken as domestic B2B (international and B2C flows go
to e-reporting instead; the invoice row does not say which yet).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.lifecycle import codes

DELAY = timedelta(hours=24)
REGULATORY_DATA = "F1"
STATUS_REPORT = "F6"
DEPOSITED = "200"


@dataclass(frozen=True)
class Reportable:
    """An applied status the gateway's side emitted: what may owe the PPF something."""

    event_id: int
    invoice_id: str
    code: str
    time: datetime


@dataclass(frozen=True)
class Deadline:
    """One transmission owed to the PPF: what, for which status event, due when, and done when (None: not yet)."""

    kind: str  # REGULATORY_DATA or STATUS_REPORT
    invoice_id: str
    event_id: int
    code: str
    due: datetime
    done_at: datetime | None = None

    def late(self, now: datetime) -> bool:
        """Done after its due time, or not done and past it."""
        return (self.done_at or now) > self.due

    def to_dict(self, now: datetime) -> dict[str, object]:
        return {
            "kind": self.kind,
            "event": self.event_id,
            "status": self.code,
            "due": self.due.isoformat(),
            "done_at": self.done_at.isoformat() if self.done_at else None,
            "late": self.late(now),
        }


def owed(event: Reportable) -> tuple[str, ...]:
    """The transmissions a status owes the PPF: F1 and F6 for 200, F6 for the other mandatory statuses, none otherwise."""
    if event.code not in codes.MANDATORY:
        return ()
    return (REGULATORY_DATA, STATUS_REPORT) if event.code == DEPOSITED else (STATUS_REPORT,)


def deadlines(events: Iterable[Reportable], done: Mapping[tuple[int, str], datetime]) -> list[Deadline]:
    """Every deadline of `events`, with its transmission time from `done` ((event id, kind) → sent at)."""
    return [
        Deadline(kind, event.invoice_id, event.event_id, event.code, event.time + DELAY, done.get((event.event_id, kind)))
        for event in events
        for kind in owed(event)
    ]


def late(all_deadlines: Iterable[Deadline], now: datetime) -> list[Deadline]:
    """The deadlines missed at `now` (done late, or still not done past their due time), earliest due first."""
    return sorted((d for d in all_deadlines if d.late(now)), key=lambda d: (d.due, d.event_id, d.kind))

"""What a party to an invoice sets itself: its role on the invoice, the statuses its side may set, and who may emit what.

The tenant is the seller of its outgoing invoices and the buyer of its incoming ones.  The REST API
(an ERP) and the portal (a person) both set statuses for the tenant; they share these rules so that
neither lets a party set a status the reform gives to the other side.  The reform's own checks
(reasons, comments, amounts, transitions) stay in `machine`, applied by `service.record`.
"""

from __future__ import annotations

from gateway.errors import InputError
from gateway.lifecycle import codes
from gateway.lifecycle.events import StatusChange
from gateway.lifecycle.machine import FOLLOWS

ROLE_OF_DIRECTION = {"outgoing": codes.SELLER, "incoming": codes.BUYER}
DEFAULT_AMOUNT_TYPE = {"212": codes.COLLECTED, "211": codes.PAID}  # MDT-207 when the party gives none


class NotYourStatus(InputError):
    """A status the other side of the invoice sets (the seller's on an incoming invoice, the buyer's on an outgoing one)."""

    status = 403
    code = "forbidden"


def role_on(direction: str) -> str:
    """The tenant's role (UNCL 3035) on an invoice of this direction."""
    return ROLE_OF_DIRECTION[direction]


def settable(direction: str, current: str | None = None) -> list[codes.Status]:
    """The statuses the tenant's side sets on an invoice of `direction`; with `current`, only those that may follow it."""
    role = role_on(direction)
    return [
        status for code in codes.PARTY_STATUSES if role in (status := codes.status(code)).emitters and (current is None or current in FOLLOWS[code])
    ]


def check_emitter(change: StatusChange, direction: str) -> None:
    """Refuse (`NotYourStatus`) a change the tenant's side of an invoice of `direction` may not emit."""
    status = codes.status(change.code)
    if change.role not in status.emitters:
        emitters = " or ".join(codes.ROLES[role] for role in sorted(status.emitters))
        raise NotYourStatus(
            f"{status.code} {status.label} is set by the {emitters}; on this {direction} invoice you are the {codes.ROLES[change.role]}.", "/code"
        )

"""The lifecycle state machine: given the invoice's current status and a change, decide.  Pure: no I/O.

Three outcomes:
- **applied**: a valid change that may follow the current status; it becomes the invoice's status
  (a side note — factoring, payee account, 224–228 — is applied without moving the invoice along the cycle);
- **flagged**: a valid change that may not follow the current status (after the end of the invoice's
  life, out of order, repeated, or not allowed there); it is recorded and shown, never applied;
- **refused**: the change itself breaks the reform's rules (unknown code, wrong emitter, missing or
  disallowed reason, missing comment, 212 without its amounts per VAT rate); nothing is recorded.

No transition matrix is published (REGULATION §1.3): `FOLLOWS` is the gateway's reading of the
nominal cycle 200 → 201 → 202 → 203 → 204 → 205 → 211 → 212 and its branches.  Optional statuses
may be skipped (a platform may never send 202 or 204), never gone back to; 210, 213 and 220 end the
invoice's life; 208 ↔ 209 may loop; 211 and 212 may repeat (partial payments) and need an invoice that was
delivered (201 or later: an invoice only deposited has not reached its buyer); 209 answers a 208.
A 213 DOUBLON arriving once the invoice was received (202 or later) rejects a second transmission
of it (a retry), not the invoice itself: it is flagged (DESIGN pitfall 7).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from gateway.lifecycle import codes
from gateway.lifecycle.events import Amount, StatusChange
from gateway.texts import N_

Outcome = Literal["applied", "flagged", "refused"]

_DEPOSITED = frozenset({"200", "201", "202", "203"})  # on its way to the buyer
_DECIDED = frozenset({"204", "205", "206", "207", "208", "209", "214"})  # in the buyer's hands
_PAID = frozenset({"211", "212"})
_DELIVERED = _DEPOSITED - {"200"}  # issued to the buyer's side (201) or further
_LIVE = _DEPOSITED | _DECIDED | _PAID | {"221"}  # every status of an invoice still alive
_RECEIVED = _LIVE - {"200", "201", "221"}  # the receiver's platform has it
DUPLICATE = "DOUBLON"

# For each status, the statuses it may follow (None: it is the first status known of the invoice).
FOLLOWS: dict[str, frozenset[str | None]] = {
    "200": frozenset({None}),
    "201": frozenset({"200", "221"}),  # 201 again after a routing error: sent to the right platform
    "202": frozenset({None, "200", "201"}),  # None: a received invoice starts at 202
    "203": frozenset({"200", "201", "202"}),
    "204": _DEPOSITED,
    **{code: (_DEPOSITED | _DECIDED) - {code} for code in ("205", "206", "207", "208", "214")},
    "209": frozenset({"208"}),
    "210": _DEPOSITED | _DECIDED,
    **dict.fromkeys(_PAID, _DELIVERED | _DECIDED | _PAID),  # a payment follows the invoice's delivery, never its mere deposit
    "213": frozenset({None, "200", "201", "202", "221"}),  # by the issuer's platform (instead of 200) or the receiver's
    "220": _LIVE,
    "221": frozenset({"201", "202"}),
    **{code: _LIVE for code, status in codes.STATUSES.items() if status.side},
}

# Position in the cycle, to tell a change that comes back (out of order) from one that jumps (not allowed).
_RANK: dict[str | None, int] = {
    None: 0,
    "200": 1,
    "201": 2,
    "221": 2,
    "202": 3,
    "213": 3,
    "203": 4,
    "204": 5,
    **dict.fromkeys(_DECIDED - {"204"} | {"210"}, 6),
    **dict.fromkeys(_PAID, 7),
}


@dataclass(frozen=True)
class Decision:
    """What to do with a change: the outcome, the invoice's status afterwards, and why when not applied."""

    outcome: Outcome
    status: str | None  # the invoice's lifecycle status after the change
    why: str | None = None

    @property
    def applied(self) -> bool:
        return self.outcome == "applied"


def _name(code: str | None) -> str:
    return f"{code} {codes.label(code)}" if code else N_("no status")


def _amount_problems(amount: Amount) -> list[str]:
    problems = []
    if amount.type_code not in codes.AMOUNT_TYPES:
        problems.append(
            N_("unknown amount type {code} (MDT-207: {known})").format(code=repr(amount.type_code), known=", ".join(sorted(codes.AMOUNT_TYPES)))
        )
    if amount.amount is not None:
        if not amount.amount.is_finite() or amount.amount.adjusted() >= codes.AMOUNT_MAX_INTEGER_DIGITS:
            problems.append(
                N_("amount {amount} is out of range (at most {digits} integer digits)").format(
                    amount=amount.amount, digits=codes.AMOUNT_MAX_INTEGER_DIGITS
                )
            )
        elif -amount.amount.as_tuple().exponent > codes.AMOUNT_MAX_DECIMALS:  # type: ignore[operator]
            problems.append(
                N_("amount {amount} has more than {decimals} decimals (A7 G7.07)").format(amount=amount.amount, decimals=codes.AMOUNT_MAX_DECIMALS)
            )
        if not amount.currency:
            problems.append(N_("amount {amount} has no currency").format(amount=amount.amount))
    if amount.vat_rate is not None and not (amount.vat_rate.is_finite() and 0 <= amount.vat_rate <= 100):
        problems.append(N_("VAT rate {rate} is not a percentage").format(rate=amount.vat_rate))
    return problems


def _collected_problems(change: StatusChange) -> list[str]:
    """212 Encaissée: the amount collected split by VAT rate, one MEN amount per rate (A7 G7.45, BR-FR-CDV-14)."""
    collected = [a for a in change.amounts if a.type_code == codes.COLLECTED]
    if not collected:
        return [N_("212 Encaissée needs the amount collected split by VAT rate (MEN amounts with their VAT rate)")]
    needs_both = N_("collected amount {amount} needs both an amount and a VAT rate")
    problems = [needs_both.format(amount=a.amount) for a in collected if a.amount is None or a.vat_rate is None]
    rates = [a.vat_rate for a in collected if a.vat_rate is not None]
    twice = N_("VAT rate {rate} appears twice among the collected amounts")
    problems += [twice.format(rate=rate) for rate in sorted(set(rates)) if rates.count(rate) > 1]
    total = sum((a.amount for a in collected if a.amount is not None), Decimal(0))
    if total < 0 and not (change.comment or "").strip():
        problems.append(N_("a negative collected amount (a disbursement) needs a comment giving the reason (A7 P1.15)"))
    return problems


def problems(change: StatusChange) -> list[str]:
    """What makes the change itself invalid under the reform's rules, whatever the invoice's status."""
    status = codes.STATUSES.get(change.code)
    if status is None:
        return [N_("unknown status code {code}").format(code=repr(change.code))]
    name = _name(change.code)
    found = []
    if change.role not in status.emitters:
        allowed = " or ".join(codes.ROLES[role] for role in sorted(status.emitters))
        found.append(
            N_("{status} is set by the {allowed}, not by the {role}").format(
                status=name, allowed=allowed, role=codes.ROLES.get(change.role, change.role)
            )
        )
    if change.at.tzinfo is None:
        found.append(N_("the status time needs its time zone"))
    if change.reason_code is None:
        if status.needs_reason:
            found.append(N_("{status} needs a reason code (MDT-113)").format(status=name))
    elif change.reason_code not in codes.REASONS:
        found.append(N_("unknown reason code {code}").format(code=repr(change.reason_code)))
    elif status.reasons is not None and change.reason_code not in status.reasons:
        found.append(
            N_("reason {code} is not allowed for {status} (allowed: {allowed})").format(
                code=change.reason_code, status=name, allowed=", ".join(sorted(status.reasons))
            )
        )
    if status.needs_comment and not (change.comment or "").strip():
        found.append(N_("{status} needs a comment (MDT-126)").format(status=name))
    if change.action_code is not None and change.action_code not in codes.ACTIONS:
        found.append(N_("unknown requested action {code} (MDT-121: {known})").format(code=repr(change.action_code), known=", ".join(codes.ACTIONS)))
    for amount in change.amounts:
        found += _amount_problems(amount)
    if status.needs_amounts:
        found += _collected_problems(change)
    return found


def joined(problems: list[str]) -> str:
    """Several problems in one stored text, each still recognised by the portal's translation."""
    return problems[0] if len(problems) == 1 else N_("{first}; {rest}").format(first=problems[0], rest=joined(problems[1:]))


def _not_following(current: str | None, code: str) -> str:
    """Why `code` may not follow `current`."""
    name = _name(code)
    if current in codes.TERMINAL:
        return N_("the invoice's life ended with {current}: {status} cannot follow").format(current=_name(current), status=name)
    if current is None:
        return N_("{status} cannot be the first status of an invoice (200 Déposée, 202 Reçue par la plateforme or 213 Rejetée can)").format(
            status=name
        )
    if current == code:
        return N_("{status} is already the invoice's status").format(status=name)
    if code in _PAID and current == "200":
        return N_("{status} needs an invoice that was delivered (201 Émise par la plateforme or later): this one is only {current}").format(
            status=name, current=_name(current)
        )
    if current not in codes.STATUSES:
        return N_("the invoice's status {current} is not a lifecycle status").format(current=repr(current))
    if _RANK.get(code, 99) < _RANK.get(current, 0):
        return N_("{status} comes before {current} in the cycle: received out of order").format(status=name, current=_name(current))
    return N_("{status} cannot follow {current}").format(status=name, current=_name(current))


def next_status(current: str | None, change: StatusChange) -> Decision:
    """Decide on `change` for an invoice whose lifecycle status is `current` (None: no status yet)."""
    found = problems(change)
    if found:
        return Decision("refused", current, joined(found))
    if change.code == "213" and change.reason_code == DUPLICATE and current in _RECEIVED:
        return Decision(
            "flagged",
            current,
            N_("213 Rejetée for {reason} after {current}: a second transmission was rejected, not this invoice").format(
                reason=DUPLICATE, current=_name(current)
            ),
        )
    if current not in FOLLOWS[change.code]:
        return Decision("flagged", current, _not_following(current, change.code))
    return Decision("applied", current if codes.STATUSES[change.code].side else change.code)

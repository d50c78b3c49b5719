"""A person's side of matching: the review queue, the lines matched lately, and the decisions on a line.

The API and the portal both call this module, so a decision means the same wherever it is taken: confirm a line
against one or several open invoices (several is a split of the line, allocated in the order given), reject a
candidate (never proposed again), dismiss a line that pays no invoice (with why), undo an applied match (its effects
reversed as new events) or a dismissal.  A line a person
decided is `decided`: no automatic run touches it again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from gateway.archive.service import Archive
from gateway.payments import effects
from gateway.payments import models as pm
from gateway.payments.matching import Settings
from gateway.store import models as db
from gateway.texts import N_

QUEUE_LIMIT = 100
MAX_REASON = 200  # characters of a dismissal's reason


class DecisionRefused(Exception):
    """A decision that cannot be taken on the line as it is now: `code` says why (already_matched, dismissed, not_matched, invalid_decision)."""

    def __init__(self, code: str, template: str, **values: object) -> None:
        self.code = code
        self.message = template.format(**values)  # a marked template filled in: the portal shows it translated
        super().__init__(self.message)


@dataclass(frozen=True)
class Candidate:
    """One proposal of the engine for a line in review: the invoices it would pay (several for a grouped payment)."""

    rule: str
    score: float
    evidence: dict
    invoices: tuple[tuple[db.Invoice, Decimal], ...]  # each invoice and the amount the proposal allocates to it


@dataclass(frozen=True)
class Reviewed:
    line: pm.BankLine
    candidates: tuple[Candidate, ...]


def _candidates(session: Session, line: pm.BankLine) -> tuple[Candidate, ...]:
    """The line's proposed matches, one candidate per proposal (its matches share rule, score and evidence), best first."""
    grouped: dict[tuple, list[pm.PaymentMatch]] = {}
    for match in line.matches:
        if match.state == pm.PROPOSED:
            grouped.setdefault((match.rule, match.score, repr(sorted(match.evidence.items()))), []).append(match)
    candidates = []
    for matches in grouped.values():
        invoices = tuple((invoice, m.amount) for m in matches if (invoice := session.get(db.Invoice, m.invoice_id)) is not None)
        candidates.append(Candidate(matches[0].rule, matches[0].score, matches[0].evidence, invoices))
    return tuple(sorted(candidates, key=lambda c: -c.score))


def _waits(tenant_id: int) -> tuple:
    """A credit line waits for a person: in review, recognised in nothing, or decided and then undone (no match applied)."""
    applied = select(pm.PaymentMatch.id).where(pm.PaymentMatch.line_id == pm.BankLine.id, pm.PaymentMatch.state == pm.APPLIED)
    undone = and_(pm.BankLine.state == pm.DECIDED, ~applied.exists())
    return (pm.BankLine.tenant_id == tenant_id, or_(pm.BankLine.state.in_((pm.REVIEW, pm.UNMATCHED)), undone), pm.BankLine.amount > 0)


def queue(session: Session, tenant_id: int, limit: int = QUEUE_LIMIT) -> list[Reviewed]:
    """Credit lines waiting for a person, oldest booking first: those with candidates, then those the engine recognised nothing in."""
    query = (
        select(pm.BankLine)
        .where(*_waits(tenant_id))
        .order_by(case((pm.BankLine.state == pm.REVIEW, 0), else_=1), pm.BankLine.booking_date, pm.BankLine.id)
        .limit(limit)
    )
    return [Reviewed(line, _candidates(session, line)) for line in session.scalars(query)]


def waiting(session: Session, tenant_id: int) -> int:
    """How many credit lines wait for a person."""
    return session.scalar(select(func.count()).select_from(pm.BankLine).where(*_waits(tenant_id))) or 0


def dismissed(session: Session, tenant_id: int, limit: int = QUEUE_LIMIT) -> list[pm.BankLine]:
    """Lines a person set aside as paying no invoice, newest first: where the decision is undone."""
    query = select(pm.BankLine).where(pm.BankLine.tenant_id == tenant_id, pm.BankLine.state == pm.DISMISSED)
    return list(session.scalars(query.order_by(pm.BankLine.id.desc()).limit(limit)))


def recent(session: Session, tenant_id: int, limit: int = QUEUE_LIMIT) -> list[tuple[pm.BankLine, list[tuple[pm.PaymentMatch, db.Invoice]]]]:
    """Lines with an applied match, newest first, with the invoices they pay: where a person undoes a wrong match."""
    query = (
        select(pm.BankLine)
        .where(pm.BankLine.tenant_id == tenant_id, pm.BankLine.state.in_((pm.MATCHED, pm.DECIDED)))
        .order_by(pm.BankLine.id.desc())
        .limit(limit)
    )
    shown = []
    for line in session.scalars(query):
        applied = [(m, invoice) for m in line.matches if m.state == pm.APPLIED and (invoice := session.get(db.Invoice, m.invoice_id))]
        if applied:
            shown.append((line, applied))
    return shown


def typed_numbers(text: str) -> list[str]:
    """Invoice numbers a person typed, separated by commas, semicolons or new lines."""
    return [n.strip() for n in re.split(r"[,;\n]", text) if n.strip()]


def open_invoice_ids(session: Session, tenant_id: int, numbers: list[str]) -> list[str]:
    """The ids of the tenant's outgoing invoices with these numbers, in the order given (a person types them); an unknown one is refused by name."""
    ids = []
    for number in numbers:
        found = session.scalars(
            select(db.Invoice.id).where(db.Invoice.tenant_id == tenant_id, db.Invoice.direction == "outgoing", db.Invoice.number == number)
        ).all()
        if len(found) != 1:
            why = N_("No invoice is numbered {number}.") if not found else N_("Several invoices are numbered {number}.")
            raise DecisionRefused("invalid_decision", why, number=number)
        ids.append(found[0])
    return ids


def _still_open(line: pm.BankLine) -> None:
    """A line already matched or set aside takes no other decision until that one is undone."""
    if any(m.state == pm.APPLIED for m in line.matches):
        raise DecisionRefused("already_matched", N_("Bank line {line} is matched: undo it first."), line=line.id)
    if line.state == pm.DISMISSED:
        raise DecisionRefused("dismissed", N_("Bank line {line} is set aside as paying no invoice: undo that first."), line=line.id)


def confirm(session: Session, archive: Archive, line: pm.BankLine, invoice_ids: list[str], *, actor: str) -> None:
    """The line pays these invoices (a split when several): applied at once, the person's from now on."""
    _still_open(line)
    if not invoice_ids or len(set(invoice_ids)) != len(invoice_ids):
        raise DecisionRefused("invalid_decision", N_("Name each invoice the line pays once."))
    if line.amount <= 0:
        raise DecisionRefused("invalid_decision", N_("Bank line {line} is a debit: it pays no invoice."), line=line.id)
    try:
        effects.confirm(session, archive, line, invoice_ids, actor=actor, settings=Settings())
    except effects.NotOpen as exc:
        why = N_("Invoice {number} is not open: unknown, another organisation's, or paid.")
        raise DecisionRefused("invalid_decision", why, number=exc.number) from None


def reject(session: Session, line: pm.BankLine, invoice_id: str, *, actor: str) -> None:
    """The line does not pay this invoice: the pair is never proposed again."""
    invoice = session.get(db.Invoice, invoice_id)
    if invoice is None or invoice.tenant_id != line.tenant_id:
        raise DecisionRefused("invalid_decision", N_("reject: an invoice id of yours."))
    effects.reject(session, line, invoice_id, actor=actor)


def dismiss(session: Session, line: pm.BankLine, reason: str, *, actor: str) -> None:
    """The line pays no invoice (bank interest, a refund, a transfer between accounts): out of the queue, with why."""
    reason = " ".join(reason.split())
    if not reason or len(reason) > MAX_REASON:
        raise DecisionRefused("invalid_decision", N_("Say in at most {limit} characters why the line pays no invoice."), limit=MAX_REASON)
    _still_open(line)
    for proposed in [m for m in line.matches if m.state == pm.PROPOSED]:
        proposed.state = pm.UNDONE
    line.state, line.dismissal, line.dismissed_by = pm.DISMISSED, reason, actor
    session.flush()


def undo(session: Session, archive: Archive, line: pm.BankLine, *, actor: str) -> None:
    """Undo the person's or the engine's decision on the line: a match (its invoices due again, the 212 given back) or a
    dismissal.  The line then waits for the person again, and no automatic run matches it behind their back."""
    if line.state == pm.DISMISSED:
        line.state, line.dismissal, line.dismissed_by = pm.DECIDED, None, None
        session.flush()
        return
    applied = [m for m in line.matches if m.state == pm.APPLIED]
    if not applied:
        raise DecisionRefused("not_matched", N_("Bank line {line} has no applied match to undo."), line=line.id)
    effects.undo(session, archive, applied[0], actor=actor)

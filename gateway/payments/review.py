"""A person's side of matching: the review queue, the lines matched lately, and the decisions on a line.

The API and the portal both call this module, so a decision means the same wherever it is taken: confirm a line
against one or several open invoices (several is a split of the line, allocated in the order given), reject a
candidate (never proposed again), undo an applied match (its effects reversed as new events).  A line a person
decided is `decided`: no automatic run touches it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from gateway.archive.service import Archive
from gateway.payments import effects
from gateway.payments import models as pm
from gateway.payments.matching import Settings
from gateway.store import models as db
from gateway.texts import N_

QUEUE_LIMIT = 100


class DecisionRefused(Exception):
    """A decision that cannot be taken on the line as it is now: `code` says why (already_matched, not_matched, invalid_decision)."""

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


def queue(session: Session, tenant_id: int, limit: int = QUEUE_LIMIT) -> list[Reviewed]:
    """Credit lines waiting for a person, oldest booking first: those with candidates, then those the engine recognised nothing in."""
    query = (
        select(pm.BankLine)
        .where(pm.BankLine.tenant_id == tenant_id, pm.BankLine.state.in_((pm.REVIEW, pm.UNMATCHED)), pm.BankLine.amount > 0)
        .order_by(case((pm.BankLine.state == pm.REVIEW, 0), else_=1), pm.BankLine.booking_date, pm.BankLine.id)
        .limit(limit)
    )
    return [Reviewed(line, _candidates(session, line)) for line in session.scalars(query)]


def waiting(session: Session, tenant_id: int) -> int:
    """How many credit lines wait for a person."""
    waits = (pm.BankLine.tenant_id == tenant_id, pm.BankLine.state.in_((pm.REVIEW, pm.UNMATCHED)), pm.BankLine.amount > 0)
    return session.scalar(select(func.count()).select_from(pm.BankLine).where(*waits)) or 0


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


def confirm(session: Session, archive: Archive, line: pm.BankLine, invoice_ids: list[str], *, actor: str) -> None:
    """The line pays these invoices (a split when several): applied at once, the person's from now on."""
    if any(m.state == pm.APPLIED for m in line.matches):
        raise DecisionRefused("already_matched", N_("Bank line {line} is matched: undo it first."), line=line.id)
    if not invoice_ids or len(set(invoice_ids)) != len(invoice_ids):
        raise DecisionRefused("invalid_decision", N_("Name each invoice the line pays once."))
    if line.amount <= 0:
        raise DecisionRefused("invalid_decision", N_("Bank line {line} is a debit: it pays no invoice."), line=line.id)
    try:
        effects.confirm(session, archive, line, invoice_ids, actor=actor, tolerance=Settings().tolerance)
    except effects.NotOpen as exc:
        why = N_("Invoice {number} is not open: unknown, another organisation's, or paid.")
        raise DecisionRefused("invalid_decision", why, number=exc.number) from None


def reject(session: Session, line: pm.BankLine, invoice_id: str, *, actor: str) -> None:
    """The line does not pay this invoice: the pair is never proposed again."""
    invoice = session.get(db.Invoice, invoice_id)
    if invoice is None or invoice.tenant_id != line.tenant_id:
        raise DecisionRefused("invalid_decision", N_("reject: an invoice id of yours."))
    effects.reject(session, line, invoice_id, actor=actor)


def undo(session: Session, archive: Archive, line: pm.BankLine, *, actor: str) -> None:
    """Undo the line's applied match: the invoices it paid are due again, the 212 it settled given back."""
    applied = [m for m in line.matches if m.state == pm.APPLIED]
    if not applied:
        raise DecisionRefused("not_matched", N_("Bank line {line} has no applied match to undo."), line=line.id)
    effects.undo(session, archive, applied[0], actor=actor)

"""Importing statements and applying matches in the store: one transaction per import, effects through the lifecycle service.

An import archives the file's exact bytes, adds the lines not seen before (by fingerprint) and runs the engine on them.
Two overlapping imports at once: the second to insert a line meets the unique fingerprint and is retried once, when the
first has committed, and then skips it — each line is stored, and matched, once.  An invoice fully paid gets its 212
Encaissée (the amounts still due per VAT rate) when the lifecycle allows it (a delivered invoice); undoing the match
records a 212 giving the amounts back (a disbursement), nothing deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.archive.service import Archive
from gateway.model.invoice import CREDIT_NOTE_TYPE_CODES
from gateway.payments import camt, swift
from gateway.payments import models as pm
from gateway.payments.discounts import discounts
from gateway.payments.effects import apply, new_match
from gateway.payments.matching import BankLineView, Book, OpenItem, Settings, buyer_key, decide, propose
from gateway.payments.parsed import Statement, UnsupportedStatement
from gateway.store import models as db
from gateway.store.session import Database

ZERO = Decimal("0.00")
MAX_STATEMENT_BYTES = 50 * 1024 * 1024  # one file, in the API and the portal
STATEMENT_KIND = "bank-statement"  # archive kind of an imported file


def parse(data: bytes) -> list[Statement]:
    """The statements of a file, its format detected (camt.053/054 by namespace, else MT940)."""
    if camt.is_camt(data):
        return camt.parse(data)
    if swift.is_mt940(data):
        return swift.parse(data)
    raise UnsupportedStatement("Not a camt.053 / camt.054 (001.02–001.08) or MT940 statement.", "/")


@dataclass(frozen=True)
class Imported:
    statements: list[pm.BankStatement]
    new_lines: list[pm.BankLine]
    skipped: int  # lines already imported


def import_file(database: Database, archive: Archive, tenant_id: int, data: bytes, settings: Settings | None = None) -> Imported:
    """Parse, store and match `data` in one transaction (nothing imported if it fails); retried once after a concurrent import."""
    statements = parse(data)  # before any write: a malformed file imports nothing
    for attempt in (1, 2):
        try:
            with database.session() as session:
                result = _store(session, archive, tenant_id, data, statements)
                run(session, archive, tenant_id, result.new_lines, settings or Settings())
                return result
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _store(session: Session, archive: Archive, tenant_id: int, data: bytes, statements: list[Statement]) -> Imported:
    digest = archive.append(session, tenant_id=tenant_id, invoice_id=None, kind=STATEMENT_KIND, data=data).content_sha256
    rows, new, skipped = [], [], 0
    for parsed in statements:
        row = session.scalar(
            select(pm.BankStatement).where(
                pm.BankStatement.tenant_id == tenant_id, pm.BankStatement.account == parsed.account, pm.BankStatement.statement_ref == parsed.ref
            )
        )
        if row is None:
            row = pm.BankStatement(
                tenant_id=tenant_id, format=parsed.format, statement_ref=parsed.ref, account=parsed.account, sha256=digest, size=len(data)
            )
            session.add(row)
            session.flush()
        rows.append(row)
        prints = {line.fingerprint(parsed.account): line for line in parsed.lines}
        known = set(session.scalars(select(pm.BankLine.fingerprint).where(pm.BankLine.tenant_id == tenant_id, pm.BankLine.fingerprint.in_(prints))))
        skipped += len(known)
        for fingerprint, line in prints.items():
            if fingerprint in known:
                continue
            values = {k: getattr(line, k) for k in ("position", "amount", "currency", "booking_date", "value_date", "bank_ref", "end_to_end_id")}
            extra = {k: getattr(line, k) for k in ("creditor_ref", "remittance", "payer_name", "payer_iban")}
            bank_line = pm.BankLine(tenant_id=tenant_id, statement_id=row.id, fingerprint=fingerprint, account=parsed.account, **values, **extra)
            session.add(bank_line)
            new.append(bank_line)
        skipped += len(parsed.lines) - len(prints)  # the same line twice in one file
    session.flush()
    return Imported(rows, new, skipped)


# ---------------------------------------------------------------------------- the book


def book(session: Session, tenant_id: int) -> Book:
    """The tenant's outgoing invoices still due and credit notes still to net (read only, the columns the engine
    needs), what the engine learned (payer accounts, names, number prefixes) and the pairs a person rejected."""
    columns = (db.Invoice.id, db.Invoice.number, db.Invoice.erp_reference, db.Invoice.buyer_siren, db.Invoice.buyer_name)
    amounts = (db.Invoice.amount_due, db.Invoice.tax_inclusive_amount, db.Invoice.currency, db.Invoice.type_code)
    terms = (db.Invoice.issue_date, db.Invoice.payment_terms)
    invoices = session.execute(
        select(*columns, *amounts, *terms)
        .where(db.Invoice.tenant_id == tenant_id, db.Invoice.direction == "outgoing", db.Invoice.state != db.STATE_REJECTED)
        .order_by(db.Invoice.issue_date, db.Invoice.number)
    ).all()
    paid: dict[str, Decimal] = {}
    settled = (pm.PaymentMatch.invoice_id, pm.PaymentMatch.amount, pm.PaymentMatch.written_off, pm.PaymentMatch.discount)
    applied = select(*settled).where(pm.PaymentMatch.tenant_id == tenant_id, pm.PaymentMatch.state == pm.APPLIED)
    for invoice_id, amount, written_off, discount in session.execute(applied):
        paid[invoice_id] = paid.get(invoice_id, ZERO) + amount + written_off + discount
    items, credits, keys = [], [], {}  # a buyer's key folded once, not once per invoice
    for invoice_id, number, erp_reference, siren, name, amount_due, total, currency, type_code, issued, payment_terms in invoices:
        credit = type_code in CREDIT_NOTE_TYPE_CODES  # netted by negative matches: what is left of it to net
        left = (amount_due if amount_due is not None else total or ZERO) + (1 if credit else -1) * paid.get(invoice_id, ZERO)
        if left > 0:
            key = keys.get((siren, name)) or keys.setdefault((siren, name), buyer_key(siren, name))
            tiers = () if credit or invoice_id in paid else discounts(payment_terms)  # a discount is for paying it all at once
            (credits if credit else items).append(OpenItem(invoice_id, number, erp_reference, key, name, left, currency, issued, tiers))
    payers: dict[str, set[str]] = {}
    for iban, key in session.execute(select(pm.PayerAccount.iban, pm.PayerAccount.buyer_key).where(pm.PayerAccount.tenant_id == tenant_id)):
        payers.setdefault(iban, set()).add(key)
    rejected = {
        (line_id, invoice_id)
        for line_id, invoice_id in session.execute(
            select(pm.PaymentMatch.line_id, pm.PaymentMatch.invoice_id).where(
                pm.PaymentMatch.tenant_id == tenant_id, pm.PaymentMatch.state == pm.REJECTED
            )
        )
    }
    hints: dict[str, dict[str, set[str]]] = {pm.PAYER_NAME: {}, pm.NUMBER_PREFIX: {}}
    query = select(pm.PaymentHint.kind, pm.PaymentHint.value, pm.PaymentHint.buyer_key).where(pm.PaymentHint.tenant_id == tenant_id)
    for kind, value, key in session.execute(query):
        hints.setdefault(kind, {}).setdefault(value, set()).add(key)
    return Book(items, payers, rejected, credits, hints[pm.PAYER_NAME], hints[pm.NUMBER_PREFIX])


def _view(line: pm.BankLine) -> BankLineView:
    paid_on = line.value_date or line.booking_date
    return BankLineView(
        line.id, line.amount, line.currency, line.end_to_end_id, line.creditor_ref, line.remittance, line.payer_name, line.payer_iban, paid_on
    )  # fmt: skip


def run(session: Session, archive: Archive, tenant_id: int, lines: list[pm.BankLine] | None = None, settings: Settings | None = None) -> None:
    """Match `lines` (default: every line not matched nor decided by a person): apply the best above the threshold, else propose."""
    settings = settings or Settings()
    if lines is None:
        lines = list(session.scalars(select(pm.BankLine).where(pm.BankLine.tenant_id == tenant_id, pm.BankLine.state.in_((pm.UNMATCHED, pm.REVIEW)))))
    current = book(session, tenant_id)
    for line in lines:
        if line.state in (pm.MATCHED, pm.DECIDED, pm.DISMISSED):
            continue  # a person's decision, or an applied match, is never redone
        for stale in line.matches:
            if stale.state == pm.PROPOSED:
                stale.state = pm.UNDONE
        proposals = propose(current, _view(line), settings)
        chosen = decide(proposals, settings)
        if chosen is not None:
            apply(session, archive, line, chosen, decided_by=pm.AUTOMATIC)
            current.applied(chosen, line.payer_iban)
        else:
            for proposal in proposals[:3]:
                for allocation in proposal.allocations:
                    new_match(line, proposal, allocation, pm.PROPOSED, pm.AUTOMATIC)
            line.state = pm.REVIEW if proposals else pm.UNMATCHED
    session.flush()

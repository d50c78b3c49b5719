"""Payment tables: imported bank statements and their lines, the matches of lines to invoices, what the engine learned
(payer accounts, and from people's decisions payer names and how buyers write numbers).

Only this domain writes these tables; invoices are read, and their lifecycle changes go through gateway.lifecycle.service.
A bank line is stored once per tenant (`fingerprint`: the account and the bank's reference of the line, else a hash of its
content), so the same statement or an overlapping one imported again adds nothing.  A match is never deleted: undoing it
marks it `undone` and reverses its effects as new events.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.store.models import Amount, Base, JSONType, UTCDateTime, new_id, utcnow

# BankLine.state; `dismissed`: a person said it pays no invoice (interest, a refund), with why
UNMATCHED, MATCHED, REVIEW, DECIDED, DISMISSED = "unmatched", "matched", "review", "decided", "dismissed"
# PaymentMatch.state
APPLIED, PROPOSED, REJECTED, UNDONE = "applied", "proposed", "rejected", "undone"
AUTOMATIC = "engine"  # PaymentMatch.decided_by of the matching engine; a person's is "person:<who>"


class BankStatement(Base):
    """One imported statement (or notification): its format, the bank's id and account, the exact bytes archived by SHA-256."""

    __tablename__ = "bank_statements"
    __table_args__ = (UniqueConstraint("tenant_id", "account", "statement_ref"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    format: Mapped[str] = mapped_column(String(32))  # camt.053.001.08, camt.054.001.02, mt940
    statement_ref: Mapped[str] = mapped_column(Text)  # camt Stmt/Id, MT940 :20: (+ :28C:)
    account: Mapped[str] = mapped_column(Text)  # IBAN or the bank's account identification
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[BankLine]] = relationship(back_populates="statement", order_by="BankLine.id")


class BankLine(Base):
    """One credit or debit on the account (a camt entry or transaction detail, an MT940 :61: with its :86:)."""

    __tablename__ = "bank_lines"
    __table_args__ = (UniqueConstraint("tenant_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    statement_id: Mapped[str] = mapped_column(ForeignKey("bank_statements.id"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    position: Mapped[str] = mapped_column(Text)  # where it is in its file: "Stmt[1]/Ntry[3]/NtryDtls/TxDtls[2]", "line 14"
    account: Mapped[str] = mapped_column(Text)
    booking_date: Mapped[date | None] = mapped_column(Date)
    value_date: Mapped[date | None] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Amount)  # signed: a credit (money received) is positive
    currency: Mapped[str] = mapped_column(String(3))
    bank_ref: Mapped[str | None] = mapped_column(Text)
    end_to_end_id: Mapped[str | None] = mapped_column(Text)
    creditor_ref: Mapped[str | None] = mapped_column(Text)  # structured remittance: RF… (ISO 11649) or another scheme
    remittance: Mapped[str | None] = mapped_column(Text)  # unstructured remittance information
    payer_name: Mapped[str | None] = mapped_column(Text)
    payer_iban: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=UNMATCHED)
    dismissal: Mapped[str | None] = mapped_column(Text)  # why a person set it aside (state dismissed)
    dismissed_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    statement: Mapped[BankStatement] = relationship(back_populates="lines")
    matches: Mapped[list[PaymentMatch]] = relationship(back_populates="line", order_by="PaymentMatch.id")


class PaymentMatch(Base):
    """A bank line allocated to an invoice (applied), or proposed for review, with the rule, score and evidence that made it."""

    __tablename__ = "payment_matches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("bank_lines.id"), index=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Amount)  # what the line pays on this invoice
    written_off: Mapped[Decimal] = mapped_column(Amount, default=Decimal("0.00"))  # bank fees / small difference within tolerance
    discount: Mapped[Decimal] = mapped_column(Amount, default=Decimal("0.00"), server_default="0")  # early-payment discount granted
    rule: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType)
    state: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str] = mapped_column(Text, default=AUTOMATIC)
    status_event_id: Mapped[int | None] = mapped_column(ForeignKey("status_events.id"))  # the 212 it recorded
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    line: Mapped[BankLine] = relationship(back_populates="matches")


class PayerAccount(Base):
    """A payer's IBAN seen on a confirmed match, and the buyer it paid for: the engine recognises the payer next time."""

    __tablename__ = "payer_accounts"
    __table_args__ = (UniqueConstraint("tenant_id", "iban", "buyer_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    iban: Mapped[str] = mapped_column(String(34))
    buyer_key: Mapped[str] = mapped_column(Text)  # the buyer's SIREN, else its name folded
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# PaymentHint.kind
PAYER_NAME, NUMBER_PREFIX = "payer_name", "number_prefix"


class PaymentHint(Base):
    """What a person's decision taught the engine besides an IBAN: a payer's name (folded) that stands for a buyer, or
    the way a buyer writes invoice numbers (the letters and signs before the number's last digits: "F26/" for "F26/45")."""

    __tablename__ = "payment_hints"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "value", "buyer_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(Text)
    buyer_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

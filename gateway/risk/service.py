"""Assessing an incoming invoice when it is received: its facts checked against its supplier's history, the findings
and the level stored, the invoice added to the history (its IBAN trusted only when nothing was wrong with it).

The reception calls `assess` in its own transaction, for the invoices it accepts (a rejected one never joins the
history); the API, the portal and the webhooks read `assessment_of` / `assessment_json`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.model.invoice import Invoice
from gateway.risk.checks import History, Thresholds, check, level
from gateway.risk.facts import Facts, facts_of
from gateway.risk.models import RiskAssessment, RiskObservation
from gateway.store import models as db

UNTRUSTED = {"iban_changed", "invalid_iban", "invalid_identifier"}  # an IBAN not learnt until a person looked at it


def history(session: Session, tenant_id: int, supplier: str) -> History:
    """The supplier's earlier incoming invoices, in their order of issue."""
    found = History()
    query = select(RiskObservation).where(RiskObservation.tenant_id == tenant_id, RiskObservation.supplier == supplier)
    for row in session.scalars(query.order_by(RiskObservation.issue_date, RiskObservation.invoice_id)):
        facts = Facts(row.supplier, "", row.number, row.issue_date, row.total, "", row.credit_note, row.iban, row.document_sha256,
                      None, None, (), None, row.address)  # fmt: skip
        found.learn(facts, row.trusted_iban)
    return found


def assess(session: Session, invoice: db.Invoice, canonical: Invoice, document_sha256: str | None,
           thresholds: Thresholds | None = None) -> RiskAssessment:  # fmt: skip
    facts = facts_of(canonical, invoice.seller_siren, document_sha256)
    earlier = history(session, invoice.tenant_id, facts.supplier)
    findings = check(facts, earlier)
    score, routed = level(findings, len(earlier.numbers), thresholds)
    session.add(
        RiskObservation(
            invoice_id=invoice.id, tenant_id=invoice.tenant_id, supplier=facts.supplier, number=facts.number, issue_date=facts.issue_date,
            total=facts.total, credit_note=facts.credit_note, iban=facts.iban, document_sha256=document_sha256,
            trusted_iban=not any(f.kind in UNTRUSTED for f in findings), address=facts.address,
        )
    )  # fmt: skip
    assessment = RiskAssessment(invoice_id=invoice.id, tenant_id=invoice.tenant_id, score=score, level=routed,
                                findings=[f.to_json() for f in findings])  # fmt: skip
    session.add(assessment)
    session.flush()
    return assessment


def assessment_of(session: Session, invoice_id: str) -> RiskAssessment | None:
    return session.get(RiskAssessment, invoice_id)


def assessment_json(assessment: RiskAssessment) -> dict[str, Any]:
    return {"level": assessment.level, "score": assessment.score, "findings": assessment.findings,
            "assessed_at": assessment.assessed_at.isoformat()}  # fmt: skip

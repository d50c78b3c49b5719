"""Assessing an incoming invoice when it is received: its facts checked against its supplier's history, the findings
and the level stored, the invoice added to the history (its IBAN trusted only when nothing was wrong with it).

The reception calls `assess` in its own transaction, for the invoices it accepts (a rejected one never joins the
history); the API, the portal and the webhooks read `assessment_of` / `assessment_json`.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.model.invoice import Invoice
from gateway.risk.checks import History, Thresholds, check, level
from gateway.risk.facts import Facts, facts_of
from gateway.risk.models import RiskAssessment, RiskObservation, RiskSettings
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


class SettingsError(ValueError):
    """Thresholds refused: `problems` lists (JSON pointer, what is wrong)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{pointer}: {message}" for pointer, message in problems))
        self.problems = problems


def thresholds_of(session: Session, tenant_id: int) -> Thresholds:
    row = session.get(RiskSettings, tenant_id)
    return Thresholds(row.hold, row.normal, row.known_after) if row is not None else Thresholds()


def set_thresholds(session: Session, tenant_id: int, data: Any) -> Thresholds:
    """Store the tenant's thresholds from JSON (`hold`, `normal`, `known_after`, each optional: the default where absent)."""
    if not isinstance(data, dict):
        raise SettingsError([("", "an object with hold, normal and known_after")])
    defaults = asdict(Thresholds())
    problems = [(f"/{name}", "not a setting: hold, normal, known_after") for name in sorted(set(data) - set(defaults))]
    values = {**defaults, **{k: v for k, v in data.items() if k in defaults}}
    for name, value in values.items():
        if not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100):
            problems.append((f"/{name}", "a whole number from 0 to 100"))
    if not problems and values["normal"] > values["hold"]:
        problems.append(("/normal", f"at most hold ({values['hold']}): an invoice cannot need review above the score that holds it"))
    if problems:
        raise SettingsError(problems)
    row = session.get(RiskSettings, tenant_id) or RiskSettings(tenant_id=tenant_id)
    row.hold, row.normal, row.known_after = values["hold"], values["normal"], values["known_after"]
    session.add(row)
    session.flush()
    return Thresholds(**values)


def assess(session: Session, invoice: db.Invoice, canonical: Invoice, document_sha256: str | None) -> RiskAssessment:
    """Check the invoice against its supplier's history, under its tenant's thresholds; store the assessment and the observation."""
    facts = facts_of(canonical, invoice.seller_siren, document_sha256)
    earlier = history(session, invoice.tenant_id, facts.supplier)
    findings = check(facts, earlier)
    score, routed = level(findings, len(earlier.numbers), thresholds_of(session, invoice.tenant_id))
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

"""An outgoing invoice's page shows its dunning history: each tier with its date, amounts, channels and state, the
letter of the formal notice to open, in French and in English; another tenant's letter is not found."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import date, timedelta

from gateway import intake
from gateway.dunning import service
from gateway.dunning.channels import Mailer
from gateway.dunning.settings import DunningSettings
from gateway.portal.auth import create_user
from gateway.portal.models import COMPLIANCE_OFFICER
from gateway.store.tenants import create_tenant
from tests.portal.conftest import PASSWORD, example, sign_in
from tests.portal.test_payments import text

DUE = date(2026, 9, 15)
POLICY = {
    "tiers": [
        {"name": "rappel", "days": 7, "channels": ["webhook"], "tone": "friendly"},
        {"name": "mise-en-demeure", "days": 30, "channels": ["letter", "webhook"], "tone": "formal_notice"},
    ]
}


def words(response) -> str:
    """The page's words as a reader sees them: tags dropped, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text(response)))


def test_the_invoice_page_shows_its_reminders_and_the_letter(portal_app, gateway_config, world):
    database, archive = portal_app.extensions["gateway.database"], portal_app.extensions["gateway.archive"]
    tag = uuid.uuid4().hex[:8]
    with database.session() as session:
        tenant = create_tenant(session, f"dunning-{tag}")
        email = create_user(session, tenant, f"credit-{tag}@example.test", COMPLIANCE_OFFICER, PASSWORD).email
        invoice_id = intake.submit_json(
            session, archive, tenant, example("invoice-fr-b2b", f"R{tag}", issue_date="2026-09-01", due_date=DUE.isoformat())
        ).id
        service.set_policy(session, tenant.id, POLICY)
        tenant_id = tenant.id
    mailer, settings = Mailer(replace(gateway_config, sections={})), DunningSettings()
    for offset in (7, 30):
        service.run(database, archive, mailer, settings, DUE + timedelta(days=offset), tenant_id=tenant_id)
    client = portal_app.test_client()
    assert sign_in(client, email).status_code == 302
    page = words(client.get(f"/portal/invoices/{invoice_id}"))
    assert "Relances" in page and "2 relances" in page
    assert "Mise en demeure de payer : facture R" + tag in page and "Rappel : facture R" + tag in page
    assert "courrier (PDF), webhook" in page and "au taux annuel de 8,28 %" in page and "40,00 €" in page
    with database.session() as session:
        [letter_id] = [r.id for r in service.reminders_of(session, invoice_id) if r.letter_sha256]
    letter = client.get(f"/portal/invoices/{invoice_id}/reminders/{letter_id}/letter")
    assert letter.status_code == 200 and letter.mimetype == "application/pdf" and letter.data.startswith(b"%PDF")
    client.get("/portal/language/en")
    page = words(client.get(f"/portal/invoices/{invoice_id}"))
    assert "Reminders" in page and "2 reminders" in page and "letter (PDF), webhook" in page and "at 8.28 % a year" in page
    other = portal_app.test_client()
    assert sign_in(other, world.users[COMPLIANCE_OFFICER]).status_code == 302
    assert other.get(f"/portal/invoices/{invoice_id}/reminders/{letter_id}/letter").status_code == 404

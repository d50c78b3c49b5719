"""The invoice page of an incoming invoice shows its anomaly and fraud checks, in French and in English: the level,
and each finding in the reader's words with its evidence (here a changed IBAN, held)."""

from __future__ import annotations

import uuid

from gateway.portal.auth import create_user
from gateway.portal.models import COMPLIANCE_OFFICER
from gateway.reception.service import receive
from gateway.store.tenants import create_tenant
from tests.portal.conftest import PASSWORD, sign_in
from tests.portal.test_reminders import words
from tests.risk.test_reception import CHANGED_IBAN, _ubl


def test_a_held_invoice_says_why(portal_app):
    database, archive = portal_app.extensions["gateway.database"], portal_app.extensions["gateway.archive"]
    tag = uuid.uuid4().hex[:6].upper()
    with database.session() as session:
        tenant = create_tenant(session, f"risk-{tag}")
        email = create_user(session, tenant, f"ap-{tag}@example.test", COMPLIANCE_OFFICER, PASSWORD).email
        ids = [receive(session, archive, tenant, _ubl(f"R{tag}-{n}", str(n + 1)), "application/xml", channel="api").invoice.id for n in range(4)]
        held = receive(session, archive, tenant, _ubl(f"R{tag}-9", "9", iban=CHANGED_IBAN), "application/xml", channel="api").invoice.id
    client = portal_app.test_client()
    assert sign_in(client, email).status_code == 302
    page = words(client.get(f"/portal/invoices/{held}"))
    assert "Contrôles d’anomalies et de fraude" in page and "en attente : à vérifier avant paiement · score 60" in page
    assert f"Le paiement est demandé sur {CHANGED_IBAN}" in page and "FR7630006000011234567890189" in page
    assert "Rien d’inhabituel" in words(client.get(f"/portal/invoices/{ids[3]}"))
    client.get("/portal/language/en")
    page = words(client.get(f"/portal/invoices/{held}"))
    assert "Anomaly and fraud checks" in page and "on hold: check before paying" in page and f"Payment is asked to {CHANGED_IBAN}" in page

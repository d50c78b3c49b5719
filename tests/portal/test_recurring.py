"""The portal's recurring-invoices page: the tenant's schedules with their occurrences by state and the next one, the
failed occurrences with why, in French and in English; another tenant's schedules are not shown."""

from __future__ import annotations

import uuid
from datetime import date

from gateway import intake
from gateway.portal.auth import create_user
from gateway.portal.models import COMPLIANCE_OFFICER
from gateway.recurring import service
from gateway.store.tenants import create_tenant
from tests.portal.conftest import PASSWORD, example, sign_in
from tests.portal.test_reminders import words
from tests.recurring.helpers import schedule


def test_the_page_lists_schedules_and_what_failed(portal_app, world):
    database, archive = portal_app.extensions["gateway.database"], portal_app.extensions["gateway.archive"]
    tag = uuid.uuid4().hex[:6].upper()
    with database.session() as session:
        tenant = create_tenant(session, f"recurring-{tag}")
        email = create_user(session, tenant, f"ar-{tag}@example.test", COMPLIANCE_OFFICER, PASSWORD).email
        intake.submit_json(session, archive, tenant, example("invoice-fr-b2b", f"D{tag}-000001", issue_date="2026-03-01"))  # the ERP took it
        service.create(session, archive, tenant.id, schedule(f"M{tag}", "monthly", "2026-01-01", name="Maintenance mensuelle"))
        service.create(session, archive, tenant.id, schedule(f"D{tag}", "quarterly", "2026-03-01", name="Contrat trimestriel"))
        tenant_id = tenant.id
    service.run(database, archive, None, date(2026, 3, 1), tenant_id=tenant_id)
    client = portal_app.test_client()
    assert sign_in(client, email).status_code == 302
    page = words(client.get("/portal/recurring"))
    assert "Factures récurrentes" in page and "2 échéanciers" in page and "À traiter" in page
    assert "Maintenance mensuelle" in page and "depuis le 01/01/2026" in page and "Contrat trimestriel" in page
    assert f"D{tag}-000001" in page and "already" in page  # the refusal, as the intake said it
    client.get("/portal/language/en")
    page = words(client.get("/portal/recurring"))
    assert "Recurring invoices" in page and "2 schedules" in page and "Needs attention" in page and "from 1 Jan 2026" in page
    other = portal_app.test_client()
    assert sign_in(other, world.users[COMPLIANCE_OFFICER]).status_code == 302
    assert "Maintenance mensuelle" not in words(other.get("/portal/recurring"))

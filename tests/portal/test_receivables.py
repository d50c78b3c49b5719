"""The portal's receivables page, on the history of tests/receivables (told through the real API and dunning runs): the
KPIs, the aging and forecast charts and the tables — through the test client, then drawn in headless Chromium, in
French and in English (screenshots in var/screenshots/)."""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import replace
from decimal import Decimal

import pytest
from werkzeug.serving import make_server

from gateway.dunning.channels import Mailer
from gateway.dunning.settings import DunningSettings
from gateway.portal import i18n
from gateway.portal.auth import create_user
from gateway.portal.models import COMPLIANCE_OFFICER
from gateway.store import models as db
from tests.api.conftest import Api, new_tenant_key
from tests.dunning.conftest import smtp  # noqa: F401  (the loopback SMTP server the reminders go to)
from tests.portal.conftest import PASSWORD, sign_in
from tests.portal.test_browser import LAPTOP, PHONE, _shot, _sign_in, browser  # noqa: F401  (the same Chromium)
from tests.portal.test_reminders import words
from tests.receivables.history import AS_OF, BUYERS, tell

PAGE = f"/portal/receivables?as_of={AS_OF.isoformat()}"


def _flat(text: str) -> str:
    """`text` as `words` shows it: its spaces (the amounts' narrow no-break ones too) as plain spaces."""
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def told(portal_app, gateway_config, smtp):  # noqa: F811
    """A tenant with the history, and a compliance officer of it; its API's aging for the figures to expect."""
    api = Api(portal_app, new_tenant_key(portal_app))
    mailer = Mailer(replace(gateway_config, sections={"delivery": {"connectors": {"email": smtp.client_config(smtp.ca_file)}}}))
    tenant_id = tell(api, portal_app.extensions["gateway.database"], portal_app.extensions["gateway.archive"], mailer, DunningSettings())
    with portal_app.extensions["gateway.database"].session() as session:
        email = create_user(session, session.get(db.Tenant, tenant_id), f"ar-{uuid.uuid4().hex[:8]}@example.test", COMPLIANCE_OFFICER, PASSWORD).email
    return email, api.get(f"/api/v1/receivables/aging?as_of={AS_OF.isoformat()}").get_json()


def test_the_page_shows_the_api_figures_in_both_languages(portal_app, told, world):
    email, aging = told
    client = portal_app.test_client()
    assert sign_in(client, email).status_code == 302
    page = words(client.get(PAGE))
    owed = _flat(i18n.format_amount(Decimal(aging["total"]["total"]), "EUR", "fr"))
    assert "Créances clients" in page and owed in page and "Plus de 90 jours" in page and "Prévision de trésorerie" in page
    assert all(name in page for _, name in BUYERS) and "Risque client" in page and "Efficacité des relances" in page
    client.get("/portal/language/en")
    page = words(client.get(PAGE))
    assert "Receivables" in page and _flat(i18n.format_amount(Decimal(aging["total"]["total"]), "EUR", "en")) in page and "Over 90 days" in page
    assert "Some values could not be read" in words(client.get("/portal/receivables?as_of=31/07/2026&currency=euro"))
    other = portal_app.test_client()
    assert sign_in(other, world.users[COMPLIANCE_OFFICER]).status_code == 302
    assert not any(name in words(other.get(PAGE)) for _, name in BUYERS[1:])


def test_the_charts_render_in_chromium(browser, portal_app, told):  # noqa: F811
    email, aging = told
    server = make_server("127.0.0.1", 0, portal_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        context, page = _sign_in(browser, base, email, LAPTOP)
        page.goto(base + PAGE)
        assert page.locator("html").get_attribute("lang") == "fr"
        assert page.locator("h1").inner_text() == "Créances clients"
        assert page.locator("#kpi-owed").inner_text() == i18n.format_amount(Decimal(aging["total"]["total"]), "EUR", "fr")
        assert page.locator("#aging-chart rect").count() == 5 and page.locator("#forecast-chart rect").count() == 13
        assert page.locator("#forecast-chart line.whisker").count() >= 1
        box = page.locator("#forecast-chart").bounding_box()
        assert box is not None and box["width"] > 600 and box["height"] > 100  # drawn, at the card's width
        assert page.locator("#aging-table tbody tr").count() == len(aging["buyers"]) == 3
        assert page.locator("#risk-table tbody tr").count() == 3
        _shot(page, "receivables-fr")
        page.locator("#aging-table").get_by_role("link", name="Hôtel Dupont SAS").click()  # the buyer's invoices
        page.wait_for_url("**/portal/invoices?**")
        assert page.locator("#invoice-table tbody tr").count() == 4  # RCV-06 to RCV-09
        page.goto(base + PAGE)
        page.locator(".langs a[hreflang=en]").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "en" and page.locator("h1").inner_text() == "Receivables"
        assert page.locator("#kpi-owed").inner_text() == i18n.format_amount(Decimal(aging["total"]["total"]), "EUR", "en")
        assert "Over 90 days" in page.locator("#aging").inner_text() and page.locator("#forecast-chart rect").count() == 13
        _shot(page, "receivables-en")
        context.close()
        context, page = _sign_in(browser, base, email, PHONE)
        page.goto(base + PAGE)
        assert page.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways on a phone"
        _shot(page, "receivables-phone-fr")
        context.close()
    finally:
        server.shutdown()

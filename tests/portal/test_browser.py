"""End to end in headless Chromium (Debian's `chromium`, driven by Playwright): what a compliance officer and an operator do.

The gateway runs on 127.0.0.1 in a thread (werkzeug), on a fresh SQLite database with real
invoices.  Screenshots of every page (laptop and tablet sizes) are written to var/screenshots/
(not committed; the path is printed).  Without Chromium or Playwright the tests skip, unless CI=true.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from gateway import intake
from gateway.app import create_app
from gateway.config import Config
from gateway.jobs.models import Delivery
from gateway.portal.models import ADMINISTRATOR, COMPLIANCE_OFFICER, OPERATOR
from gateway.store import models as db
from gateway.store.session import upgrade
from gateway.store.tenants import get_tenant
from tests.conftest import LOOPBACK_WEBHOOKS
from tests.payments.conftest import AMOUNT, camt_entry, camt_statement
from tests.portal.conftest import DELIVERY_ERROR, PASSWORD, example, failed_notification, kill_delivery, populate, receive_invoice

CHROMIUM = os.environ.get("GATEWAY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
LAPTOP = {"width": 1366, "height": 900}
TABLET = {"width": 820, "height": 1180}
PHONE = {"width": 390, "height": 844}


def _missing_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright)"
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _missing_browser()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def site(tmp_path_factory):
    """A gateway on a loopback port with tenant A's invoices (one signed checkpoint covering them) and tenant B's: a new one
    per test, since each journey changes it (retries, receptions, checkpoints) and tests run in any order."""
    data_dir = tmp_path_factory.mktemp("portal-browser")
    config = Config(data_dir=data_dir, config_dir=data_dir / "no-config", sections={"webhooks": LOOPBACK_WEBHOOKS})
    upgrade(config)
    app = create_app(config)
    world = populate(app)
    with app.extensions["gateway.database"].session() as session:
        app.extensions["gateway.archive"].checkpoint(session)
        kill_delivery(session, world.invoices["credit"])  # one delivery in the dead-letter queue
        for name, days in (("valid", 3), ("credit", 9), ("usd", 16)):  # received on different days: a chart with several bars
            session.get(db.Invoice, world.invoices[name]).created_at -= timedelta(days=days)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\nportal screenshots: {SCREENSHOTS}")
    yield f"http://127.0.0.1:{server.server_port}", world, app
    server.shutdown()
    app.extensions["gateway.database"].dispose()


def _sign_in(browser, base: str, email: str, viewport=LAPTOP):
    context = browser.new_context(viewport=viewport, accept_downloads=True, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{base}/portal/")
    assert page.url.startswith(f"{base}/portal/sign-in")
    _shot(page, f"sign-in-{viewport['width']}")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/portal/")
    return context, page


def _shot(page, name: str) -> None:
    if page.locator("object.pdf-frame").count():
        page.wait_for_timeout(1500)  # let the PDF viewer draw the Factur-X page
    page.evaluate("window.scrollTo(0, 0)")  # a full-page shot scrolled down would draw the sticky section menu mid-page
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_compliance_officer_journey(browser, site):
    base, world, app = site
    context, page = _sign_in(browser, base, world.users[COMPLIANCE_OFFICER])
    # Dashboard: French by default, figures of tenant A only, the chart, the rejection rules.
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("#kpi-total").inner_text() == "4"
    assert page.locator("#kpi-rejection").inner_text().replace("\u00a0", " ") == "25,0 %"
    assert "BR-CO-15" in page.locator("#top-rules").inner_text()
    assert "Pas encore routée" in page.locator("#by-channel").inner_text()
    assert page.locator("svg.chart rect.bar-accepted").count() >= 1
    assert page.get_by_role("link", name="Opérations").count() == 0  # hidden from a compliance officer
    _shot(page, "dashboard-fr")

    # List: filter on the rejected status; one invoice remains.
    page.get_by_role("link", name="Factures", exact=True).click()
    assert page.locator("#invoice-table tbody tr").count() == 4
    assert world.numbers["other"] not in page.content()
    _shot(page, "invoices-fr")
    page.get_by_label("Statut").select_option("rejected")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url(re.compile(r".*status=rejected.*"))
    rows = page.locator("#invoice-table tbody tr")
    assert rows.count() == 1 and world.numbers["wrong_total"] in rows.inner_text()

    # Invoice page: timeline, validation report with the business term in plain words.
    rows.get_by_role("link", name=world.numbers["wrong_total"]).click()
    page.wait_for_url(f"{base}/portal/invoices/{world.invoices['wrong_total']}")
    timeline = page.locator("#timeline").inner_text()
    assert "Rejetée aux contrôles de dépôt" in timeline and "Passerelle — contrôles de dépôt" in timeline
    findings = page.locator("#findings").inner_text()
    assert "BR-CO-15" in findings and "BT-112" in findings and "Montant total TVA comprise" in findings
    _shot(page, "invoice-rejected-fr")

    # The valid invoice: download its Factur-X, verify its archive proof.
    page.goto(f"{base}/portal/invoices/{world.invoices['valid']}")
    assert "Déposée" in page.locator("#timeline").inner_text()
    with page.expect_download() as download:
        page.locator("#download-facturx").click()
    assert download.value.suggested_filename.endswith("-facturx.pdf")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
    page.locator("#verify-archive").click()
    page.wait_for_url(re.compile(r".*/verify#archive$"))
    assert "Vérifié." in page.locator("#verify-result").inner_text()
    assert page.locator("#archive-entries").get_by_text("✓ intacte").count() == page.locator("#archive-entries tbody tr").count()
    _shot(page, "invoice-verified-fr")

    # English, on the same page.
    page.locator(".langs a[hreflang=en]").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Verified." in page.locator("#verify-result").inner_text()
    assert "€" in page.locator("#amount-due").inner_text() and page.locator("#amount-due").inner_text().startswith("€")
    _shot(page, "invoice-verified-en")
    page.get_by_role("link", name="Dashboard").click()
    _shot(page, "dashboard-en")

    # Another tenant's invoice does not exist for this user.
    response = page.goto(f"{base}/portal/invoices/{world.invoices['other']}")
    assert response.status == 404 and "This page does not exist" in page.content()

    # A compliance officer cannot act: no Retry button on a dead delivery, no Operations page, and forged POSTs are refused.
    page.goto(f"{base}/portal/invoices/{world.invoices['credit']}")
    assert DELIVERY_ERROR in page.locator("#deliveries").inner_text()
    assert page.locator(".retry-delivery").count() == 0
    assert page.goto(f"{base}/portal/operations").status == 403
    token = page.goto(f"{base}/portal/").ok and page.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = context.request.post(f"{base}/portal/operations/checkpoint", form={"csrf_token": token})
    assert refused.status == 403
    with app.extensions["gateway.database"].session() as session:
        delivery_id = session.scalar(select(Delivery.id).where(Delivery.invoice_id == world.invoices["credit"]))
    assert context.request.post(f"{base}/portal/operations/deliveries/{delivery_id}/retry", form={"csrf_token": token}).status == 403
    context.close()


def test_operator_signs_a_checkpoint_and_tablet_layout(browser, site):
    base, world, app = site
    with app.extensions["gateway.database"].session() as session:  # a new invoice: entries not covered by the checkpoint yet
        tenant = get_tenant(session, world.tenant)
        intake.submit_json(session, app.extensions["gateway.archive"], tenant, example("invoice-fr-b2b", f"{world.numbers['valid']}-bis"))
    context, page = _sign_in(browser, base, world.users[OPERATOR], viewport=TABLET)
    page.get_by_role("link", name="Opérations").click()
    assert world.numbers["wrong_total"] in page.locator("#rejected-table").inner_text()
    assert DELIVERY_ERROR in page.locator("#dead-table").inner_text()
    _shot(page, "operations-tablet-fr")
    page.get_by_role("button", name=f"Relancer l'envoi de {world.numbers['credit']}").click()
    page.wait_for_url(re.compile(r".*/operations#dead-letter$"))
    assert world.numbers["credit"] in page.locator(".notice-success").inner_text()
    assert page.locator("#dead-table").count() == 0
    page.get_by_role("button", name="Signer un point de contrôle maintenant").click()
    page.wait_for_load_state()
    assert "Point de contrôle" in page.locator(".notice-success").inner_text()
    page.goto(f"{base}/portal/invoices")
    _shot(page, "invoices-tablet-fr")
    page.goto(f"{base}/portal/invoices/{world.invoices['credit']}")
    _shot(page, "invoice-tablet-fr")
    # Keyboard: the skip link is the first stop and leads to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
    context.close()


def test_operator_sets_a_buyer_status_and_replays_a_webhook(browser, site, receiver):
    base, world, app = site
    number = f"{world.numbers['valid']}-IN"
    incoming = receive_invoice(app, world.tenant, number)
    _delivery_id, notified = failed_notification(app, world.tenant, receiver)
    context, page = _sign_in(browser, base, world.users[OPERATOR])
    assert page.locator("#kpi-received").inner_text() == "1"
    _shot(page, "dashboard-operator-fr")

    # From the "received" figure to the invoice, whose buyer's form offers only the buyer's statuses.
    page.locator("#kpi-received a").click()
    page.wait_for_url(re.compile(r".*direction=incoming.*"))
    page.locator("#invoice-table").get_by_role("link", name=number, exact=True).click()
    page.wait_for_url(f"{base}/portal/invoices/{incoming}")
    form = page.locator("#buyer-status")
    assert form.get_by_label("212").count() == 0 and form.locator("input[value='209']").count() == 0
    form.get_by_text("Suspendue").click()
    # The script offers only the reasons 208 allows; submitted without its comment, the form says what is missing.
    offered = page.locator("#reason_code option:not([hidden])").evaluate_all("options => options.map(o => o.value)")
    assert "CMD_ERR" in offered and "DOUBLON" not in offered
    page.get_by_label("Motif (liste officielle)").select_option("CMD_ERR")
    page.locator("#set-status").click()
    page.wait_for_load_state()
    assert "208 Suspendue exige un commentaire" in page.locator("#comment-error").inner_text()
    assert page.locator("#comment").get_attribute("aria-invalid") == "true"
    _shot(page, "invoice-buyer-form-error-fr")
    page.get_by_label("Commentaire pour le vendeur").fill("Le numéro de bon de commande manque.")
    page.locator("#set-status").click()
    page.wait_for_url(re.compile(r".*#timeline$"))
    assert "Statut 208 Suspendue enregistré." in page.locator(".notice-success").inner_text()
    timeline = page.locator("#timeline").inner_text()
    assert "Suspendue" in timeline and "CMD_ERR" in timeline and "Le numéro de bon de commande manque." in timeline
    assert f"Portail — {world.users[OPERATOR]}" in timeline
    assert page.locator("#current-status").inner_text() == "Suspendue"
    _shot(page, "invoice-buyer-status-fr")

    # Webhook deliveries: the failed notification, replayed.
    page.goto(f"{base}/portal/operations")
    page.get_by_role("link", name="Notifications webhook").click()
    row = page.locator("#webhook-table tr", has_text=notified)
    assert "HTTP 503" in row.inner_text()
    _shot(page, "webhooks-fr")
    row.locator(".replay-webhook").click()
    page.wait_for_load_state()
    assert "sera renvoyée sous peu" in page.locator(".notice-success").inner_text()
    page.locator(".langs a[hreflang=en]").click()
    page.wait_for_load_state()
    _shot(page, "webhooks-en")
    context.close()


def test_compliance_officer_has_no_buyer_form_and_a_forged_post_is_refused(browser, site):
    base, world, app = site
    incoming = receive_invoice(app, world.tenant, f"{world.numbers['valid']}-IN2")
    context, page = _sign_in(browser, base, world.users[COMPLIANCE_OFFICER], viewport=TABLET)
    page.goto(f"{base}/portal/invoices/{incoming}")
    assert "Reçue par la plateforme" in page.locator("#timeline").inner_text()
    assert page.locator("#buyer-status").count() == 0
    _shot(page, "invoice-incoming-officer-tablet-fr")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = context.request.post(f"{base}/portal/invoices/{incoming}/statuses", form={"csrf_token": token, "code": "205"})
    assert refused.status == 403
    assert context.request.get(f"{base}/portal/operations/webhooks").status == 403
    with app.extensions["gateway.database"].session() as session:
        assert session.get(db.Invoice, incoming).status == "202"
    context.close()


def test_administrator_creates_a_user_who_can_then_sign_in(browser, site):
    base, world, _app = site
    context, page = _sign_in(browser, base, world.users[ADMINISTRATOR])
    page.get_by_role("link", name="Utilisateurs").click()
    email = f"nouvelle.operatrice-{world.tenant[-8:]}@example.test"
    page.get_by_label("Adresse e-mail", exact=True).fill(email)
    page.get_by_label("Rôle", exact=True).select_option(OPERATOR)
    page.get_by_label("Mot de passe initial").fill("court")
    page.locator("#create-user").click()
    page.wait_for_load_state()
    assert "au moins 12 caractères" in page.locator("#users-error").inner_text()
    page.get_by_label("Mot de passe initial").fill(PASSWORD)
    page.locator("#create-user").click()
    page.locator(".notice-success").wait_for()
    assert email in page.locator(".notice-success").inner_text() and email in page.locator("#users-table").inner_text()
    _shot(page, "users-fr")
    context.close()

    context, page = _sign_in(browser, base, email, viewport=TABLET)
    assert page.get_by_role("link", name="Opérations").count() == 1 and page.get_by_role("link", name="Utilisateurs").count() == 0
    _shot(page, "dashboard-tablet-fr")
    context.close()


def test_operator_imports_a_statement_reviews_confirms_splits_and_undoes(browser, site):
    base, world, app = site
    tag = f"{uuid.uuid4().int % 10**8:08d}"
    numbers = [f"F{tag}-{n}" for n in (1, 2, 3)]
    with app.extensions["gateway.database"].session() as session:  # three more open invoices of the same amount as the valid one
        tenant = get_tenant(session, world.tenant)
        for number in numbers:
            intake.submit_json(session, app.extensions["gateway.archive"], tenant, example("invoice-fr-b2b", number))
    camt = camt_statement(tag, [camt_entry(f"{tag}-1", AMOUNT, "VIREMENT", "M DUPUIS"), camt_entry(f"{tag}-2", AMOUNT * 2, "PAIEMENT", "M DUPUIS")])
    context, page = _sign_in(browser, base, world.users[OPERATOR])
    page.get_by_role("link", name="Encaissements").click()
    assert "Rien à examiner" in page.locator("#review").inner_text()
    page.set_input_files("#statement", files=[{"name": "releve.xml", "mimeType": "application/xml", "buffer": camt}])
    page.get_by_role("button", name="Importer", exact=True).click()
    page.wait_for_load_state()
    assert "releve.xml : 2 nouvelle(s) ligne(s), 0 rapprochée(s), 1 à examiner" in page.locator(".notice-success").inner_text()
    assert page.locator("#waiting").inner_text() == "2 lignes bancaires attendent une décision."
    candidates = page.locator(".review-line").first.locator("tr.candidate")
    assert candidates.count() == 3 and "même montant seulement" in candidates.first.inner_text()
    _shot(page, "payments-review-fr")

    # Confirm the candidate the person knows is right; the line leaves the queue and shows among the matched ones.
    candidates.filter(has_text=numbers[0]).get_by_role("button", name="Confirmer").click()
    page.wait_for_load_state()
    assert "confirmée" in page.locator(".notice-success").inner_text() and numbers[0] in page.locator("#matched-table").inner_text()
    # Split the other line over two invoices typed by number.
    line = page.locator(".review-line").first
    assert "Aucune proposition" in line.inner_text()
    line.locator("summary", has_text="Régler d'autres factures").click()
    line.get_by_label("Numéros de facture, séparés par des virgules").fill(f"{numbers[1]}, {numbers[2]}")
    line.get_by_role("button", name="Confirmer ces factures").click()
    page.wait_for_load_state()
    matched = page.locator("#matched-table").inner_text()
    assert numbers[1] in matched and numbers[2] in matched and "Rien à examiner" in page.locator("#review").inner_text()
    _shot(page, "payments-matched-fr")
    # Undo the first match: the invoice is due again and the line waits for a decision again.
    page.locator("tr.matched-line", has_text=numbers[0]).get_by_role("button", name="Annuler").click()
    page.wait_for_load_state()
    assert "annulé" in page.locator(".notice-success").inner_text() and numbers[0] not in page.locator("#matched-table").inner_text()
    assert page.locator("#waiting").inner_text() == "1 ligne bancaire attend une décision."
    # The person knows it pays no invoice: set aside with why, shown among the lines set aside, then put back.
    line = page.locator(".review-line").first
    line.locator("summary", has_text="Cette ligne ne paie aucune facture").click()
    line.get_by_label("Pourquoi (intérêts bancaires, remboursement, virement entre comptes…)").fill("Remboursement d'un trop-perçu")
    line.get_by_role("button", name="Mettre de côté").click()
    page.wait_for_load_state()
    assert "mise de côté" in page.locator(".notice-success").inner_text() and "Rien à examiner" in page.locator("#review").inner_text()
    assert "Remboursement d'un trop-perçu" in page.locator("#dismissed-table").inner_text()
    page.locator("tr.dismissed-line").get_by_role("button", name="Annuler").click()
    page.wait_for_load_state()
    assert page.locator("#dismissed-table").count() == 0 and page.locator(".review-line").count() == 1
    context.close()


def test_every_page_fits_a_phone_without_sideways_scrolling(browser, site):
    base, world, _app = site
    context, page = _sign_in(browser, base, world.users[ADMINISTRATOR], viewport=PHONE)
    paths = ["/portal/", "/portal/invoices", f"/portal/invoices/{world.invoices['wrong_total']}", f"/portal/invoices/{world.invoices['valid']}"]
    paths += ["/portal/payments", "/portal/receivables", "/portal/recurring", "/portal/operations", "/portal/operations/webhooks", "/portal/users"]
    for path in paths:
        page.goto(f"{base}{path}")
        widths = page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], (path, widths)
    page.goto(f"{base}/portal/invoices")
    assert page.locator("#invoice-table tbody tr").first.evaluate("row => getComputedStyle(row).display") == "grid"  # rows as cards
    _shot(page, "invoices-phone-fr")
    context.close()

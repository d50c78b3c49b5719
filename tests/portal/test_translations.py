"""The portal's gettext catalogues are complete, and what the core writes reaches a French reader in French.

The catalogues are checked against what pybabel extracts from the source (the portal's words and the
core's marked messages): a message without its French or English translation, a translation left for a
message that is gone, or a .mo that is not its .po compiled fails the suite.  The pages then show a routing
decision made by the real router, a finding of the gateway's own checks and a delivery error of the outbox in the
reader's language.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from sqlalchemy import select

from gateway import intake
from gateway.jobs import outbox
from gateway.jobs.models import DEAD, Delivery
from gateway.jobs.settings import DeliverySettings
from gateway.lifecycle import codes, service
from gateway.lifecycle.events import StatusChange
from gateway.portal import catalogues
from gateway.portal.models import OPERATOR
from gateway.routing.models import DirectoryEntry
from gateway.routing.router import Context, route
from gateway.routing.settings import RoutingSettings
from gateway.store import models as db
from gateway.store.models import utcnow
from tests.portal.conftest import World, example, populate


def test_every_message_has_its_french_and_english_translation():
    assert catalogues.problems() == []
    counts = {domain: len(catalogues.extracted(domain)) for domain in catalogues.DOMAINS}
    assert counts["messages"] > 350 and counts["core"] > 40  # the extraction found the source, templates included


def _copy(tmp_path):
    translations = tmp_path / "translations"
    shutil.copytree(catalogues.TRANSLATIONS, translations)
    return translations


def _rewrite(path, change) -> None:
    with path.open("rb") as file:
        catalogue = read_po(file)
    change(catalogue)
    with path.open("wb") as file:
        write_po(file, catalogue)
    with path.with_suffix(".mo").open("wb") as file:
        write_mo(file, catalogue)


def test_a_catalogue_that_lacks_a_message_or_lags_its_po_fails(tmp_path):
    translations = _copy(tmp_path)
    _rewrite(catalogues.po_path("messages", "fr", translations), lambda catalogue: catalogue.delete("Invoices"))
    _rewrite(catalogues.po_path("core", "en", translations), lambda catalogue: setattr(catalogue["no default rule"], "string", ""))
    french = catalogues.po_path("core", "fr", translations)
    french.write_text(french.read_text(encoding="utf-8").replace('"aucune règle par défaut"', '"pas de règle par défaut"'), encoding="utf-8")
    assert sorted(catalogues.problems(translations)) == [
        "en/core.po: 'no default rule' is not translated",
        "fr/core.mo: not the compiled core.po (python -m gateway.portal.catalogues)",
        "fr/messages.po: no translation of 'Invoices'",
    ]


def test_a_translation_with_other_placeholders_fails(tmp_path):
    translations = _copy(tmp_path)
    template = "its channel is {channel}"
    _rewrite(catalogues.po_path("core", "fr", translations), lambda catalogue: setattr(catalogue[template], "string", "son canal est {canal}"))
    assert catalogues.problems(translations) == [f"fr/core.po: {template!r} has other placeholders in its translation"]


@pytest.fixture(scope="module")
def world(portal_app) -> World:
    """Tenants of this module's own, whose valid invoice's delivery is routed by the directory."""
    world = populate(portal_app)
    database = portal_app.extensions["gateway.database"]
    with database.session() as session:
        tenant = session.scalar(select(db.Tenant).where(db.Tenant.name == world.tenant))
        session.add(DirectoryEntry(tenant_id=tenant.id, scheme="0002", identifier="356000000", name="Boulangeries Martin", channel="email"))
        session.flush()
        invoice = intake.read_json(example("invoice-fr-b2b", world.numbers["valid"])).invoice
        decision = route(invoice, Context(session, tenant.id, tenant.name, RoutingSettings.from_section({}), configured=()))
        delivery = session.scalar(select(Delivery).where(Delivery.invoice_id == world.invoices["valid"]))
        delivery.channel, delivery.decision = decision.channel, decision.to_dict()
    return world


def test_a_routing_decision_is_shown_in_the_readers_language(world, signed_in):
    client = signed_in()
    page = client.get(f"/portal/invoices/{world.invoices['valid']}").get_data(as_text=True)
    assert "entrée 0002:356000000 de l&#39;annuaire du client (Boulangeries Martin) : son canal est email" in page
    assert "aucune règle d&#39;acheteur ne désigne cet acheteur (0 règle(s) examinée(s))" in page
    assert "directory entry" not in page and "rule(s) looked at" not in page
    client.get("/portal/language/en")
    page = client.get(f"/portal/invoices/{world.invoices['valid']}").get_data(as_text=True)
    assert "the tenant&#39;s directory entry 0002:356000000 (Boulangeries Martin): its channel is email" in page
    assert "no buyer rule names this buyer (0 rule(s) looked at)" in page


def test_the_gateways_own_findings_are_shown_in_the_readers_language(world, signed_in):
    client = signed_in()
    page = client.get(f"/portal/invoices/{world.invoices['wrong_total']}").get_data(as_text=True)
    assert "Total TTC : 15000.00 a été envoyé, 14947.54 était attendu." in page and "was expected" not in page
    assert "[BR-CO-15]-Invoice total amount with VAT" in page  # an official artefact's message is shown as it wrote it
    client.get("/portal/language/en")
    page = client.get(f"/portal/invoices/{world.invoices['wrong_total']}").get_data(as_text=True)
    assert "Total with VAT: 15000.00 was sent, 14947.54 was expected." in page


def test_a_delivery_error_of_the_gateway_is_shown_in_the_readers_language(portal_app, world, signed_in):
    settings = DeliverySettings()
    with portal_app.extensions["gateway.database"].session() as session:
        delivery = session.scalar(select(Delivery).where(Delivery.invoice_id == world.invoices["credit"]))
        delivery.attempts = settings.max_attempts  # the attempt limit reached, the last one interrupted
        assert outbox.failed(delivery, utcnow(), outbox.INTERRUPTED, transient=True, settings=settings) == DEAD
    french = f"abandon après {settings.max_attempts} tentative(s) : le processus d&#39;envoi s&#39;est arrêté avant d&#39;enregistrer le résultat"
    client = signed_in(OPERATOR)
    assert french in client.get(f"/portal/invoices/{world.invoices['credit']}").get_data(as_text=True)
    assert french in client.get("/portal/operations").get_data(as_text=True)
    client.get("/portal/language/en")
    assert f"gave up after {settings.max_attempts} attempt(s): the worker stopped" in client.get("/portal/operations").get_data(as_text=True)


def test_why_a_status_was_not_applied_is_shown_in_the_readers_language(portal_app, world, signed_in):
    """A network's 208 Suspendue without the reason and comment the reform requires: recorded, not applied, and why, translated."""
    with portal_app.extensions["gateway.database"].session() as session:
        tenant = session.scalar(select(db.Tenant).where(db.Tenant.name == world.tenant))
        archive = portal_app.extensions["gateway.archive"]
        invoice = intake.submit_json(session, archive, tenant, example("invoice-fr-b2b", f"{world.numbers['valid']}-flag"))
        change = StatusChange("208", datetime.now(UTC), codes.BUYER)
        recorded = service.record(session, archive, invoice, change, source="chorus_pro", actor="chorus_pro", relayed=True)
        assert recorded.decision.outcome == "flagged"
        invoice_id = invoice.id
    client = signed_in()
    page = client.get(f"/portal/invoices/{invoice_id}").get_data(as_text=True)
    french = "non appliqué : 208 Suspendue demande un code motif (MDT-113) ; 208 Suspendue demande un commentaire (MDT-126)"
    french += " (non fourni par chorus_pro)"
    assert french in page
    client.get("/portal/language/en")
    page = client.get(f"/portal/invoices/{invoice_id}").get_data(as_text=True)
    assert "not applied: 208 Suspendue needs a reason code (MDT-113); 208 Suspendue needs a comment (MDT-126) (not given by chorus_pro)" in page

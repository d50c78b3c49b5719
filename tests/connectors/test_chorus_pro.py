"""The Chorus Pro connector against the loopback PISTE + Chorus Pro server (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta

import pytest

from connectors import base
from connectors.base import ConnectorError
from connectors.chorus_pro import ChorusProConnector, contract
from connectors.chorus_pro.connector import flow_filename
from tests.connectors.chorus_pro_server import ChorusProServer
from tests.connectors.documents import BUYER_SIRET, SERVICE_CODE, envelope

pytestmark = pytest.mark.timeout(10)


@pytest.fixture
def server():
    with ChorusProServer() as running:
        running.add_structure(BUYER_SIRET, service_required=True, services={SERVICE_CODE: True, "SERV-FERME": False})
        yield running


@pytest.fixture
def connector(server: ChorusProServer) -> ChorusProConnector:
    return ChorusProConnector(server.client_config())


def _error(call, *args) -> ConnectorError:
    with pytest.raises(ConnectorError) as caught:
        call(*args)
    return caught.value


# ---------------------------------------------------------------------------- success


@pytest.mark.parametrize("kind", ["ubl", "cii", "facturx"])
def test_deposit_is_integrated_with_the_matching_syntax(server, connector, kind):
    sent = envelope(kind)
    receipt = connector.send(sent)
    assert receipt.accepted and receipt.connector == "chorus_pro"
    assert receipt.remote_id.startswith("CPP") and receipt.message == "IN_INTEGRE"
    assert b'"numeroFluxDepot"' in receipt.raw
    flow = server.flows[receipt.remote_id]
    assert flow.syntax == contract.SYNTAXE_FLUX[kind]
    assert flow.document == sent.document  # base64 round trip, byte for byte
    assert flow.filename == sent.filename
    assert server.requests[contract.TOKEN_PATH] == 1


def test_every_call_carries_bearer_token_and_technical_account(server, connector):
    connector.send(envelope("ubl"))
    expected = base64.b64encode(b"TECH_1_cpro@example.fr:Secret-2026").decode()
    assert server.account == expected
    assert server.unauthorized == 0 and sum(server.requests.values()) >= 6  # token, 3 structure calls, search, deposit, report


def test_one_token_serves_many_deliveries(server, connector):
    for number in ("A-1", "A-2", "A-3"):
        assert connector.send(envelope("ubl", number=number)).accepted
    assert server.requests[contract.TOKEN_PATH] == 1
    assert server.requests[contract.RECHERCHER_STRUCTURE] == 1  # the structure's rules are cached


def test_registry_builds_the_connector(server):
    built = base.get("chorus_pro", server.client_config())
    assert isinstance(built, ChorusProConnector) and isinstance(built, base.Connector)
    assert "chorus_pro" in base.registered()


def test_environments_select_piste_urls():
    config = {"client_id": "a", "client_secret": "b", "login": "l", "password": "p"}
    assert ChorusProConnector(config).client.api_url == "https://sandbox-api.piste.gouv.fr"
    production = ChorusProConnector(config | {"environment": "production"}).client
    assert (production.token_url, production.api_url) == ("https://oauth.piste.gouv.fr/api/oauth/token", "https://api.piste.gouv.fr")


# ---------------------------------------------------------------------------- pre-send checks


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"siret": "35600000000049"}, "not a valid SIRET"),
        ({"siret": None}, "SIRET is missing"),
        ({"service_code": None}, "requires a service code"),
        ({"service_code": "SERV-FERME"}, "not an active service"),
        ({"payee_iban": None}, "requires the payee's IBAN"),
        ({"payee_iban": "FR7630006000011234567890188"}, "IBAN 'FR7630006000011234567890188' is invalid"),
    ],
)
def test_public_buyer_data_is_checked_before_sending(server, connector, changes, expected):
    error = _error(connector.send, envelope("ubl", **changes))
    assert not error.transient and error.code == "invalid-recipient" and expected in error.message
    assert server.requests[contract.DEPOSER_FLUX] == 0


def test_legal_commitment_required_by_the_structure(server, connector):
    server.add_structure("73282932000074", commitment_required=True)
    error = _error(connector.send, envelope("ubl", siret="73282932000074", legal_commitment="", service_code=None))
    assert error.message == "the buyer's structure requires a legal commitment number (BT-13 purchase order reference)"
    assert connector.send(envelope("ubl", siret="73282932000074", service_code=None)).accepted


def test_iban_not_needed_when_not_paying_by_transfer(connector):
    assert connector.send(envelope("ubl", payment_means_code="48", payee_iban=None)).accepted


def test_unknown_structure_and_bad_document_are_permanent(server, connector):
    assert "no Chorus Pro structure with SIRET 73282932000074" in _error(connector.send, envelope("ubl", siret="73282932000074")).message
    not_a_pdf = envelope("facturx", document=b"<xml/>")
    assert _error(connector.send, not_a_pdf).code == "invalid-document"
    assert server.requests[contract.DEPOSER_FLUX] == 0


def test_flow_filenames_are_safe_and_short():
    assert flow_filename("../Facture n°42 (copie).PDF", "facturx") == "Facture_n_42_copie_.pdf"
    assert flow_filename("x" * 80 + ".xml", "ubl") == "x" * 46 + ".xml"
    assert flow_filename("", "cii") == "invoice.xml"


# ---------------------------------------------------------------------------- authentication


def test_wrong_client_secret_is_a_permanent_auth_failure(server):
    connector = ChorusProConnector(server.client_config(client_secret="wrong"))
    error = _error(connector.send, envelope("ubl"))
    assert not error.transient and error.code == "auth" and "invalid_client" in error.message
    assert server.requests[contract.DEPOSER_FLUX] == 0


def test_wrong_technical_account_is_a_permanent_auth_failure(server):
    connector = ChorusProConnector(server.client_config(password="expired-password"))
    error = _error(connector.send, envelope("ubl"))
    assert not error.transient and error.code == "auth"
    assert server.unauthorized == 2  # renewed the token once, then gave up


def test_token_expiring_mid_run_is_renewed_transparently(server, connector):
    assert connector.send(envelope("ubl", number="T-1")).accepted
    server.expire_tokens()
    assert connector.send(envelope("ubl", number="T-2")).accepted
    assert server.unauthorized == 1
    assert server.requests[contract.TOKEN_PATH] == 2


def test_token_is_refreshed_before_it_expires(server):
    server.token_ttl = 2  # renewed after min(margin, ttl/2) = 1 s
    connector = ChorusProConnector(server.client_config())
    assert connector.send(envelope("ubl", number="R-1")).accepted
    time.sleep(1.1)
    assert connector.send(envelope("ubl", number="R-2")).accepted
    assert server.requests[contract.TOKEN_PATH] == 2 and server.unauthorized == 0


# ---------------------------------------------------------------------------- business rejection


def test_rejected_flow_is_a_receipt_with_its_errors(server, connector):
    server.reject_with = "Le numéro d'engagement est inconnu"
    receipt = connector.send(envelope("ubl"))
    assert not receipt.accepted
    assert receipt.message == "IN_REJETE; F2026-000142: Le numéro d'engagement est inconnu"
    report = connector.deposit_report(receipt.remote_id)
    assert report.final and report.rejected and report.state == "IN_REJETE"


def test_file_not_matching_its_syntax_is_rejected_by_the_platform(server, connector):
    mismatched = envelope("ubl", document=envelope("cii").document)
    receipt = connector.send(mismatched)
    assert not receipt.accepted and "TECH_SYNTAXE" in receipt.message


def test_http_400_business_error_is_permanent(connector):
    error = _error(connector.deposit_report, "CPP-UNKNOWN")
    assert not error.transient and error.code == "rejected" and "Flux inconnu" in error.message


def test_pending_report_is_an_accepted_receipt_then_a_report(server):
    server.processing_delay = 0.3
    connector = ChorusProConnector(server.client_config(report_wait=0))
    receipt = connector.send(envelope("ubl"))
    assert receipt.accepted and receipt.pending and receipt.message == "deposited; deposit report pending"
    assert connector.deposit_report(receipt.remote_id).state == "IN_RECU"
    assert connector.final_receipt(receipt.remote_id) is None  # still pending: asked again later by the scheduler
    time.sleep(0.35)
    final = connector.final_receipt(receipt.remote_id)
    assert final is not None and (final.accepted, final.pending, final.message, final.remote_id) == (True, False, "IN_INTEGRE", receipt.remote_id)
    server.reject_with = "Engagement inconnu"
    try:
        rejected = connector.send(envelope("ubl", number="F2026-PENDING-2"))
        time.sleep(0.35)
        verdict = connector.final_receipt(rejected.remote_id)
    finally:
        server.reject_with = None
    assert rejected.pending and verdict is not None and not verdict.accepted
    assert verdict.message == "IN_REJETE; F2026-PENDING-2: Engagement inconnu"


def test_an_invoice_already_on_chorus_pro_is_not_deposited_again(server, connector):
    first = connector.send(envelope("ubl"))
    again = connector.send(envelope("ubl"))
    assert again.remote_id == first.remote_id and again.accepted
    assert again.message == "already deposited (status DEPOSEE)"
    assert len(server.deposits()) == 1


# ---------------------------------------------------------------------------- timeouts and outages


def test_slow_server_is_a_transient_timeout(server):
    connector = ChorusProConnector(server.client_config(timeout=0.3))
    connector.client.token()  # the token endpoint answers promptly; the API is slow
    server.delay = 1.0
    started = time.monotonic()
    error = _error(connector.send, envelope("ubl"))
    assert error.transient and error.code == "timeout"
    assert time.monotonic() - started < 1.0


def test_server_down_then_back(server, connector):
    assert connector.send(envelope("ubl", number="D-1")).accepted
    server.stop()
    error = _error(connector.send, envelope("ubl", number="D-2"))
    assert error.transient and error.code == "unavailable"
    assert connector.health()["ok"] is False
    server.start()  # same port
    assert connector.send(envelope("ubl", number="D-2")).accepted


def test_deposit_stands_when_its_report_cannot_be_read(server, connector):
    server.fail_status, server.fail_only = 503, {contract.CONSULTER_CR_DETAILLE}
    receipt = connector.send(envelope("ubl"))
    assert receipt.accepted and receipt.remote_id in server.flows
    assert receipt.message.startswith("deposited; deposit report not read: ") and "503" in receipt.message


def test_5xx_is_transient(server, connector):
    server.fail_status = 503
    error = _error(connector.send, envelope("ubl"))
    assert error.transient and error.code == "unavailable"


# ---------------------------------------------------------------------------- statuses


def test_statuses_are_polled_and_mapped_to_lifecycle_codes(server, connector, monkeypatch):
    since = datetime.now(UTC) - timedelta(seconds=1)
    monkeypatch.setattr(contract, "PAGE_SIZE", 1)  # three invoices → three pages
    for number in ("S-1", "S-2", "S-3"):
        connector.send(envelope("ubl", number=number))
    server.set_status("S-1", "MISE_A_DISPOSITION")
    server.set_status("S-1", "SERVICE_FAIT")
    server.set_status("S-1", "MISE_EN_PAIEMENT")
    server.set_status("S-2", "SUSPENDUE", "Bon de livraison manquant")
    server.set_status("S-3", "EN_COURS_ACHEMINEMENT")  # no reform equivalent: skipped
    server.set_status("S-3", "REJETEE", "Montant erroné")
    updates = connector.fetch_statuses(since)
    by_invoice: dict[str, list[str]] = {}
    for update in updates:
        by_invoice.setdefault(update.invoice_number, []).append(update.code)
        assert update.remote_id in server.flows and update.at.tzinfo is not None
    assert by_invoice == {"S-1": ["202", "203", "204", "211"], "S-2": ["202", "208"], "S-3": ["202", "210"]}
    suspended = next(u for u in updates if u.code == "208")
    assert suspended.detail == "Chorus Pro SUSPENDUE: Bon de livraison manquant"
    assert server.requests[contract.RECHERCHER_FOURNISSEUR] >= 3  # paged


def test_statuses_older_than_since_are_not_reported(server, connector):
    connector.send(envelope("ubl"))
    later = datetime.now(UTC) + timedelta(minutes=2)
    assert connector.fetch_statuses(later) == []


def test_status_mapping_follows_dse_cpro_table():
    assert contract.STATUS_TO_LIFECYCLE == {
        "DEPOSEE": "202",
        "MISE_A_DISPOSITION": "203",
        "SUSPENDUE": "208",
        "REJETEE": "210",
        "SERVICE_FAIT": "204",
        "MANDATEE": "204",
        "MISE_A_DISPOSITION_COMPTABLE": "204",
        "COMPTABILISEE": "204",
        "MISE_EN_PAIEMENT": "211",
    }


def test_dates_round_trip_in_french_local_time():
    moment = datetime(2026, 7, 14, 10, 30, tzinfo=UTC)
    assert contract.format_datetime(moment) == "2026-07-14T12:30:00"
    assert contract.parse_datetime("2026-07-14 12:30") == moment
    assert contract.parse_datetime(contract.format_datetime(moment)) == moment


def test_health_lists_the_accepted_syntaxes(connector):
    health = connector.health()
    assert health["ok"] is True and health["missing_formats"] == []
    assert set(contract.SYNTAXE_FLUX.values()) <= set(health["formats"])

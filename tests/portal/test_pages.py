"""What the pages show: dashboard figures, the invoice list (search, filters, sort, pages, CSV), the invoice page, documents,
archive verification and proofs, both languages; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import gc
import io
import re
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.app import create_app
from gateway.archive.verifier import check_proof
from gateway.config import Config
from gateway.jobs.models import SENT, Delivery
from gateway.portal.auth import create_user
from gateway.portal.models import COMPLIANCE_OFFICER, OPERATOR
from gateway.store import models as db
from gateway.store.session import upgrade
from gateway.store.tenants import create_tenant
from tests.portal.conftest import PASSWORD, csrf, populate, sign_in


@pytest.fixture(scope="session")
def bulk(portal_app):
    """A tenant with 30 plain invoice rows (amounts 1, 2, 3 … 30 × 7.5 €, one buyer name that looks like a formula) and its officer;
    BULK-001 to 003 sent by e-mail, BULK-004 to Chorus Pro (after a first delivery to the sandbox), BULK-005 to the sandbox."""
    tag = uuid.uuid4().hex[:8]
    with portal_app.extensions["gateway.database"].session() as session:
        tenant = create_tenant(session, f"portal-bulk-{tag}")
        email = create_user(session, tenant, f"bulk-{tag}@example.test", COMPLIANCE_OFFICER, PASSWORD).email
        for i in range(1, 31):
            rejected = i % 10 == 0
            report = {"valid": not rejected, "findings": [{"rule_id": "BR-FR-10_BT-30", "severity": "fatal"}] if rejected else []}
            session.add(
                db.Invoice(
                    tenant_id=tenant.id, number=f"BULK-{i:03d}", issue_date=date(2026, 1, i), issue_year=2026, type_code="380", currency="EUR",
                    seller_name="Vendeur Unique SA", seller_siren="111222333", buyer_name="=HYPERLINK(\"x\")" if i == 7 else f"Client {i}",
                    buyer_siren=f"{i:09d}", tax_inclusive_amount=Decimal(i) * Decimal("7.5"), profile="en16931", syntax="json",
                    state=db.STATE_REJECTED if rejected else db.STATE_VALIDATED, status=db.STATUS_REJECTED if rejected else "200",
                    status_label="Rejetée aux contrôles de dépôt" if rejected else "Déposée", report=report,
                )
            )  # fmt: skip
        session.flush()
        rows = {row.number: row for row in session.query(db.Invoice).filter_by(tenant_id=tenant.id)}
        channels = [("BULK-001", "email"), ("BULK-002", "email"), ("BULK-003", "email"), ("BULK-004", "sandbox"), ("BULK-004", "chorus_pro")]
        for number, channel in [*channels, ("BULK-005", "sandbox")]:
            session.add(Delivery(id=str(uuid.uuid4()), tenant_id=tenant.id, invoice_id=rows[number].id, state=SENT, channel=channel))
    return email


@pytest.fixture
def bulk_client(portal_app, bulk):
    client = portal_app.test_client()
    sign_in(client, bulk)
    return client


def _numbers(html: str) -> list[str]:
    return [part.split("<", 1)[0] for part in html.split('class="strong" href="/portal/invoices/')[1:] for part in [part.split(">", 1)[1]]]


# ---------------------------------------------------------------------------- dashboard


def test_dashboard_counts_rejection_rate_rules_and_chart(signed_in, world):
    page = signed_in().get("/portal/?period=7d").get_data(as_text=True)
    assert 'id="kpi-total">4<' in page and "25,0\u00a0%" in page
    assert "BR-CO-15" in page and "Pas encore routée" in page and "Déposée" in page
    assert page.count('class="bar-accepted"') == 1 and page.count('class="bar-rejected"') == 1  # all received today
    assert "14\u202f973,81\u00a0€" in page and "3\u202f636,00\u00a0$" in page  # exact sums of the accepted invoices, per currency


@pytest.mark.parametrize(
    "query, names",
    [
        ("from=0001-01-01&to=0001-01-05", "from, to"),  # were 500s: OverflowError: date value out of range
        ("from=2026-01-01&to=9999-12-31", "to"),
        ("from=01/02/2026", "from"),
        ("period=forever", "period"),
        ("from=2026-03-01&to=2026-02-01", "from, to"),
    ],
)
def test_dashboard_names_a_period_it_cannot_read_with_a_400(bulk_client, query, names):
    response = bulk_client.get(f"/portal/?{query}")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and f"La période n&#39;a pas pu être lue ({names})" in page and "du 01/01/2000 au 31/12/2099" in page
    assert 'id="kpi-total">' in page  # the default period's figures are still shown


def test_a_next_address_with_control_characters_goes_to_the_dashboard(signed_in):
    response = signed_in().get("/portal/language/en?next=/portal/invoices%0d%0aSet-Cookie:%20x=1")
    assert response.status_code == 302 and response.headers["Location"] == "/portal/"


def test_dashboard_custom_period_and_months(bulk_client):
    page = bulk_client.get("/portal/?from=2020-01-01&to=2020-12-31").get_data(as_text=True)
    assert 'id="kpi-total">0<' in page and "Aucune facture sur cette période" in page and "Factures traitées par mois" in page
    assert "Factures traitées par semaine" in bulk_client.get("/portal/?period=90d").get_data(as_text=True)
    assert 'id="kpi-total">30<' in bulk_client.get("/portal/?period=12m").get_data(as_text=True)


# ---------------------------------------------------------------------------- list and CSV


@pytest.mark.parametrize(
    "query, expected",
    [
        ("q=bulk-012", ["BULK-012"]),
        ("q=client+29", ["BULK-029"]),
        ("q=000000015", ["BULK-015"]),
        ("status=rejected&sort=number&order=asc", ["BULK-010", "BULK-020", "BULK-030"]),
        ("from=2026-01-05&to=2026-01-07&sort=issue_date&order=asc", ["BULK-005", "BULK-006", "BULK-007"]),
        ("min=10&max=30&sort=amount&order=asc", ["BULK-002", "BULK-003", "BULK-004"]),  # 15, 22.5, 30 (numeric, not text, order)
        ("min=205&sort=amount", ["BULK-030", "BULK-029", "BULK-028"]),
        ("channel=email&sort=number&order=asc", ["BULK-001", "BULK-002", "BULK-003"]),
        ("channel=sandbox&sort=number&order=asc", ["BULK-004", "BULK-005"]),  # an invoice is listed under every channel it went through
        ("channel=chorus_pro&q=bulk-00", ["BULK-004"]),
        ("channel=peppol", []),
    ],
)
def test_list_searches_filters_and_sorts(bulk_client, query, expected):
    assert _numbers(bulk_client.get(f"/portal/invoices?{query}").get_data(as_text=True)) == expected


def test_list_is_paginated_and_names_ignored_filters(bulk_client):
    first = bulk_client.get("/portal/invoices?sort=number&order=asc").get_data(as_text=True)
    assert _numbers(first)[:2] == ["BULK-001", "BULK-002"] and len(_numbers(first)) == 25 and "Page 1 sur 2" in first
    second = bulk_client.get("/portal/invoices?sort=number&order=asc&page=2").get_data(as_text=True)
    assert _numbers(second) == [f"BULK-{i:03d}" for i in range(26, 31)]
    response = bulk_client.get("/portal/invoices?from=yesterday&min=abc&sort=evil&channel=fax")
    odd = response.get_data(as_text=True)
    assert response.status_code == 400 and "ignorés" in odd and "channel, from, min, sort" in odd and len(_numbers(odd)) == 25
    response = bulk_client.get("/portal/invoices.csv?max=lots")
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "Des filtres n&#39;ont pas pu être lus : max." in response.get_data(as_text=True)


def test_csv_export_follows_the_filters_the_locale_and_is_formula_safe(bulk_client):
    response = bulk_client.get("/portal/invoices.csv?max=60&sort=number&order=asc")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows[0][:2] == ["Numéro", "Type"] and [r[0] for r in rows[1:]] == [f"BULK-{i:03d}" for i in range(1, 9)]
    assert rows[2][11] == "15,0" and rows[7][6] == '\'=HYPERLINK("x")'
    received = datetime.fromisoformat(rows[1][15])  # in the portal's zone, with its offset, to the second
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", rows[1][15])
    assert received.utcoffset() == received.astimezone(ZoneInfo("Europe/Paris")).utcoffset() and received.utcoffset() != timedelta(0)
    bulk_client.get("/portal/language/en")
    english = list(csv.reader(io.StringIO(bulk_client.get("/portal/invoices.csv?q=BULK-002").get_data(as_text=True)[1:])))
    assert english[0][0] == "Number" and english[1][11] == "15.0"


def test_csv_export_gives_its_database_connection_back(portal_app, bulk_client):
    """The body is read after the request's teardown: the rows' session must end with it, not wait for the garbage collector."""
    pool = portal_app.extensions["gateway.database"].engine.pool
    gc.disable()  # what a busy server sees: a leaked session would hold its connection (and a transaction) until collected
    try:
        for query in ("max=60", "q=BULK-00"):
            response = bulk_client.get(f"/portal/invoices.csv?{query}")
            assert response.status_code == 200 and response.get_data(as_text=True).count("BULK-00") >= 8
            assert pool.checkedout() == 0
        response = bulk_client.get("/portal/invoices.csv")  # a client that leaves after the first row
        next(response.response)
        response.close()
        assert pool.checkedout() == 0
    finally:
        gc.enable()


# ---------------------------------------------------------------------------- invoice page and documents


def test_invoice_page_shows_key_data_timeline_and_report_in_plain_words(signed_in, world):
    page = signed_in().get(f"/portal/invoices/{world.invoices['wrong_total']}").get_data(as_text=True)
    assert world.numbers["wrong_total"] in page and "Atelier Dupont &amp; Fils SAS" in page and "732829320" in page
    assert "Four à sole modulaire FS-400" in page  # a line, from the canonical invoice
    assert "Rejetée aux contrôles de dépôt" in page and "Passerelle — contrôles de dépôt" in page
    assert "BR-CO-15" in page and "BT-112" in page and "Montant total TVA comprise" in page and "Bloquante" in page
    assert "15\u202f000,00\u00a0€" in page
    # BR-CO-15 raised on the CII and on the UBL is one row, placed in the totals, with both artefacts named.
    assert page.count('class="finding-group"') == 1 and ">totaux<" in page and "EN16931-UBL" in page
    credit = signed_in().get(f"/portal/invoices/{world.invoices['credit']}").get_data(as_text=True)
    assert "Avoir" in credit and "Déposée" in credit


def test_documents_download_and_the_factur_x_previews_inline(signed_in, world):
    client = signed_in()
    base = f"/portal/invoices/{world.invoices['valid']}/documents"
    pdf = client.get(f"{base}/facturx")
    assert pdf.data.startswith(b"%PDF") and pdf.headers["Content-Disposition"] == f'attachment; filename="{world.numbers["valid"]}-facturx.pdf"'
    assert client.get(f"{base}/facturx?inline=1").headers["Content-Disposition"].startswith("inline;")
    assert client.get(f"{base}/ubl").data.startswith(b"<?xml") and client.get(f"{base}/cii?inline=1").headers["Content-Disposition"].startswith(
        "attachment"
    )
    page = client.get(f"/portal/invoices/{world.invoices['valid']}").get_data(as_text=True)
    assert f'data="{base}/facturx?inline=1"' in page


def test_verify_recomputes_the_entries_and_their_inclusion_proofs(portal_app, signed_in, world):
    client = signed_in(OPERATOR)
    client.post("/portal/operations/checkpoint", data={"csrf_token": csrf(client)})
    page = client.get(f"/portal/invoices/{world.invoices['valid']}/verify").get_data(as_text=True)
    assert "Vérifié." in page and "dont la signature est valide" in page and page.count("✓ intacte") == 6
    seq = int(page.split("/proofs/", 1)[1].split(".json", 1)[0])
    proof = client.get(f"/portal/invoices/{world.invoices['valid']}/proofs/{seq}.json").get_json()
    document = portal_app.extensions["gateway.archive"].read(proof["entry"]["content_sha256"])
    assert check_proof(proof, document, {portal_app.extensions["gateway.archive"].public_key}) == []


def test_verify_names_a_tampered_document(tmp_path):
    """On a private archive (tampering would break the shared one): one altered byte fails the invoice's verification."""
    config = Config(data_dir=tmp_path, config_dir=tmp_path / "none")
    upgrade(config)
    app = create_app(config)
    world = populate(app)
    with app.extensions["gateway.database"].session() as session:
        app.extensions["gateway.archive"].checkpoint(session)
        ubl = next(d for d in session.get(db.Invoice, world.invoices["valid"]).documents if d.kind == "ubl")
    path: Path = app.extensions["gateway.archive"].blobs.path(ubl.sha256)
    path.write_bytes(path.read_bytes().replace(b"Atelier", b"Atelyer", 1))
    client = app.test_client()
    sign_in(client, world.users[COMPLIANCE_OFFICER])
    page = client.get(f"/portal/invoices/{world.invoices['valid']}/verify").get_data(as_text=True)
    assert "La vérification a échoué." in page and "le document ne correspond pas à l&#39;entrée" in page and page.count("✕ altérée") == 1
    app.extensions["gateway.database"].dispose()


def test_unanchored_entries_are_checked_and_said_to_await_a_checkpoint(tmp_path):
    config = Config(data_dir=tmp_path, config_dir=tmp_path / "none")
    upgrade(config)
    app = create_app(config)
    world = populate(app)
    client = app.test_client()
    sign_in(client, world.users[OPERATOR])
    page = client.get(f"/portal/invoices/{world.invoices['credit']}/verify").get_data(as_text=True)
    assert "Vérifié." in page and "pas encore couvertes" in page and "Signer un point de contrôle maintenant" in page
    assert client.get(f"/portal/invoices/{world.invoices['credit']}/proofs/1.json").status_code == 404
    app.extensions["gateway.database"].dispose()


# ---------------------------------------------------------------------------- languages


def test_language_switch_keeps_the_page_and_formats_for_the_locale(signed_in, world):
    client = signed_in()
    target = f"/portal/invoices/{world.invoices['valid']}"
    response = client.get(f"/portal/language/en?next={target}")
    assert response.headers["Location"] == target
    page = client.get(target).get_data(as_text=True)
    assert '<html lang="en">' in page and "Status timeline" in page and "€14,947.54" in page and "Deposited" in page
    assert "Issued on 20 November 2026" in page and "20 Dec 2026" in page
    client.get("/portal/language/fr?next=https://evil.example/")
    page = client.get(target).get_data(as_text=True)
    assert '<html lang="fr">' in page and "14\u202f947,54\u00a0€" in page and "Émise le 20 novembre 2026" in page and "20/12/2026" in page

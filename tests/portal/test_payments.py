"""The portal's payments page on SQLite and PostgreSQL: upload a statement, review the candidates, confirm, reject, split, undo.

A tenant of its own per test, four open invoices of the same amount (so that an amount alone is ambiguous), and a
camt.053 statement made here with the invoices' numbers: one line names its invoice (matched at once), one has the
amount only (three candidates to review), one pays two invoices without saying which (no candidate: a split).
"""

from __future__ import annotations

import html
import io
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from gateway import intake
from gateway.payments import models as pm
from gateway.payments import service
from gateway.payments.effects import position
from gateway.portal.auth import create_user
from gateway.portal.models import COMPLIANCE_OFFICER, OPERATOR
from gateway.store import models as db
from gateway.store.tenants import create_tenant
from tests.payments.conftest import AMOUNT, camt_entry, camt_statement
from tests.portal.conftest import PASSWORD, csrf, example, sign_in


@pytest.fixture
def ledger(portal_app):
    """A tenant with an operator, a compliance officer and four open invoices: (tenant id, emails by role, numbers, ids)."""
    tag = f"{uuid.uuid4().int % 10**8:08d}"  # digits: an invoice number as ERPs write them
    database, archive = portal_app.extensions["gateway.database"], portal_app.extensions["gateway.archive"]
    with database.session() as session:
        tenant = create_tenant(session, f"payments-{tag}")
        emails = {role: create_user(session, tenant, f"{role}-{tag}@example.test", role, PASSWORD).email for role in (OPERATOR, COMPLIANCE_OFFICER)}
        numbers = [f"F{tag}-{n}" for n in range(1, 5)]
        ids = [intake.submit_json(session, archive, tenant, example("invoice-fr-b2b", number)).id for number in numbers]
        return tenant.id, emails, numbers, ids, tag


def client_for(portal_app, email: str):
    client = portal_app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def upload(client, data: bytes, name: str = "releve.xml"):
    form = {"csrf_token": csrf(client), "statement": (io.BytesIO(data), name)}
    return client.post("/portal/payments/statements", data=form, content_type="multipart/form-data", follow_redirects=True)


def text(response) -> str:
    """The page as a reader sees its words (entities decoded)."""
    return html.unescape(response.get_data(as_text=True))


def line_ids(portal_app, tenant_id: int) -> list[int]:
    with portal_app.extensions["gateway.database"].session() as session:
        return list(session.scalars(select(pm.BankLine.id).where(pm.BankLine.tenant_id == tenant_id).order_by(pm.BankLine.id)))


def states(portal_app, ids: list[str]) -> list[str]:
    with portal_app.extensions["gateway.database"].session() as session:
        return [position(session, session.get(db.Invoice, i))["status"] for i in ids]


def test_upload_review_confirm_reject_split_and_undo(portal_app, ledger):
    tenant_id, emails, numbers, ids, tag = ledger
    operator = client_for(portal_app, emails[OPERATOR])
    data = camt_statement(
        tag,
        [
            camt_entry(f"{tag}-1", AMOUNT, f"Reglement facture {numbers[0]}", "BOULANGERIES MARTIN"),
            camt_entry(f"{tag}-2", AMOUNT, "VIREMENT", "M DUPUIS"),
            camt_entry(f"{tag}-3", AMOUNT * 2, "PAIEMENT", "M DUPUIS"),
        ],
    )
    page = text(upload(operator, data))
    assert "releve.xml : 3 nouvelle(s) ligne(s), 1 rapprochée(s), 1 à examiner, 0 déjà importée(s)." in page
    assert "2 lignes bancaires attendent une décision." in page
    referenced, ambiguous, grouped = line_ids(portal_app, tenant_id)
    # The ambiguous line: three candidates (the amount alone), explained; the grouped one: none.
    assert page.count('class="candidate"') == 3 and "même montant seulement" in page
    assert "Aucune proposition : ni référence, ni payeur, ni montant reconnus par la passerelle." in page
    assert f'id="matched-{referenced}"' in page and "numéro de facture dans le libellé" in page
    assert states(portal_app, ids) == ["paid", "unpaid", "unpaid", "unpaid"]

    # The same statement again: nothing new.
    assert "0 nouvelle(s) ligne(s), 0 rapprochée(s), 0 à examiner, 3 déjà importée(s)." in text(upload(operator, data))

    def decide(line: int, action: str, invoices: tuple[str, ...] = (), numbers_typed: str = ""):
        form = {"csrf_token": csrf(operator), "action": action, "invoice": list(invoices), "numbers": numbers_typed}
        return text(operator.post(f"/portal/payments/lines/{line}", data=form, follow_redirects=True))

    page = decide(ambiguous, "reject", (ids[1],))
    assert f"Proposition écartée pour la ligne bancaire {ambiguous}" in page and page.count('class="candidate"') == 2
    page = decide(ambiguous, "confirm", (ids[2],))
    assert f"Ligne bancaire {ambiguous} confirmée" in page and page.count('class="candidate"') == 0
    # A split: the line pays two invoices a person names by number (in any spacing).
    page = decide(grouped, "confirm", numbers_typed=f" {numbers[1]} ;{numbers[3]}")
    assert f"Ligne bancaire {grouped} confirmée" in page and "Rien à examiner : chaque crédit est rapproché." in page
    assert states(portal_app, ids) == ["paid", "paid", "paid", "paid"]
    # A decision that cannot be taken is said in French, nothing changed.
    page = decide(grouped, "confirm", (ids[0],))
    assert f"La ligne bancaire {grouped} est rapprochée : annulez d'abord ce rapprochement." in page
    page = decide(referenced, "undo")
    assert f"Le rapprochement de la ligne bancaire {referenced} est annulé" in page
    assert states(portal_app, ids) == ["unpaid", "paid", "paid", "paid"]
    assert "Aucune facture ne porte le numéro NOPE-1." in decide(ambiguous, "confirm", numbers_typed="NOPE-1")
    with portal_app.extensions["gateway.database"].session() as session:
        decided = {
            line.id: [m.decided_by for m in line.matches if m.state == pm.APPLIED]
            for line in session.scalars(select(pm.BankLine).where(pm.BankLine.tenant_id == tenant_id))
        }
    assert decided[ambiguous] == [f"person:portal:{emails[OPERATOR]}"] and len(decided[grouped]) == 2 and decided[referenced] == []


def test_a_malformed_statement_imports_nothing_and_says_where(portal_app, ledger):
    tenant_id, emails, numbers, _ids, tag = ledger
    operator = client_for(portal_app, emails[OPERATOR])
    broken = camt_statement(tag, [camt_entry(f"{tag}-1", AMOUNT, numbers[0], "X")]).replace(b'<Amt Ccy="EUR">', b"<Amt>", 1)
    page = text(upload(operator, broken, "casse.xml"))
    assert "casse.xml n'a pas été importé" in page and "Stmt[1]/Ntry[1]/Amt" in page
    assert line_ids(portal_app, tenant_id) == []
    assert "Choisissez un fichier de relevé à importer." in text(upload(operator, b""))


def test_a_compliance_officer_sees_the_queue_but_cannot_decide(portal_app, ledger, world):
    tenant_id, emails, _numbers, ids, tag = ledger
    operator = client_for(portal_app, emails[OPERATOR])
    upload(operator, camt_statement(tag, [camt_entry(f"{tag}-2", AMOUNT, "VIREMENT", "M DUPUIS")]))
    [line] = line_ids(portal_app, tenant_id)
    officer = client_for(portal_app, emails[COMPLIANCE_OFFICER])
    page = text(officer.get("/portal/payments"))
    assert "Encaissements" in page and page.count('class="candidate"') == 3 and "confirm-match" not in page and 'name="statement"' not in page
    form = {"csrf_token": csrf(officer), "action": "confirm", "invoice": ids[0]}
    assert officer.post(f"/portal/payments/lines/{line}", data=form).status_code == 403
    assert upload(officer, b"x").status_code == 403
    # Another organisation's line does not exist for its users.
    stranger = client_for(portal_app, world.users[OPERATOR])
    assert stranger.post(f"/portal/payments/lines/{line}", data={**form, "csrf_token": csrf(stranger)}).status_code == 404
    assert stranger.post(f"/portal/payments/lines/{2**40}", data={**form, "csrf_token": csrf(stranger)}).status_code == 404
    english = text(officer.get("/portal/language/en?next=/portal/payments", follow_redirects=True))
    assert "1 bank line waits for a decision." in english and "same amount only" in english


def test_a_line_paying_no_invoice_is_set_aside_with_why_and_an_undone_match_waits_again(portal_app, ledger):
    """Bank interest is set aside (out of the queue, the reason shown); undone, it waits again, and so does an undone match."""
    tenant_id, emails, numbers, ids, tag = ledger
    operator = client_for(portal_app, emails[OPERATOR])
    paying, interests = camt_entry(f"{tag}-1", AMOUNT, f"Facture {numbers[0]}", "X"), camt_entry(f"{tag}-9", Decimal("12.34"), "INTERETS", "BANQUE")
    data = camt_statement(tag, [paying, interests])
    assert "1 rapprochée(s), 0 à examiner" in text(upload(operator, data))
    paid, interest = line_ids(portal_app, tenant_id)

    def decide(line: int, action: str, **form):
        form = {"csrf_token": csrf(operator), "action": action, **form}
        return text(operator.post(f"/portal/payments/lines/{line}", data=form, follow_redirects=True))

    assert "Dites en 200 caractères au plus pourquoi la ligne ne paie aucune facture." in decide(interest, "dismiss", reason="  ")
    page = decide(interest, "dismiss", reason="Intérêts créditeurs de novembre")
    assert f"La ligne bancaire {interest} est mise de côté" in page and "Rien à examiner" in page
    assert f'id="dismissed-{interest}"' in page and "Intérêts créditeurs de novembre" in page and emails[OPERATOR] in page
    assert "est mise de côté comme ne payant aucune facture" in decide(interest, "confirm", invoice=ids[1])
    page = decide(interest, "undo")
    assert f"La ligne bancaire {interest} est de nouveau à examiner." in page and f'id="line-{interest}"' in page
    assert f'id="dismissed-{interest}"' not in page
    page = decide(paid, "undo")  # the engine's match undone: the line waits for the person, the engine leaves it alone
    assert f'id="line-{paid}"' in page and "2 lignes bancaires attendent une décision." in page
    with portal_app.extensions["gateway.database"].session() as session:
        service.run(session, portal_app.extensions["gateway.archive"], tenant_id)
        assert session.get(pm.BankLine, paid).state == pm.DECIDED and position(session, session.get(db.Invoice, ids[0]))["status"] == "unpaid"


def test_the_invoice_page_shows_its_payment_state_payments_and_discount(portal_app, ledger):
    """After an import: a paid invoice says so with its payment (the bank line, the rule, the discount its terms
    granted); an open one says it is unpaid and where payments come from."""
    tenant_id, emails, numbers, ids, tag = ledger
    database, archive = portal_app.extensions["gateway.database"], portal_app.extensions["gateway.archive"]
    terms = {"subject_code": "AAB", "text": "Escompte de 2 % pour paiement sous 15 jours."}
    notes = [terms if note.get("subject_code") == "AAB" else note for note in example("invoice-fr-b2b", "")["notes"]]
    with database.session() as session:
        discounted = intake.submit_json(session, archive, session.get(db.Tenant, tenant_id), example("invoice-fr-b2b", f"F{tag}-9", notes=notes)).id
    operator = client_for(portal_app, emails[OPERATOR])
    received = AMOUNT - Decimal("298.95")  # 2 % of the total, paid 12 days after the issue date
    upload(operator, camt_statement(tag, [camt_entry(f"{tag}-9", received, f"Reglement {numbers[0][:-1]}9", "BOULANGERIES MARTIN")]))
    [line] = line_ids(portal_app, tenant_id)
    page = text(operator.get(f"/portal/invoices/{discounted}", headers={"Accept-Language": "fr"}))
    section = page[page.index('id="payment"') : page.index("</section>", page.index('id="payment"'))]
    assert "payée" in section and "Escompte pour paiement anticipé" in section and "298,95" in section and f"ligne {line}" in section
    assert "numéro de facture dans le libellé" in section  # the rule that found it
    unpaid = text(operator.get(f"/portal/invoices/{ids[1]}", headers={"Accept-Language": "fr"}))
    assert "non payée" in unpaid and "Aucun paiement rapproché pour l'instant" in unpaid

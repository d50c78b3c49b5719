"""POST /api/v1/bank-statements end to end on SQLite and PostgreSQL: import, idempotency, malformed files, 212, decisions, undo."""

from __future__ import annotations

import json
import threading
import uuid
from decimal import Decimal

from sqlalchemy import func, select

from gateway.payments import models as pm
from gateway.payments import review, service
from gateway.payments.effects import position
from gateway.store import models as db
from gateway.webhooks import sender
from gateway.webhooks.models import WebhookDelivery
from tests.conftest import load_example
from tests.payments.conftest import AMOUNT, camt_entry, camt_statement, data, issue


def _import(api, name_or_bytes):
    body = data(name_or_bytes) if isinstance(name_or_bytes, str) else name_or_bytes
    return api.post("/api/v1/bank-statements", data=body, headers={"Content-Type": "application/octet-stream"})


def _payment(api, invoice_id: str) -> dict:
    response = api.get(f"/api/v1/invoices/{invoice_id}/payment")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _codes(api, invoice_id: str) -> list[str]:
    return [e["code"] for e in api.get(f"/api/v1/invoices/{invoice_id}/statuses").get_json()["events"]]


def test_camt053_import_matches_pays_and_records_212_once(api, database, archive):
    invoices = {n: issue(api, database, archive, n)["id"] for n in ("F2026-000142", "FA2026-12", "FA2026-13", "FA2026-14")}
    response = _import(api, "camt053_v08.xml")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["imported"], body["already_imported"], body["statements"][0]["format"]) == (3, 0, "camt.053.001.08")
    by_reference, grouped, fee = body["lines"]
    assert [(m["rule"], m["state"]) for m in by_reference["matches"]] == [("creditor_reference", "applied")]
    assert [m["invoice_id"] for m in grouped["matches"]] == [invoices["FA2026-12"], invoices["FA2026-13"], invoices["FA2026-14"]]
    assert {m["rule"] for m in grouped["matches"]} == {"text_references"} and fee["state"] == "unmatched"
    for invoice_id in invoices.values():
        payment = _payment(api, invoice_id)
        assert (payment["status"], payment["amount_paid"], payment["still_due"]) == ("paid", "14947.54", "0.00")
        assert _codes(api, invoice_id)[-1] == "212"
        assert api.get(f"/api/v1/invoices/{invoice_id}").get_json()["payment"] == payment  # the invoice says it too
    timeline = api.get(f"/api/v1/invoices/{invoices['F2026-000142']}/statuses").get_json()
    assert timeline["payment"]["still_due"] == "0.00" and timeline["events"][-1]["source"] == "payment"

    again = _import(api, "camt053_v08.xml")  # the same statement: nothing new
    assert (again.status_code, again.get_json()["imported"], again.get_json()["already_imported"]) == (200, 0, 3)
    assert [_codes(api, i).count("212") for i in invoices.values()] == [1, 1, 1, 1]


def test_fees_partial_payment_and_not_delivered_invoice(api, database, archive):
    fees = issue(api, database, archive, "F2026-000143")["id"]
    partial = issue(api, database, archive, "FA2026-15")["id"]
    undelivered = issue(api, database, archive, "F2026-000144", deliver=False)["id"]
    assert _import(api, "camt054_v02.xml").status_code == 201
    payment = _payment(api, fees)
    assert (payment["status"], payment["payments"][0]["written_off"], payment["payments"][0]["amount"]) == ("paid", "2.50", "14945.04")
    assert _codes(api, fees)[-1] == "212"
    body = _import(api, "statement.mt940").get_json()
    assert [line["state"] for line in body["lines"]] == ["matched", "matched", "unmatched"]
    assert (_payment(api, partial)["status"], _payment(api, partial)["amount_paid"]) == ("partially_paid", "5000.00")
    assert _codes(api, partial)[-1] == "212"  # a partial payment is a 212 too (of the 5000.00 collected)
    assert api.get(f"/api/v1/invoices/{partial}/statuses").get_json()["payment"]["collected"] == "5000.00"
    paid = _payment(api, undelivered)
    assert paid["status"] == "paid" and "needs an invoice that was delivered" in paid["payments"][0]["evidence"]["212"]
    assert "212" not in _codes(api, undelivered)  # the lifecycle does not allow it yet: not recorded, and said so


def test_malformed_statement_imports_nothing_and_names_the_element(api, database, archive):
    issue(api, database, archive, "FA2026-12")
    broken = data("camt053_v08.xml").replace(b'<Amt Ccy="EUR">12.00</Amt>', b"<Amt>12.00</Amt>")
    response = _import(api, broken)
    problem = response.get_json()
    assert response.status_code == 422 and "Stmt[1]/Ntry[3]/Amt" in problem["detail"]
    assert _import(api, b"\x00\x01 not a statement").status_code == 415
    assert _import(api, b"").status_code == 400
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(pm.BankLine).join(pm.BankStatement).where(pm.BankStatement.account == "x")) == 0
    assert _import(api, "camt053_v08.xml").get_json()["imported"] == 3  # nothing of the broken file was kept


def test_a_persons_decision_is_never_overridden_and_undo_gives_the_212_back(api, database, archive):
    first, second = issue(api, database, archive, "F2026-000142")["id"], issue(api, database, archive, "F2026-000143")["id"]
    mt940 = data("statement.mt940").replace(b"/EREF/F2026-000144", b"/EREF/unknown")  # no reference: the amount fits both → review
    [line, *_] = _import(api, mt940).get_json()["lines"]
    assert line["state"] == "review" and {m["invoice_id"] for m in line["matches"]} >= {first}
    assert api.post(f"/api/v1/bank-lines/{2**80}/decision", json={"undo": True}).status_code == 404  # not an id: no overflow
    rejected = api.post(f"/api/v1/bank-lines/{line['id']}/decision", json={"reject": first})
    assert rejected.status_code == 200 and all(m["invoice_id"] != first for m in rejected.get_json()["matches"])
    confirmed = api.post(f"/api/v1/bank-lines/{line['id']}/decision", json={"confirm": [second]})
    assert confirmed.status_code == 200 and confirmed.get_json()["state"] == "decided"
    assert _payment(api, second)["payments"][0]["decided_by"].startswith("person:") and _codes(api, second)[-1] == "212"
    with database.session() as session:  # a later automatic run leaves the person's decision alone
        tenant_id = session.get(db.Invoice, second).tenant_id
        service.run(session, archive, tenant_id)
        assert session.get(pm.BankLine, line["id"]).state == pm.DECIDED
        assert [m.decided_by[:7] for m in session.get(pm.BankLine, line["id"]).matches if m.state == pm.APPLIED] == ["person:"]
    undone = api.post(f"/api/v1/bank-lines/{line['id']}/decision", json={"undo": True})
    assert undone.status_code == 200 and undone.get_json()["matches"] == []
    assert _payment(api, second)["status"] == "unpaid"
    timeline = api.get(f"/api/v1/invoices/{second}/statuses").get_json()
    assert [e["code"] for e in timeline["events"]][-2:] == ["212", "212"] and timeline["payment"]["collected"] == "0.00"
    with database.session() as session:
        service.run(session, archive, tenant_id)
        assert position(session, session.get(db.Invoice, second))["status"] == "unpaid"  # not matched again behind the person's back


def test_the_iban_of_a_confirmed_match_is_learned(api, database, archive):
    issue(api, database, archive, "F2026-000142")
    _import(api, "camt053_v08.xml")  # paid by RF from DE89…: the IBAN now names the buyer
    later = issue(api, database, archive, "F2026-000150")["id"]
    line = data("camt054_v02.xml").replace(b"NTF-20261203-17", b"NTF-20261210-02").replace(b"14945.04", b"14947.54")
    line = line.replace(b"<Dbtr><Nm>MARTIN BOULANGERIES</Nm></Dbtr>", b"<DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>")
    line = line.replace(b"Facture n\xc2\xb0 F 2026-000143 (frais deduits)", b"VIREMENT")
    [matched] = _import(api, line).get_json()["lines"]
    assert [(m["rule"], m["invoice_id"], m["evidence"]["learned"]) for m in matched["matches"]] == [("payer_amount", later, True)]


def test_two_overlapping_imports_at_once_match_each_line_once(api, database, archive):
    invoices = [issue(api, database, archive, n)["id"] for n in ("F2026-000142", "FA2026-12", "FA2026-13", "FA2026-14")]
    with database.session() as session:
        tenant_id = session.get(db.Invoice, invoices[0]).tenant_id
    overlapping = data("camt053_v08.xml").replace(b"<Id>STMT-2026-12-02</Id>", b"<Id>STMT-2026-12-02-BIS</Id>")
    errors: list[BaseException] = []

    def run(body: bytes) -> None:
        try:
            service.import_file(database, archive, tenant_id, body)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(body,)) for body in (data("camt053_v08.xml"), overlapping)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    with database.session() as session:
        lines = session.scalars(select(pm.BankLine).where(pm.BankLine.tenant_id == tenant_id)).all()
        assert len(lines) == 3
        applied = session.scalars(select(pm.PaymentMatch).where(pm.PaymentMatch.tenant_id == tenant_id, pm.PaymentMatch.state == pm.APPLIED)).all()
        assert sorted(m.invoice_id for m in applied) == sorted(invoices)


def test_each_partial_payment_is_a_212_split_by_vat_rate_and_undoing_one_gives_back_its_own(api, database, archive):
    """A deposit and the rest: two 212s, each split over the invoice's VAT rates in proportion to what each still asks
    for, adding up to the invoice's due; undoing the deposit gives back its 212 alone."""
    invoice_id = issue(api, database, archive, "FA2026-15")["id"]
    [deposit, *_] = _import(api, "statement.mt940").get_json()["lines"][1:2]  # 5000.00 "Acompte facture FA2026-15"
    after_deposit = api.get(f"/api/v1/invoices/{invoice_id}/statuses").get_json()["payment"]
    assert (after_deposit["collected"], _payment(api, invoice_id)["status"]) == ("5000.00", "partially_paid")
    by_rate = {r["vat_rate"]: r for r in after_deposit["by_vat_rate"]}
    assert len(by_rate) > 1  # the example has several rates: the deposit is shared between them
    for row in by_rate.values():
        share = Decimal(row["collected"]) / Decimal("5000.00")
        assert abs(share - Decimal(row["due"]) / Decimal(after_deposit["due"])) < Decimal("0.0001")
    rest = data("camt054_v02.xml").replace(b"14945.04", b"9947.54").replace(b"F 2026-000143 (frais deduits)", b"FA2026-15 solde")
    assert _import(api, rest).get_json()["lines"][0]["state"] == "matched"
    paid = api.get(f"/api/v1/invoices/{invoice_id}/statuses").get_json()["payment"]
    assert _payment(api, invoice_id)["status"] == "paid" and _codes(api, invoice_id).count("212") == 2
    assert paid["still_due"] == "0.00" and all(r["still_due"] == "0.00" for r in paid["by_vat_rate"])
    assert api.post(f"/api/v1/bank-lines/{deposit['id']}/decision", json={"undo": True}).status_code == 200
    payment = _payment(api, invoice_id)
    assert (payment["status"], payment["amount_paid"]) == ("partially_paid", "9947.54")
    timeline = api.get(f"/api/v1/invoices/{invoice_id}/statuses").get_json()
    assert _codes(api, invoice_id).count("212") == 3 and timeline["payment"]["collected"] == "9947.54"


def test_the_erp_is_told_of_each_payment_and_of_each_payment_undone(api, database, archive):
    """invoice.payment_received for the engine's match and a person's, invoice.payment_undone for an undo: in the same transaction."""
    invoice_id = issue(api, database, archive, "FA2026-15")["id"]
    with database.session() as session:
        tenant_id = session.get(db.Invoice, invoice_id).tenant_id
        sender.subscribe(session, b"k" * 32, tenant_id, "https://erp.example/hooks", ["invoice.payment_received", "invoice.payment_undone"])
    [deposit] = _import(api, "statement.mt940").get_json()["lines"][1:2]  # 5000.00 "Acompte facture FA2026-15": a partial payment
    assert api.post(f"/api/v1/bank-lines/{deposit['id']}/decision", json={"undo": True}).status_code == 200

    with database.session() as session:
        sent = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.invoice_id == invoice_id).order_by(WebhookDelivery.created_at, WebhookDelivery.id)
        )
        bodies = [json.loads(delivery.payload) for delivery in sent]
    assert sorted(b["event"] for b in bodies) == ["invoice.payment_received", "invoice.payment_undone"]
    received = next(b["data"] for b in bodies if b["event"] == "invoice.payment_received")
    undone = next(b["data"] for b in bodies if b["event"] == "invoice.payment_undone")
    assert (received["payment"]["amount"], received["payment"]["bank_line"], received["payment"]["decided_by"]) == (
        "5000.00",
        deposit["id"],
        "engine",
    )
    expected = {"status": "partially_paid", "amount_due": "14947.54", "amount_paid": "5000.00", "discount": "0.00", "still_due": "9947.54"}
    assert received["payment_state"] == expected
    assert undone["payment"]["match"] == received["payment"]["match"] and undone["payment_state"]["status"] == "unpaid"
    assert received["invoice"]["id"] == invoice_id


def test_a_line_paying_no_invoice_is_dismissed_with_why_then_undone(api, database, archive):
    """{"dismiss": why}: out of the queue with its reason, no decision on it but undo; undone, it waits for a person again."""
    issue(api, database, archive, "F2026-000142")
    mt940 = data("statement.mt940").replace(b"/EREF/F2026-000144", b"/EREF/unknown")
    [line, *_] = _import(api, mt940).get_json()["lines"]
    decide = f"/api/v1/bank-lines/{line['id']}/decision"
    assert api.post(decide, json={"dismiss": 3}).status_code == 422
    assert api.post(decide, json={"dismiss": " "}).get_json()["code"] == "invalid_decision"
    dismissed = api.post(decide, json={"dismiss": "Remboursement d'un trop-perçu fournisseur"})
    assert dismissed.status_code == 200
    assert (dismissed.get_json()["state"], dismissed.get_json()["dismissal"], dismissed.get_json()["matches"]) == (
        "dismissed",
        "Remboursement d'un trop-perçu fournisseur",
        [],
    )
    with database.session() as session:
        tenant_id = session.get(pm.BankLine, line["id"]).tenant_id
        service.run(session, archive, tenant_id)  # an automatic run leaves it alone
        assert session.get(pm.BankLine, line["id"]).state == pm.DISMISSED
        assert line["id"] not in [r.line.id for r in review.queue(session, tenant_id)]
    refused = api.post(decide, json={"confirm": [line["matches"][0]["invoice_id"]]})
    assert (refused.status_code, refused.get_json()["code"]) == (409, "dismissed")
    back = api.post(decide, json={"undo": True}).get_json()
    assert (back["state"], back["dismissal"]) == ("decided", None)
    with database.session() as session:
        assert line["id"] in [r.line.id for r in review.queue(session, tenant_id)]
    assert api.post(decide, json={"undo": True}).status_code == 409  # nothing left to undo


def test_a_payment_less_an_open_credit_note_nets_it_and_pays_the_invoice(api, database, archive):
    """The buyer pays F2026-000142 less its credit note AV2026-000018: the invoice paid (212), the credit note used (no 212)."""
    invoice_id = issue(api, database, archive, "F2026-000142")["id"]
    response = api.post("/api/v1/invoices", json=load_example("credit-note-fr-b2b"))
    assert response.status_code == 201, response.get_json()
    credit_id = response.get_json()["id"]
    with database.session() as session:
        credited = session.get(db.Invoice, credit_id).tax_inclusive_amount
    entry = camt_entry("NET-1", AMOUNT - credited, "Reglement F2026-000142 moins avoir", "BOULANGERIES MARTIN")
    [line] = _import(api, camt_statement(uuid.uuid4().hex[:8], [entry])).get_json()["lines"]
    assert line["state"] == "matched"
    [match] = [m for m in line["matches"] if m["invoice_id"] == invoice_id]
    assert match["evidence"]["credit_notes"] == ["AV2026-000018"] and match["rule"] == "text_reference"
    assert _payment(api, invoice_id)["status"] == "paid" and _codes(api, invoice_id)[-1] == "212"
    credit = _payment(api, credit_id)
    assert (credit["status"], credit["amount_paid"], credit["payments"][0]["amount"]) == ("paid", str(credited), str(-credited))
    assert "212" not in _codes(api, credit_id) and credit["payments"][0]["evidence"]["212"] == "a credit note netted: no 212"
    assert api.post(f"/api/v1/bank-lines/{line['id']}/decision", json={"undo": True}).status_code == 200
    assert (_payment(api, invoice_id)["status"], _payment(api, credit_id)["status"]) == ("unpaid", "unpaid")
    # A person nets it by hand: the invoice and the credit note named together.
    confirmed = api.post(f"/api/v1/bank-lines/{line['id']}/decision", json={"confirm": [invoice_id, credit_id]})
    assert confirmed.status_code == 200 and (_payment(api, invoice_id)["status"], _payment(api, credit_id)["status"]) == ("paid", "paid")


def _other_buyer() -> dict:
    buyer = load_example("invoice-fr-b2b")["buyer"]
    siren = "552100554"
    return {
        **buyer,
        "name": "Transports Lyonnais SA",
        "identifiers": [],
        "legal_registration_id": {"value": siren, "scheme": "0002"},
        "vat_id": f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}",
        "electronic_address": {"value": siren, "scheme": "0225"},
    }


def test_a_persons_decision_teaches_the_payers_name_and_how_the_buyer_writes_numbers(api, database, archive):
    """Two invoices numbered …142 of two buyers: "F26/142" is ambiguous, a person decides; the next "F26/143" of the
    same buyer is recognised by the way it writes numbers, and the payer by its name, without a person."""
    first = issue(api, database, archive, "F2026-000142")["id"]
    issue(api, database, archive, "G2026-000142", buyer=_other_buyer())
    later = issue(api, database, archive, "F2026-000143")["id"]
    issue(api, database, archive, "G2026-000143", buyer=_other_buyer())
    tag = uuid.uuid4().hex[:8]
    [line] = _import(api, camt_statement(tag, [camt_entry(f"{tag}-1", AMOUNT, "Paiement F26/142", "BM SIEGE LYON")])).get_json()["lines"]
    assert line["state"] == "review"
    assert api.post(f"/api/v1/bank-lines/{line['id']}/decision", json={"confirm": [first]}).status_code == 200
    entry = camt_entry(f"{tag}-2", AMOUNT, "Reglement F26/143", "BM SIEGE LYON")
    [taught] = _import(api, camt_statement(f"{tag}-2", [entry])).get_json()["lines"]
    [match] = taught["matches"]
    assert (taught["state"], match["rule"], match["invoice_id"]) == ("matched", "learned_reference", later)
    assert match["evidence"]["learned_prefix"] == "F26/"
    # The payer's name alone, and the amount of one of its buyer's invoices: recognised as learned.
    third = issue(api, database, archive, "F2026-000190", lines=[{**load_example("invoice-fr-b2b")["lines"][0], "quantity": "1"}])
    due = Decimal(api.get(f"/api/v1/invoices/{third['id']}").get_json()["totals"]["amount_due"])
    named = camt_entry(f"{tag}-3", due, "VIREMENT", "BM SIEGE LYON")
    [by_name] = _import(api, camt_statement(f"{tag}-3", [named])).get_json()["lines"]
    assert [(m["rule"], m["invoice_id"], m["evidence"]["learned"]) for m in by_name["matches"]] == [("payer_amount", third["id"], True)]


def test_an_early_payment_discount_the_terms_grant_settles_the_invoice_and_the_212_says_what_was_received(api, database, archive):
    """The invoice's AAB note grants 2 % within 15 days: paid 12 days after issue less 2 %, it is paid, the discount
    recorded as such; the 212 is what the bank received.  A person confirming the same line grants it too."""
    notes = [
        n if n.get("subject_code") != "AAB" else {**n, "text": "Escompte de 2 % pour paiement sous 15 jours."}
        for n in load_example("invoice-fr-b2b")["notes"]
    ]
    invoice_id = issue(api, database, archive, "FA2026-E1", notes=notes)["id"]
    received = AMOUNT - Decimal("298.95")  # 2 % of 14947.54
    entry = camt_entry("ESC-1", received, "Reglement FA2026-E1 escompte deduit", "BOULANGERIES MARTIN")  # value date 2026-12-02
    [line] = _import(api, camt_statement(uuid.uuid4().hex[:8], [entry])).get_json()["lines"]
    [match] = line["matches"]
    assert (line["state"], match["rule"], match["amount"], match["discount"], match["written_off"]) == (
        "matched",
        "text_reference",
        str(received),
        "298.95",
        "0.00",
    )
    assert match["evidence"]["discount"] == [{"invoice": "FA2026-E1", "percent": "2", "until": "2026-12-05", "discount": "298.95"}]
    payment = _payment(api, invoice_id)
    assert (payment["status"], payment["amount_paid"], payment["discount"], payment["still_due"]) == ("paid", str(received), "298.95", "0.00")
    assert _codes(api, invoice_id)[-1] == "212" and api.get(f"/api/v1/invoices/{invoice_id}/statuses").get_json()["payment"]["collected"] == str(
        received
    )
    assert api.post(f"/api/v1/bank-lines/{line['id']}/decision", json={"undo": True}).status_code == 200
    assert _payment(api, invoice_id)["status"] == "unpaid"
    confirmed = api.post(f"/api/v1/bank-lines/{line['id']}/decision", json={"confirm": [invoice_id]})
    assert confirmed.status_code == 200 and _payment(api, invoice_id)["discount"] == "298.95"
    # Paid too late for it: the same amount is a partial payment, and what the buyer kept is still due.
    late = issue(api, database, archive, "FA2026-E2", notes=notes, issue_date="2026-11-10", due_date="2026-12-10")["id"]
    entry = camt_entry("ESC-2", received, "Reglement FA2026-E2 escompte deduit", "BOULANGERIES MARTIN")
    [line] = _import(api, camt_statement(uuid.uuid4().hex[:8], [entry])).get_json()["lines"]
    payment = _payment(api, late)
    assert (payment["status"], payment["discount"], payment["still_due"]) == ("partially_paid", "0.00", "298.95")

"""A dunning run end to end: tiers on their days, e-mails at the loopback SMTP server with the invoice (and the letter),
the same run twice sending nothing new, none after payment or dispute."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from gateway.dunning import service
from gateway.store import models as db
from tests.dunning.helpers import POLICY, issue, messages_to

DUE = date(2026, 9, 30)


def _tenant_id(database, invoice_id: str) -> int:
    with database.session() as session:
        return session.get(db.Invoice, invoice_id).tenant_id


def test_each_tier_on_its_day_once_with_the_invoice_attached(api, database, archive, smtp, mailer, settings):
    assert api.put("/api/v1/dunning/policies/default", json=POLICY).status_code == 200
    invoice = issue(api, database, archive, "DUN-0001", DUE)
    tenant = _tenant_id(database, invoice["id"])
    buyer = "claire.martin@boulangeries-martin.example"
    before = len(messages_to(smtp, buyer))
    sent_on = {}
    for offset in range(0, 60):
        day = DUE + timedelta(days=offset)
        result = service.run(database, archive, mailer, settings, day, tenant_id=tenant)
        for item in result.planned:
            sent_on[item["tier"]] = day
    assert sent_on == {"rappel": DUE + timedelta(days=7), "relance": DUE + timedelta(days=21), "mise-en-demeure": DUE + timedelta(days=45)}
    mails = messages_to(smtp, buyer)[before:]
    assert [m["Subject"] for m in mails] == [
        "Rappel : facture DUN-0001 arrivée à échéance",
        "Relance : facture DUN-0001 impayée (21 jours de retard)",
        "Mise en demeure de payer : facture DUN-0001",
    ]
    attachments = [[a.get_filename() for a in m.iter_attachments()] for m in mails]
    assert attachments == [["DUN-0001.pdf"], ["DUN-0001.pdf"], ["DUN-0001.pdf", "mise-en-demeure-DUN-0001.pdf"]]
    reminders = api.get(f"/api/v1/invoices/{invoice['id']}/reminders").get_json()["reminders"]
    assert [(r["tier"], r["state"]) for r in reminders] == [("rappel", "sent"), ("relance", "sent"), ("mise-en-demeure", "sent")]
    assert reminders[0]["penalties"] == "0.00" and reminders[0]["indemnity"] == "0.00"  # friendly: nothing claimed
    assert Decimal(reminders[1]["penalties"]) > 0 and reminders[1]["indemnity"] == "40.00"
    again = service.run(database, archive, mailer, settings, DUE + timedelta(days=59), tenant_id=tenant)
    assert again.planned == [] and len(messages_to(smtp, buyer)) == before + 3
    letter = api.get(f"/api/v1/invoices/{invoice['id']}/reminders/{reminders[2]['id']}/letter")
    assert letter.status_code == 200 and letter.data.startswith(b"%PDF")

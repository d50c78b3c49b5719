"""Reminders in the cases a credit manager meets: a server refusing for a while, a public buyer, a buyer speaking English,
an invoice paid or disputed before a retry, the dry run of the command line and the run it previews."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from gateway.cli import main
from gateway.dunning import service
from gateway.jobs.deliver import Deliverer
from gateway.jobs.worker import Worker
from gateway.lifecycle import codes
from gateway.lifecycle import service as lifecycle
from gateway.lifecycle.events import StatusChange
from gateway.routing import directory
from gateway.store import models as db
from gateway.store.session import Database
from tests.conftest import load_example
from tests.dunning.helpers import POLICY, issue, messages_to

DUE = date(2026, 8, 31)
DUE_TIME = datetime(2026, 9, 8, 9, 0, tzinfo=UTC)
BUYER = "claire.martin@boulangeries-martin.example"


def _reminders(api, invoice_id: str) -> list[dict]:
    return api.get(f"/api/v1/invoices/{invoice_id}/reminders").get_json()["reminders"]


def _tenant(database, invoice_id: str) -> db.Tenant:
    with database.session() as session:
        tenant = session.get(db.Invoice, invoice_id).tenant
        session.expunge(tenant)
        return tenant


def _refused_once(api, database, archive, smtp, mailer, settings, number: str) -> tuple[dict, int, service.RunResult]:
    """An invoice whose first reminder the SMTP server refuses for now (451): (the invoice, its tenant id, the run)."""
    api.put("/api/v1/dunning/policies/default", json=POLICY)
    invoice = issue(api, database, archive, number, DUE)
    tenant = _tenant(database, invoice["id"]).id
    smtp.tempfail = True
    try:
        return invoice, tenant, service.run(database, archive, mailer, settings, DUE + timedelta(days=8), tenant_id=tenant)
    finally:
        smtp.tempfail = False


def test_a_refused_send_is_retried_by_the_next_run_with_the_same_message_id(api, database, archive, smtp, mailer, settings):
    since = len(smtp.messages)
    invoice, tenant, first = _refused_once(api, database, archive, smtp, mailer, settings, "RETRY-01")
    [failed] = _reminders(api, invoice["id"])
    assert (first.failed, failed["state"], failed["attempts"]) == (1, "failed", 1)
    assert "451" in failed["error"] and failed["detail"]["channels"]["email"]["transient"] is True
    second = service.run(database, archive, mailer, settings, DUE + timedelta(days=9), tenant_id=tenant)
    [sent] = _reminders(api, invoice["id"])
    assert (second.sent, second.planned, sent["state"], sent["attempts"], sent["as_of"]) == (1, [], "sent", 2, (DUE + timedelta(days=8)).isoformat())
    [message] = [m for m in messages_to(smtp, BUYER, since) if "RETRY-01" in m["Subject"]]
    assert message["Message-ID"] == sent["detail"]["channels"]["email"]["message_id"]


def test_a_retry_after_the_buyer_disputes_the_invoice_sends_nothing(api, database, archive, smtp, mailer, settings):
    since = len(smtp.messages)
    invoice, tenant, _ = _refused_once(api, database, archive, smtp, mailer, settings, "RETRY-02")
    with database.session() as session:
        change = StatusChange("207", DUE_TIME, codes.BUYER, reason_code="QTE_ERR")
        lifecycle.record(session, archive, session.get(db.Invoice, invoice["id"]), change, source=lifecycle.SOURCE_PARTNER, actor="buyer")
    assert service.run(database, archive, mailer, settings, DUE + timedelta(days=9), tenant_id=tenant).sent == 0
    [skipped] = _reminders(api, invoice["id"])
    assert skipped["state"] == "skipped" and "in dispute (207)" in skipped["error"]
    assert not [m for m in messages_to(smtp, BUYER, since) if "RETRY-02" in m["Subject"]]


def test_a_public_buyer_is_claimed_moratorium_interest_only(api, database, archive, smtp, mailer, settings):
    since = len(smtp.messages)
    api.put("/api/v1/dunning/policies/default", json={**POLICY, "penalty_rate": "15"})
    invoice = issue(api, database, archive, "PUB-01", DUE)
    tenant = _tenant(database, invoice["id"])
    with database.session() as session:
        directory.import_csv(session, "scheme,identifier,name,public_sector\nsiren,356000000,Boulangeries Martin,true\n", tenant)
    service.run(database, archive, mailer, settings, DUE + timedelta(days=21), tenant_id=tenant.id)
    [skipped, reminder] = _reminders(api, invoice["id"])
    assert skipped["state"] == "skipped" and reminder["tier"] == "relance"
    ecb = Decimal("2.15")  # the ECB rate in force on 1 July 2026 (the latest known)
    assert reminder["detail"]["rate"] == str(ecb + 8) and reminder["detail"]["public_buyer"] is True
    assert reminder["penalties"] == str((Decimal("14947.54") * (ecb + 8) * 21 / 36500).quantize(Decimal("0.01")))
    [message] = [m for m in messages_to(smtp, BUYER, since) if "PUB-01" in m["Subject"]]
    assert "intérêts moratoires, taux BCE + 8 points, art. R2192-31 CCP" in message.get_body().get_content()


def test_an_english_policy_writes_in_english(api, database, archive, smtp, mailer, settings):
    since = len(smtp.messages)
    api.put("/api/v1/dunning/policies/356000000", json={**POLICY, "language": "en", "email": "ap@boulangeries-martin.example"})
    invoice = issue(api, database, archive, "EN-01", DUE)
    service.run(database, archive, mailer, settings, DUE + timedelta(days=7), tenant_id=_tenant(database, invoice["id"]).id)
    [message] = messages_to(smtp, "ap@boulangeries-martin.example", since)
    assert message["Subject"] == "Reminder: invoice EN-01 is past due" and message.get_body()["Content-Language"] == "en"
    body = message.get_body().get_content()
    assert "Amount still due: EUR 14,947.54" in body and "Late-payment interest" not in body  # friendly: nothing claimed


def test_the_command_line_previews_then_sends(api, database, archive, smtp, gateway_config, tmp_path, monkeypatch, capsys):
    since = len(smtp.messages)
    api.put("/api/v1/dunning/policies/default", json=POLICY)
    invoice = issue(api, database, archive, "CLI-01", DUE)
    tenant = _tenant(database, invoice["id"]).name
    folder = tmp_path / "config"
    folder.mkdir()
    email = smtp.client_config(smtp.ca_file)
    (folder / "routing.toml").write_text("[delivery.connectors.email]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in email.items()))
    for name, value in (("DATA_DIR", gateway_config.data_dir), ("DATABASE_URL", gateway_config.database_url), ("CONFIG_DIR", folder)):
        monkeypatch.setenv(f"GATEWAY_{name}", str(value))
    as_of = (DUE + timedelta(days=30)).isoformat()
    assert main(["dunning", "run", "--dry-run", "--as-of", as_of, "--tenant", tenant, "--json"]) == 0
    preview = json.loads(capsys.readouterr().out)
    assert [(r["invoice_number"], r["tier"], r["skipped"]) for r in preview["reminders"]] == [("CLI-01", "relance", ["rappel"])]
    assert _reminders(api, invoice["id"]) == [] and not [m for m in messages_to(smtp, BUYER, since) if "CLI-01" in m["Subject"]]
    assert main(["dunning", "run", "--as-of", as_of, "--tenant", tenant]) == 0
    out = capsys.readouterr().out
    assert "CLI-01" in out and "1 sent, 0 failed" in out
    assert [(r["tier"], r["state"]) for r in _reminders(api, invoice["id"])] == [("rappel", "skipped"), ("relance", "sent")]
    assert main(["dunning", "run", "--as-of", as_of, "--tenant", tenant]) == 0 and "no reminder due" in capsys.readouterr().out
    assert main(["dunning", "run", "--as-of", as_of, "--tenant", "nobody"]) == 2 and "No tenant named 'nobody'" in capsys.readouterr().err


@pytest.fixture(autouse=True)
def _no_leftover_tempfail(smtp):
    yield
    smtp.tempfail = False


def test_the_worker_runs_dunning_periodically_unless_turned_off(gateway_config, database, archive):
    on = Worker(Deliverer(database, archive, gateway_config), 1)._scheduler
    assert on is not None and on.get_job("dunning").trigger.interval.total_seconds() == 3600
    off_config = replace(gateway_config, sections={**gateway_config.sections, "dunning": {"enabled": False}})
    off_database = Database(off_config)
    try:
        off = Worker(Deliverer(off_database, archive, off_config), 1)._scheduler
    finally:
        off_database.dispose()
    assert off is not None and off.get_job("dunning") is None


def test_the_invoices_payment_link_is_offered_in_the_reminder(api, database, archive, smtp, mailer, settings):
    since, link = len(smtp.messages), "https://pay.example.com/F/LINK-01?amount=14947.54"
    payment = {**load_example("invoice-fr-b2b")["payment"], "link": link}
    api.put("/api/v1/dunning/policies/356000000", json={**POLICY, "email": "link@boulangeries-martin.example"})
    invoice = issue(api, database, archive, "LINK-01", DUE, payment=payment)
    service.run(database, archive, mailer, settings, DUE + timedelta(days=7), tenant_id=_tenant(database, invoice["id"]).id)
    [message] = messages_to(smtp, "link@boulangeries-martin.example", since)
    assert f"Payer en ligne : {link}" in message.get_body().get_content()

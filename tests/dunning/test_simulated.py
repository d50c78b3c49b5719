"""Acceptance: a simulated clock over 120 days of invoices, payments (bank statements and the ERP's 212) and disputes.

Each day the day's events happen, then a dunning run dated that day.  An independent oracle, written from the
policy's words, says which reminder each invoice gets on which day and what it claims; the gateway must agree exactly,
and every reminder must reach the loopback SMTP server once, with the invoice attached (and the letter for the notice).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from gateway.dunning import service
from gateway.lifecycle import codes
from gateway.lifecycle import service as lifecycle
from gateway.lifecycle.events import StatusChange
from gateway.store import models as db
from tests.dunning.helpers import POLICY, issue, messages_to

START = date(2026, 6, 1)
DAYS = 120
TOTAL = Decimal("14947.54")  # the French B2B example's amount due
RATE = Decimal("8.28")  # its terms: three times the legal interest rate (2.76 % in 2026, the latest known)
TIERS = [(t["name"], t["days"], t["tone"] != "friendly") for t in POLICY["tiers"]]
BUYER = "claire.martin@boulangeries-martin.example"


@dataclass
class Case:
    number: str
    due: date
    payments: list[tuple[date, Decimal, str]] = field(default_factory=list)  # (day, amount, "bank" | "erp")
    dispute: date | None = None
    id: str = ""


def _cases(rng: random.Random) -> list[Case]:
    cases = []
    for index in range(24):
        case = Case(f"SIM-{index:04d}", START + timedelta(days=rng.randrange(0, 50)))
        kind = index % 6
        if kind == 1:  # paid in full by transfer, late
            case.payments.append((case.due + timedelta(days=rng.randrange(3, 40)), TOTAL, "bank"))
        elif kind == 2:  # a partial payment reported by the ERP, the rest never
            case.payments.append((case.due + timedelta(days=rng.randrange(5, 30)), Decimal("5000.00"), "erp"))
        elif kind == 3:  # disputed by the buyer
            case.dispute = case.due + timedelta(days=rng.randrange(1, 40))
        elif kind == 4:  # two partial payments, then the rest by transfer
            first = case.due + timedelta(days=rng.randrange(8, 20))
            case.payments += [(first, Decimal("4000.00"), "erp"), (first + timedelta(days=rng.randrange(10, 30)), TOTAL - 4000, "bank")]
        elif kind == 5:  # paid on time
            case.payments.append((case.due - timedelta(days=2), TOTAL, "bank"))
        cases.append(case)
    return cases


def _expected(case: Case) -> list[tuple[str, date, Decimal, Decimal, Decimal]]:
    """The oracle: (tier, day, claimed, penalties, indemnity) of each reminder the policy gives this invoice."""
    sent: list[tuple[str, date, Decimal, Decimal, Decimal]] = []
    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        if (case.dispute and case.dispute <= day) or len(sent) == len(TIERS):
            continue
        paid = [(when, amount) for when, amount, _ in case.payments if when <= day]
        still = TOTAL - sum((amount for _, amount in paid), Decimal(0))
        if still <= 0:
            continue
        name, days, claims = TIERS[len(sent)]
        ready = day >= case.due + timedelta(days=days)
        if sent:
            after = [when for when, _ in paid if when > sent[-1][1]]
            if after:
                ready = ready and day >= max(after) + timedelta(days=days - TIERS[len(sent) - 1][1])
        if not ready:
            continue
        interest = sum((a * RATE * max((w - case.due).days, 0) / 36500 for w, a in paid), Decimal(0)) + still * RATE * (day - case.due).days / 36500
        penalties = interest.quantize(Decimal("0.01"), ROUND_HALF_UP) if claims else Decimal("0.00")
        sent.append((name, day, still, penalties, Decimal("40.00") if claims else Decimal("0.00")))
    return sent


def _statement(day: date, lines: list[Case]) -> bytes:
    entries = "".join(
        f"""<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt><AcctSvcrRef>{case.number}-{day}</AcctSvcrRef>
        <NtryDtls><TxDtls><Amt Ccy="EUR">{amount}</Amt><RltdPties><Dbtr><Pty><Nm>Boulangeries Martin SARL</Nm></Pty></Dbtr></RltdPties>
        <RmtInf><Ustrd>Facture {case.number}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"""
        for case in lines
        for when, amount, how in case.payments
        if when == day and how == "bank"
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
  <GrpHdr><MsgId>SIM-{day}</MsgId><CreDtTm>{day}T22:00:00+02:00</CreDtTm></GrpHdr>
  <Stmt><Id>SIM-{day}</Id><CreDtTm>{day}T22:00:00+02:00</CreDtTm>
    <Acct><Id><IBAN>FR7630006000011234567890189</IBAN></Id></Acct>{entries}</Stmt></BkToCstmrStmt></Document>""".encode()


def _happen(api, database, archive, cases: list[Case], day: date) -> None:
    """The day's events: the bank statement of the day's transfers, the ERP's 212s, the buyers' disputes."""
    if any(when == day and how == "bank" for case in cases for when, _, how in case.payments):
        response = api.post("/api/v1/bank-statements", data=_statement(day, cases), headers={"Content-Type": "application/xml"})
        assert response.status_code == 201, response.get_json()
        assert all(line["state"] == "matched" for line in response.get_json()["lines"]), response.get_json()
    for case in cases:
        for when, amount, how in case.payments:
            if when == day and how == "erp":
                body = {"code": "212", "amounts": [{"amount": str(amount), "vat_rate": "20.00", "date": day.isoformat()}]}
                assert api.post(f"/api/v1/invoices/{case.id}/statuses", json=body).status_code == 201
        if case.dispute == day:
            with database.session() as session:
                change = StatusChange("207", datetime.now(UTC), codes.BUYER, reason_code="MONTANTTOTAL_ERR", comment="Quantité contestée")
                lifecycle.record(session, archive, session.get(db.Invoice, case.id), change, source=lifecycle.SOURCE_PARTNER, actor="buyer")


def test_120_days_each_invoice_gets_exactly_its_reminders(api, database, archive, smtp, mailer, settings):
    assert api.put("/api/v1/dunning/policies/default", json=POLICY).status_code == 200
    cases = _cases(random.Random(18))
    for case in cases:
        case.id = issue(api, database, archive, case.number, case.due)["id"]
    with database.session() as session:
        tenant = session.get(db.Invoice, cases[0].id).tenant_id
    mails_before = len(messages_to(smtp, BUYER))
    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        _happen(api, database, archive, cases, day)
        result = service.run(database, archive, mailer, settings, day, tenant_id=tenant)
        assert result.failed == 0
    assert service.run(database, archive, mailer, settings, START + timedelta(days=DAYS - 1), tenant_id=tenant).planned == []
    mails = messages_to(smtp, BUYER)[mails_before:]
    for case in cases:
        reminders = api.get(f"/api/v1/invoices/{case.id}/reminders").get_json()["reminders"]
        got = [(r["tier"], date.fromisoformat(r["as_of"]), Decimal(r["claimed"]), Decimal(r["penalties"]), Decimal(r["indemnity"]))
               for r in reminders]  # fmt: skip
        assert got == _expected(case), case
        assert all(r["state"] == "sent" for r in reminders)
        mine = [m for m in mails if case.number in m["Subject"]]
        assert len(mine) == len(got), case.number
        for message, (tier, *_rest) in zip(mine, got, strict=True):
            names = [a.get_filename() for a in message.iter_attachments()]
            assert names == [f"{case.number}.pdf"] + ([f"{tier}-{case.number}.pdf"] if tier == "mise-en-demeure" else [])
    kinds = {"partial": [c for c in cases if any(how == "erp" for *_, how in c.payments)], "disputed": [c for c in cases if c.dispute]}
    assert all(_expected(c) for c in kinds["partial"]) and kinds["disputed"], "the stream must exercise every case"

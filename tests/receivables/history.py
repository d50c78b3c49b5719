"""A small, fixed receivables history told through the real API: three buyers, invoices issued over seven months, paid
(in full, in part, late, early) by the ERP's 212, disputed (207), refused (210), one rejected at intake, and reminders
sent by real dunning runs.  `Case` keeps what the test did, for the independent oracle."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from stdnum import luhn
from stdnum.fr import siren as siren_number

from gateway.dunning import service as dunning
from gateway.lifecycle import codes, service
from gateway.lifecycle.events import StatusChange
from gateway.lifecycle.payments import collection_of
from gateway.store import models as db
from tests.api.conftest import Api
from tests.conftest import load_example
from tests.dunning.helpers import POLICY

AS_OF = date(2026, 7, 31)
BUYERS = [("356000000", "Boulangeries Martin SARL"), ("732829320", "Hôtel Dupont SAS"), ("552100554", "Cafés Leroy SA")]


@dataclass
class Case:
    number: str
    buyer: int
    issued: date
    due: date
    quantity: int = 1
    payments: list[tuple[date, str]] = field(default_factory=list)  # (day, amount or "rest")
    disputed: date | None = None
    refused: date | None = None
    rejected: bool = False
    id: str = ""
    total: Decimal = Decimal(0)  # BT-115 as the gateway answered it


CASES = [
    Case("RCV-01", 0, date(2026, 1, 10), date(2026, 2, 9), payments=[(date(2026, 2, 20), "rest")]),
    Case("RCV-02", 0, date(2026, 2, 12), date(2026, 3, 14), 2, payments=[(date(2026, 3, 30), "rest")]),
    Case("RCV-03", 0, date(2026, 3, 5), date(2026, 4, 4), payments=[(date(2026, 4, 20), "rest")]),
    Case("RCV-04", 0, date(2026, 5, 6), date(2026, 6, 5), payments=[(date(2026, 6, 20), "5000.00")]),
    Case("RCV-05", 0, date(2026, 7, 2), date(2026, 8, 1), 3),
    Case("RCV-06", 1, date(2026, 1, 20), date(2026, 2, 19), payments=[(date(2026, 2, 17), "rest")]),
    Case("RCV-07", 1, date(2026, 4, 8), date(2026, 5, 8), disputed=date(2026, 5, 20)),
    Case("RCV-08", 1, date(2026, 6, 1), date(2026, 7, 1), 2, payments=[(date(2026, 7, 28), "rest")]),
    Case("RCV-09", 1, date(2026, 6, 15), date(2026, 7, 15), refused=date(2026, 6, 25)),
    Case("RCV-10", 2, date(2026, 2, 2), date(2026, 3, 4)),
    Case("RCV-11", 2, date(2026, 4, 20), date(2026, 5, 20), payments=[(date(2026, 6, 1), "3000.00"), (date(2026, 7, 10), "2000.00")]),
    Case("RCV-12", 2, date(2026, 7, 20), date(2026, 8, 19)),
    Case("RCV-13", 2, date(2026, 7, 21), date(2026, 8, 20), rejected=True),
]


def buyer_json(index: int) -> dict:
    siren, name = BUYERS[index]
    assert siren_number.is_valid(siren)
    buyer = copy.deepcopy(load_example("invoice-fr-b2b")["buyer"])
    siret = siren + "0001" + luhn.calc_check_digit(siren + "0001")
    buyer.update(name=name, identifiers=[{"value": siret, "scheme": "0009"}], legal_registration_id={"value": siren, "scheme": "0002"},
                 vat_id="FR" + siren_number.to_tva(siren), electronic_address={"value": siren, "scheme": "0225"})  # fmt: skip
    return buyer


def _issue(api: Api, database, archive, case: Case) -> None:
    invoice = copy.deepcopy(load_example("invoice-fr-b2b"))
    invoice.update(number=case.number, issue_date=case.issued.isoformat(), due_date=case.due.isoformat(), buyer=buyer_json(case.buyer))
    invoice["lines"][0]["quantity"] = str(case.quantity)
    if case.rejected:
        invoice["totals"] = {"tax_inclusive_amount": "1.00"}
    response = api.post("/api/v1/invoices", json=invoice)
    body = response.get_json()
    assert response.status_code == 201 and (body["status"] == "rejected") == case.rejected, body
    case.id = body["id"]
    if case.rejected:
        return
    case.total = Decimal(api.get(f"/api/v1/invoices/{case.id}").get_json()["totals"]["amount_due"])
    with database.session() as session:
        change = StatusChange("201", datetime.combine(case.issued, datetime.min.time(), UTC), codes.PLATFORM)
        service.record(session, archive, session.get(db.Invoice, case.id), change, source=service.SOURCE_GATEWAY, actor="gateway:delivery")


def _happen(api: Api, database, archive, day: date) -> None:
    for case in CASES:
        paid = Decimal(0)
        for when, amount in case.payments:
            value = case.total - paid if amount == "rest" else Decimal(amount)
            paid += value
            if when == day:
                with database.session() as session:  # the ERP splits what it collects by VAT rate, as the reform asks
                    split = collection_of(service.balance(session, archive, session.get(db.Invoice, case.id)), value)
                amounts = [{"amount": str(share), "vat_rate": str(rate), "date": day.isoformat()} for rate, share in split.items()]
                body = {"code": "212", "amounts": amounts}
                response = api.post(f"/api/v1/invoices/{case.id}/statuses", json=body)
                assert response.status_code == 201, (case.number, response.get_json())
        for code, when, role, reason in (("207", case.disputed, codes.BUYER, "MONTANTTOTAL_ERR"), ("210", case.refused, codes.BUYER, "DOUBLON")):
            if when == day:
                with database.session() as session:
                    change = StatusChange(code, datetime.combine(day, datetime.min.time(), UTC), role, reason_code=reason, comment="test")
                    service.record(session, archive, session.get(db.Invoice, case.id), change, source=service.SOURCE_PARTNER, actor="buyer")


def tell(api: Api, database, archive, mailer, settings) -> int:
    """Issue every case, then live each day from the first issue to AS_OF: its payments, disputes, refusals and a dunning
    run dated that day.  The tenant's id."""
    assert api.put("/api/v1/dunning/policies/default", json=POLICY).status_code == 200
    for case in CASES:
        _issue(api, database, archive, case)
    with database.session() as session:
        tenant = session.get(db.Invoice, CASES[0].id).tenant_id
    day = min(case.issued for case in CASES)
    while day <= AS_OF:
        _happen(api, database, archive, day)
        assert dunning.run(database, archive, mailer, settings, day, tenant_id=tenant).failed == 0
        day += timedelta(days=1)
    return tenant

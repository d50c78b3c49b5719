"""The invoice an occurrence bills, as intake JSON: the schedule's template with its number, dates, period, revised
prices and prorated quantities.  Pure: the intake checks and completes it like any ERP's invoice.

- The period (BG-14) is the occurrence to the day before the next one (billing in advance), cut to the service
  dates when the schedule has them; a cut period is **prorated**: each line's quantity times covered days / days of
  the full period, and a note says so.
- **Price revisions** (`{"from": date, "percent": "3.5"}`) compound from their dates: the unit prices of an
  occurrence on or after a revision's date are the template's times each (1 + percent / 100), rounded to the cent
  from the template's prices (never from an earlier rounded price).
- Amounts the intake computes (line net amounts, totals, the VAT breakdown's amounts) are left out; line allowances
  and charges given as a percentage get their base and amount again from the revised line.
- The payment reference (BT-83) is the occurrence's number, so that the bank line paying it is matched to it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from dateutil.relativedelta import relativedelta

CENT, QUANTITY = Decimal("0.01"), Decimal("0.0001")
IDENTITY = ("number", "issue_date", "due_date", "invoicing_period", "totals")  # what each occurrence sets, or the intake computes


@dataclass(frozen=True)
class Revision:
    since: date
    percent: Decimal


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # included
    full_days: int  # of the whole period, for the prorata

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def factor(self) -> Decimal:
        return Decimal(self.days) / Decimal(self.full_days)


def period(on: date, following: date | None, service_start: date | None, service_end: date | None) -> Period:
    """The days `on` bills: to the day before the next occurrence (a year when there is none), within the service dates."""
    end = (following or on + relativedelta(years=1)) - timedelta(days=1)
    full = (end - on).days + 1
    start = max(on, service_start) if service_start else on
    end = min(end, service_end) if service_end else end
    return Period(start, end, full)


def template_of(invoice: dict[str, Any]) -> dict[str, Any]:
    """A template from an invoice's canonical JSON: what each occurrence sets or the intake computes left out."""
    template = {key: value for key, value in copy.deepcopy(invoice).items() if key not in IDENTITY}
    for line in template.get("lines", []):
        line.pop("net_amount", None)
    if isinstance(template.get("payment"), dict):
        for one_invoice in ("remittance_information", "link"):  # they name one invoice: each occurrence has its own
            template["payment"].pop(one_invoice, None)
    if "vat_breakdown" in template:
        keep = ("category", "rate", "exemption_reason", "exemption_reason_code")
        template["vat_breakdown"] = [{k: v for k, v in entry.items() if k in keep} for entry in template["vat_breakdown"]]
    return template


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, ROUND_HALF_UP))


def _revised_line(line: dict[str, Any], factor: Decimal, prorata: Decimal) -> dict[str, Any]:
    for key in ("net_price", "gross_price", "price_discount"):
        if key in line:
            line[key] = _money(Decimal(line[key]) * factor)
    if "gross_price" in line and "price_discount" in line:
        line["net_price"] = _money(Decimal(line["gross_price"]) - Decimal(line["price_discount"]))
    if prorata != 1:
        line["quantity"] = str((Decimal(line["quantity"]) * prorata).quantize(QUANTITY, ROUND_HALF_UP).normalize())
    base = Decimal(line["quantity"]) * Decimal(line.get("net_price", "0"))
    for adjustment in (*line.get("allowances", ()), *line.get("charges", ())):
        if "percentage" in adjustment:
            adjustment["base_amount"] = _money(base)
            adjustment["amount"] = _money(base * Decimal(adjustment["percentage"]) / 100)
    line.pop("net_amount", None)
    return line


def invoice_json(template: dict[str, Any], number: str, issued: date, billed: Period, due_days: int, revisions: list[Revision],
                 language: str = "fr") -> dict[str, Any]:  # fmt: skip
    """The occurrence's intake JSON."""
    factor = Decimal(1)
    for revision in sorted(revisions, key=lambda r: r.since):
        if revision.since <= billed.start:
            factor *= 1 + revision.percent / 100
    prorata = billed.factor if billed.days != billed.full_days else Decimal(1)
    data = template_of(template)
    data["lines"] = [_revised_line(line, factor, prorata) for line in data.get("lines", [])]
    if isinstance(data.get("payment"), dict):
        data["payment"]["remittance_information"] = number  # BT-83: what the payer quotes, what payments matching looks for
    data.update(number=number, issue_date=issued.isoformat(), due_date=(issued + timedelta(days=due_days)).isoformat(),
                invoicing_period={"start": billed.start.isoformat(), "end": billed.end.isoformat()})  # fmt: skip
    if prorata != 1:
        words = {"fr": "Prorata : {days} jours sur {full}", "en": "Prorated: {days} days out of {full}"}[language]
        data["notes"] = [*data.get("notes", []), {"text": words.format(days=billed.days, full=billed.full_days)}]
    return data

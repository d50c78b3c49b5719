"""What the API, the portal and the CLI ask of the receivables: a snapshot of the ledger on a day, and from it the
KPIs, the aging, the forecast and the risks, as JSON values or as table rows (for CSV)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from gateway.receivables import kpis
from gateway.receivables.behaviour import learn
from gateway.receivables.forecast import Forecast, forecast
from gateway.receivables.ledger import Item, items
from gateway.receivables.risk import Risk, risks

Rows = list[list[str]]


@dataclass(frozen=True)
class Snapshot:
    as_of: date
    currency: str
    items: list[Item]

    @property
    def head(self) -> dict[str, str]:
        return {"as_of": self.as_of.isoformat(), "currency": self.currency}


def snapshot(session: Session, tenant_id: int, as_of: date, currency: str = "EUR") -> Snapshot:
    return Snapshot(as_of, currency, items(session, tenant_id, as_of, currency))


def summary(snap: Snapshot) -> dict[str, Any]:
    """The headline figures: DSO, what is owed by bucket, the rates, dunning effectiveness."""
    _, overall = kpis.aging(snap.items, snap.as_of)
    return {
        **snap.head, "dso": kpis.dso(snap.items, snap.as_of).to_json(),
        "owed": {"total": str(overall.total), "disputed": str(overall.disputed), "invoices": overall.invoices,
                 "buckets": {name: str(amount) for name, amount in overall.buckets.items()}},
        "rates": kpis.rates(snap.items, snap.as_of),
        "dunning": [outcome.to_json() for outcome in kpis.dunning_effectiveness(snap.items, snap.as_of)],
    }  # fmt: skip


def aging(snap: Snapshot) -> dict[str, Any]:
    buyers, overall = kpis.aging(snap.items, snap.as_of)
    return {**snap.head, "total": overall.to_json(), "buyers": [row.to_json() for row in buyers]}


def aging_rows(snap: Snapshot) -> Rows:
    buyers, overall = kpis.aging(snap.items, snap.as_of)
    rows = [["buyer", "buyer_name", "invoices", *kpis.BUCKETS, "total", "disputed"]]
    for row in [*buyers, overall]:
        rows.append(
            [row.buyer or "*", row.buyer_name, str(row.invoices), *(str(row.buckets[b]) for b in kpis.BUCKETS), str(row.total), str(row.disputed)]
        )
    return rows


def cash_forecast(snap: Snapshot) -> Forecast:
    return forecast(snap.items, snap.as_of, learn(snap.items, snap.as_of))


def forecast_rows(snap: Snapshot) -> Rows:
    weeks = cash_forecast(snap).to_json()["weeks"]
    assert isinstance(weeks, list)
    return [["week", "start", "end", "expected", "low", "high", "invoices"]] + [
        [str(w[k]) for k in ("week", "start", "end", "expected", "low", "high", "invoices")] for w in weeks
    ]


def buyer_risks(snap: Snapshot) -> list[Risk]:
    return risks(snap.items, snap.as_of)


def risk_rows(snap: Snapshot) -> Rows:
    names = ("lateness", "old_debt", "disputes", "dunning")
    rows = [["buyer", "buyer_name", "owed", "score", "level", *(f"{n}_points" for n in names), *(f"{n}_value" for n in names)]]
    for risk in buyer_risks(snap):
        factors = {f.name: f for f in risk.factors}
        rows.append([risk.buyer, risk.buyer_name, str(risk.owed), str(risk.score), risk.level,
                     *(str(factors[n].points) for n in names), *(factors[n].value for n in names)])  # fmt: skip
    return rows

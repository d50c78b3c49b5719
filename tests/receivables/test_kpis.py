"""Acceptance: the receivables KPIs recomputed here, independently, from the raw invoices (what the test issued, paid,
disputed and refused, and the reminders the API lists) equal the API's — aging per buyer, DSO by count-back, the
rates, dunning effectiveness, the risk factors — and the forecast accounts for every cent still owed."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from decimal import Decimal
from statistics import median

import pytest

from gateway.cli import main
from gateway.store import models as db
from tests.receivables.history import AS_OF, BUYERS, CASES, Case, tell

ZERO = Decimal("0.00")


def _payments(case: Case) -> list[tuple[date, Decimal]]:
    paid, found = Decimal(0), []
    for when, amount in case.payments:
        value = case.total - paid if amount == "rest" else Decimal(amount)
        paid += value
        found.append((when, value))
    return found


def _owed(case: Case, day: date = AS_OF) -> Decimal:
    if case.rejected or case.issued > day or (case.refused and case.refused <= day):
        return ZERO
    return case.total - sum((v for w, v in _payments(case) if w <= day), ZERO)


def _bucket(case: Case) -> str:
    late = (AS_OF - case.due).days
    return "not_due" if late <= 0 else "1-30" if late <= 30 else "31-60" if late <= 60 else "61-90" if late <= 90 else "90+"


def _settled(case: Case) -> date | None:
    return max(w for w, _ in _payments(case)) if case.payments and sum(v for _, v in _payments(case)) >= case.total else None


@pytest.fixture
def told(api, database, archive, mailer, settings):
    tell(api, database, archive, mailer, settings)
    return api


def test_kpis_equal_an_independent_recomputation(told):
    api = told
    query = f"?as_of={AS_OF.isoformat()}"

    # Aging per buyer, by bucket.
    aging = api.get("/api/v1/receivables/aging" + query).get_json()
    expected: dict[str, dict[str, Decimal]] = {}
    for case in CASES:
        if _owed(case) > 0:
            buckets = expected.setdefault(BUYERS[case.buyer][0], {})
            buckets[_bucket(case)] = buckets.get(_bucket(case), ZERO) + _owed(case)
    got = {row["buyer"]: {k: Decimal(v) for k, v in row["buckets"].items() if Decimal(v)} for row in aging["buyers"]}
    assert got == expected
    assert Decimal(aging["total"]["total"]) == sum((_owed(c) for c in CASES), ZERO)
    disputed = sum((_owed(c) for c in CASES if c.disputed), ZERO)
    assert Decimal(aging["total"]["disputed"]) == disputed > 0

    # DSO by count-back over calendar months (AS_OF is a month's last day): each month fully covered counts its days.
    summary = api.get("/api/v1/receivables/summary" + query).get_json()
    remaining, days, month_end = sum((_owed(c) for c in CASES), ZERO), Decimal(0), AS_OF
    while remaining > 0:
        month_start = month_end.replace(day=1)
        sold = sum((c.total for c in CASES if not c.rejected and month_start <= c.issued <= month_end), ZERO)
        length = month_end.day
        days += length if sold < remaining else Decimal(length) * remaining / sold
        remaining -= sold
        month_end = month_start - timedelta(days=1)
    assert Decimal(summary["dso"]["days"]) == days.quantize(Decimal("0.1"))
    assert summary["owed"]["total"] == aging["total"]["total"]

    # Rates over the twelve months: every case was issued in them.
    rates = summary["rates"]
    assert (rates["issued"], rates["disputed"], rates["refused"], rates["rejected"]) == (
        len(CASES), sum(1 for c in CASES if c.disputed), sum(1 for c in CASES if c.refused), sum(1 for c in CASES if c.rejected),
    )  # fmt: skip
    assert rates["dispute_rate"] == str((Decimal(100) / len(CASES)).quantize(Decimal("0.1")))

    # Dunning effectiveness from the reminders the API lists for each invoice.
    reached: dict[int, list[int]] = {}  # level -> [reached, paid]
    for case in (c for c in CASES if not c.rejected):
        sent = [r for r in api.get(f"/api/v1/invoices/{case.id}/reminders").get_json()["reminders"] if r["state"] == "sent"]
        settled = _settled(case)
        before = [r for r in sent if settled is None or date.fromisoformat(r["as_of"]) <= settled]
        if before:
            level = max(r["level"] for r in before)
            counts = reached.setdefault(level, [0, 0])
            counts[0] += 1
            counts[1] += 1 if settled else 0
    assert reached, "the history must send reminders"
    assert {row["level"]: [row["reached"], row["paid"]] for row in summary["dunning"]} == reached

    # Risk factors: each buyer's median days late (paid, or still owed and overdue) and its share of debt over 60 days.
    risks = {row["buyer"]: row for row in api.get("/api/v1/receivables/risks" + query).get_json()["buyers"]}
    for index, (siren, _) in enumerate(BUYERS):
        mine = [c for c in CASES if c.buyer == index and not c.rejected]
        late = [(_settled(c) - c.due).days for c in mine if _settled(c)] + [(AS_OF - c.due).days for c in mine if c.due < AS_OF and _owed(c) > 0]
        factors = {f["factor"]: f for f in risks[siren]["factors"]}
        assert factors["lateness"]["value"] == (str(Decimal(median(late))) if late else "")
        owed = sum((_owed(c) for c in mine), ZERO)
        old = sum((_owed(c) for c in mine if (AS_OF - c.due).days > 60), ZERO)
        assert factors["old_debt"]["value"] == str((old / owed * 100).quantize(Decimal("0.1")) if owed else Decimal("0.0"))
        assert Decimal(risks[siren]["score"]) == sum(Decimal(f["points"]) for f in factors.values())

    # The forecast places every cent still owed: in a week, after the horizon, doubtful, or in dispute.
    forecast = api.get("/api/v1/receivables/forecast" + query).get_json()
    assert len(forecast["weeks"]) == 13 and forecast["weeks"][0]["start"] == (AS_OF + timedelta(days=1)).isoformat()
    placed = sum(Decimal(w["expected"]) for w in forecast["weeks"]) + sum(Decimal(forecast[k]) for k in ("beyond", "doubtful", "disputed"))
    assert abs(placed - sum((_owed(c) for c in CASES), ZERO)) <= Decimal("0.01") * 16
    assert Decimal(forecast["disputed"]) == disputed
    assert all(Decimal(w["low"]) <= Decimal(w["expected"]) <= Decimal(w["high"]) for w in forecast["weeks"])


def test_csv_holds_the_json_figures(told):
    api = told
    query = f"?as_of={AS_OF.isoformat()}"
    aging = api.get("/api/v1/receivables/aging" + query).get_json()
    response = api.get("/api/v1/receivables/aging" + query, headers={"Accept": "text/csv"})
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {r["buyer"]: r["total"] for r in rows} == {**{b["buyer"]: b["total"] for b in aging["buyers"]}, "*": aging["total"]["total"]}
    weeks = list(csv.DictReader(io.StringIO(api.get("/api/v1/receivables/forecast" + query + "&format=csv").get_data(as_text=True))))
    assert [w["expected"] for w in weeks] == [w["expected"] for w in api.get("/api/v1/receivables/forecast" + query).get_json()["weeks"]]
    risks = list(csv.DictReader(io.StringIO(api.get("/api/v1/receivables/risks" + query + "&format=csv").get_data(as_text=True))))
    assert {r["buyer"] for r in risks} == {siren for siren, _ in BUYERS}


def test_bad_parameters_are_named(api):
    for query, name in (("?as_of=31/07/2026", "?as_of"), ("?currency=euro", "?currency"), ("?format=xlsx", "?format"), ("?since=1", "?since")):
        response = api.get("/api/v1/receivables/aging" + query)
        assert response.status_code == 400, query
        assert [e["pointer"] for e in response.get_json()["errors"]] == [name], response.get_json()


def test_another_tenant_sees_none_of_it(told, other_api):
    assert other_api.get(f"/api/v1/receivables/aging?as_of={AS_OF.isoformat()}").get_json()["buyers"] == []


def test_the_command_line_prints_the_api_figures(told, database, gateway_config, monkeypatch, capsys, tmp_path):
    api = told
    with database.session() as session:
        tenant = session.get(db.Invoice, CASES[0].id).tenant.name
    for name, value in (("DATA_DIR", gateway_config.data_dir), ("DATABASE_URL", gateway_config.database_url), ("CONFIG_DIR", tmp_path)):
        monkeypatch.setenv(f"GATEWAY_{name}", str(value))
    day = ["--tenant", tenant, "--as-of", AS_OF.isoformat()]
    assert main(["receivables", "summary", *day]) == 0
    assert json.loads(capsys.readouterr().out) == api.get(f"/api/v1/receivables/summary?as_of={AS_OF.isoformat()}").get_json()
    assert main(["receivables", "aging", *day, "--csv"]) == 0
    api_csv = api.get(f"/api/v1/receivables/aging?as_of={AS_OF.isoformat()}&format=csv").get_data(as_text=True)
    assert capsys.readouterr().out.splitlines() == api_csv.splitlines()
    assert main(["receivables", "risks", *day]) == 0
    table = capsys.readouterr().out
    assert all(name in table for _, name in BUYERS) and "score" in table.splitlines()[1]
    assert main(["receivables", "forecast", "--tenant", "nobody"]) == 2 and "No tenant named 'nobody'" in capsys.readouterr().err

"""`gateway receivables summary|aging|forecast|risks`: a tenant's receivables figures on a day, as a table, JSON or
CSV (the same figures as `GET /api/v1/receivables/…`; how each is computed: docs/receivables.md).  Exit codes: 0 done,
2 bad input (an unknown tenant)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import date

from gateway.text_table import text_table

EXIT_OK, EXIT_REFUSED = 0, 2
VIEWS = ("summary", "aging", "forecast", "risks")


def _run(args: argparse.Namespace) -> int:
    from gateway.config import load_config
    from gateway.receivables import service
    from gateway.store.session import Database
    from gateway.store.tenants import TenantError, get_tenant

    database = Database(load_config())
    try:
        with database.session() as session:
            snap = service.snapshot(session, get_tenant(session, args.tenant).id, args.as_of or date.today(), args.currency)
    except TenantError as exc:
        print(f"gateway receivables {args.view}: error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        database.dispose()
    if args.view == "summary" or args.json:
        views = {"summary": service.summary, "aging": service.aging, "forecast": lambda s: {**s.head, **service.cash_forecast(s).to_json()},
                 "risks": lambda s: {**s.head, "buyers": [r.to_json() for r in service.buyer_risks(s)]}}  # fmt: skip
        print(json.dumps(views[args.view](snap), ensure_ascii=False, indent=2))
        return EXIT_OK
    rows = {"aging": service.aging_rows, "forecast": service.forecast_rows, "risks": service.risk_rows}[args.view](snap)
    if args.csv:
        csv.writer(sys.stdout, lineterminator="\n").writerows(rows)
    else:
        print(f"{args.view} of {args.tenant} as of {snap.as_of.isoformat()}, in {snap.currency}")
        print(text_table(rows, numeric_from={"aging": 2, "forecast": 3, "risks": 2}[args.view]))
    return EXIT_OK


def add_commands(commands: argparse._SubParsersAction) -> None:
    receivables = commands.add_parser(
        "receivables", help="receivables KPIs, aging, cash forecast and risks",
        description="A tenant's receivables on a day: the summary (DSO, rates, dunning effectiveness; JSON), the aging per buyer, "
        "the 13-week cash forecast and the buyers' risk scores (tables, --csv or --json).",
        epilog="Exit codes: 0 done, 2 bad input.",
    )  # fmt: skip
    receivables.add_argument("view", choices=VIEWS, help="what to print")
    receivables.add_argument("--tenant", required=True)
    receivables.add_argument("--as-of", type=date.fromisoformat, metavar="DATE", help="the day, YYYY-MM-DD (default: today)")
    receivables.add_argument("--currency", default="EUR", help="ISO 4217 code (default: EUR)")
    shape = receivables.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print JSON, as the API answers")
    shape.add_argument("--csv", action="store_true", help="print CSV, as the API answers with ?format=csv")
    receivables.set_defaults(func=_run)

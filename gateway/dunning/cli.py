"""`gateway dunning run` and `gateway dunning policy`: send (or preview) the reminders due, set and show policies.

`run --dry-run --as-of DATE` prints what a run on DATE would send and stores nothing; without it the reminders are
sent (each tier once: running it twice sends nothing new).  Exit codes: 0 done, 1 a reminder failed (it is retried
by the next run), 2 bad input (a refused policy, an unknown tenant, an unreadable file).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from gateway.text_table import text_table

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
RUN_HELP = (
    "Send the dunning reminders due on a day (today by default) for one tenant or every tenant with a policy: for each "
    "late, unpaid invoice not in dispute, the tier its policy gives, once. --dry-run only prints them."
)


def _table(planned: list[dict[str, Any]]) -> str:
    if not planned:
        return "no reminder due"
    rows = [("invoice", "buyer", "tier", "late", "claimed", "penalties", "indemnity", "channels", "to")]
    rows += [(p["invoice_number"], p["buyer"][:28], p["tier"], f"{p['days_late']} d", f"{p['claimed']} {p['currency']}", p["penalties"],
              p["indemnity"], ",".join(p["channels"]), p["email"] or "-") for p in planned]  # fmt: skip
    return text_table(rows)


def _context() -> tuple[Any, Any, Any]:
    from gateway.archive.service import Archive
    from gateway.config import load_config
    from gateway.store.session import Database

    config = load_config()
    return config, Database(config), Archive.for_config(config)


def _tenant_id(database: Any, name: str | None) -> int | None:
    from gateway.store.tenants import get_tenant

    if name is None:
        return None
    with database.session() as session:
        return get_tenant(session, name).id


def _run(args: argparse.Namespace) -> int:
    from gateway.dunning import service
    from gateway.dunning.channels import Mailer
    from gateway.dunning.settings import DunningSettings
    from gateway.store.tenants import TenantError

    config, database, archive = _context()
    try:
        settings = DunningSettings.from_section(config.sections.get("dunning", {}))
        tenant_id = _tenant_id(database, args.tenant)
        result = service.run(database, archive, Mailer(config), settings, args.as_of, tenant_id=tenant_id, dry_run=args.dry_run)
    except TenantError as exc:
        print(f"gateway dunning run: error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        database.dispose()
    if args.json:
        print(json.dumps({"as_of": result.as_of.isoformat(), "dry_run": args.dry_run, "reminders": result.planned, "sent": result.sent,
                          "failed": result.failed}, ensure_ascii=False, indent=2))  # fmt: skip
    else:
        print(f"{'would send' if args.dry_run else 'due'} on {result.as_of.isoformat()}:")
        print(_table(result.planned))
        if not args.dry_run:
            print(f"{result.sent} sent, {result.failed} failed (retried by the next run)")
    return EXIT_FAILED if result.failed else EXIT_OK


def _policy_set(args: argparse.Namespace) -> int:
    from gateway.dunning import policy, service
    from gateway.store.tenants import TenantError, get_tenant

    try:
        data = json.loads(args.file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"{args.file}: cannot be read as JSON: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    _, database, _ = _context()
    try:
        with database.session() as session:
            service.set_policy(session, get_tenant(session, args.tenant).id, data, args.buyer or "")
    except TenantError as exc:
        print(f"gateway dunning policy set: error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except policy.PolicyError as refused:
        for pointer, message in refused.problems:
            print(f"{args.file}: {pointer or '/'}: {message}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        database.dispose()
    print(f"dunning policy of tenant {args.tenant!r} {'for buyer ' + args.buyer if args.buyer else '(default)'} set")
    return EXIT_OK


def _policy_show(args: argparse.Namespace) -> int:
    from gateway.dunning import policy, service
    from gateway.store.tenants import TenantError, get_tenant

    _, database, _ = _context()
    try:
        with database.session() as session:
            rows = service.policy_rows(session, get_tenant(session, args.tenant).id)
            shown = [{"buyer": row.buyer or None, "policy": row.body} for row in rows]
    except TenantError as exc:
        print(f"gateway dunning policy show: error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        database.dispose()
    print(json.dumps({"policies": shown, "suggested": policy.DEFAULT_POLICY if not shown else None}, ensure_ascii=False, indent=2))
    return EXIT_OK


def add_commands(commands: argparse._SubParsersAction) -> None:
    dunning = commands.add_parser("dunning", help="payment reminders (dunning)", description="Payment reminders in tiers for late invoices.")
    sub = dunning.add_subparsers(dest="dunning_command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="send (or preview) the reminders due", description=RUN_HELP,
                         epilog="Exit codes: 0 done, 1 a reminder failed (retried by the next run), 2 bad input.")  # fmt: skip
    run.add_argument("--as-of", type=date.fromisoformat, metavar="DATE", help="the day of the run, YYYY-MM-DD (default: today)")
    run.add_argument("--dry-run", action="store_true", help="print the reminders a run would send; store and send nothing")
    run.add_argument("--tenant", help="only this tenant (default: every tenant with a policy)")
    run.add_argument("--json", action="store_true", help="print the reminders as JSON, with their computation")
    run.set_defaults(func=_run)
    policies = sub.add_parser("policy", help="set or show a tenant's policies", description="A tenant's dunning policies (docs/dunning.md).")
    policy_sub = policies.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    put = policy_sub.add_parser("set", help="set a policy from a JSON file", description="Set the default policy, or a buyer's with --buyer.")
    put.add_argument("file", type=Path, metavar="FILE", help="the policy, as JSON (docs/dunning.md)")
    put.add_argument("--tenant", required=True)
    put.add_argument("--buyer", metavar="SIREN", help="the buyer this policy is for (default: every buyer)")
    put.set_defaults(func=_policy_set)
    show = policy_sub.add_parser("show", help="print a tenant's policies", description="Print a tenant's policies as JSON.")
    show.add_argument("--tenant", required=True)
    show.set_defaults(func=_policy_show)

"""`gateway recurring run`: issue the recurring invoices due on a day (today by default), or list them with --dry-run.

Each occurrence is issued once through the intake, numbered in its series without gaps; a progress bar on stderr
(when it is a terminal) counts them.  Exit codes: 0 done, 1 an occurrence failed (retried by the next run, see
`GET /api/v1/recurring/schedules/{id}`), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

BAR = 30
RUN_HELP = (
    "Issue the recurring invoices due on a day (today by default) for one tenant or all: every occurrence of every "
    "schedule up to that day, once, through the intake, numbered in its series without gaps. --dry-run only lists them."
)


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        filled = BAR * done // max(total, 1)
        print(f"\r[{'#' * filled}{'.' * (BAR - filled)}] {done}/{total}", end="\n" if done == total else "", file=sys.stderr, flush=True)


def _run(args: argparse.Namespace) -> int:
    from gateway.archive.service import Archive
    from gateway.config import load_config
    from gateway.recurring import service
    from gateway.recurring.settings import RecurringSettings
    from gateway.signing.sign import configured_signer
    from gateway.store.session import Database
    from gateway.store.tenants import TenantError, get_tenant

    config = load_config()
    database = Database(config)
    try:
        as_of = args.as_of or RecurringSettings.from_section(config.sections.get("recurring", {})).today()
        tenant_id = None
        if args.tenant:
            with database.session() as session:
                tenant_id = get_tenant(session, args.tenant).id
        signer = None if args.dry_run else configured_signer(config)
        result = service.run(database, Archive.for_config(config), signer, as_of, tenant_id=tenant_id, dry_run=args.dry_run, progress=_progress)
    except TenantError as exc:
        print(f"gateway recurring run: error: {exc}", file=sys.stderr)
        return 2
    finally:
        database.dispose()
    if args.json:
        print(json.dumps({"as_of": as_of.isoformat(), "due": result.due, "issued": result.issued, "failed": result.failed}, indent=2))
    elif args.dry_run:
        print("\n".join(f"{d['on']}  {d['schedule']}" for d in result.due) or "nothing due")
    else:
        print(f"{as_of.isoformat()}: {result.issued} issued, {result.failed} failed (retried by the next run)")
    return 1 if result.failed else 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    recurring = commands.add_parser("recurring", help="recurring invoices", description="Recurring invoices (docs/recurring.md).")
    sub = recurring.add_subparsers(dest="recurring_command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="issue the recurring invoices due", description=RUN_HELP,
                         epilog="Exit codes: 0 done, 1 an occurrence failed (retried by the next run), 2 bad input.")  # fmt: skip
    run.add_argument("--as-of", type=date.fromisoformat, metavar="DATE", help="the day of issue, YYYY-MM-DD (default: today)")
    run.add_argument("--dry-run", action="store_true", help="list the occurrences a run would issue; store nothing")
    run.add_argument("--tenant", help="only this tenant's schedules")
    run.add_argument("--json", action="store_true", help="print the outcome as JSON")
    run.set_defaults(func=_run)

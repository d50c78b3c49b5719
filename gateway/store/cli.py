"""`gateway blobs sweep`: find, and with --delete remove, the stored files that no database row names.

Documents are stored before the transaction that names them commits, so a transaction that rolls back
(a refusal after storing, a database or storage fault, a crash) can leave an orphan file: harmless, but
never reclaimed otherwise.  The command lists, by default, the orphan blobs and the temporary files of
interrupted writes older than the grace period; `--delete` removes them.  Listing is the default because
deleting cannot be undone and the command trusts the configured database: run it once, look, then add
--delete.  Archived bytes are never orphans (their archive entry names them), so the archive keeps
verifying.  Safe while the gateway runs: a write in flight is younger than the grace period.

Exit codes: 0 done, 2 refused or unusable (no old file is referenced at all: the database and the data
folder do not belong together, and nothing is deleted).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

EXIT_OK, EXIT_UNUSABLE = 0, 2


def _hours(text: str) -> float:
    try:
        hours = float(text)
    except ValueError:
        hours = float("nan")
    if not 0 <= hours < float("inf"):  # NaN fails too
        raise argparse.ArgumentTypeError(f"not a number of hours (0 or more): {text!r}")
    return hours


def _sweep(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from gateway.config import load_config
    from gateway.store.session import Database
    from gateway.store.sweep import find, remove

    config = load_config()
    database = Database(config)
    try:
        findings = find(database, args.older_than * 3600)
    finally:
        database.dispose()
    if args.verbose:
        for stale in findings.stale:
            modified = datetime.fromtimestamp(stale.mtime, UTC).isoformat(timespec="seconds")
            name = f"orphan {stale.digest}" if stale.digest else f"temporary {stale.path}"
            print(f"{name} {stale.size} bytes, modified {modified}")
    if findings.orphans and not findings.referenced:
        where = make_url(config.database_url).render_as_string(hide_password=True)
        message = (
            f"none of the {len(findings.orphans)} blob(s) older than {args.older_than:g} h in {findings.root} is named by the database "
            f"{where}: do the database and the data folder belong together (GATEWAY_DATABASE_URL, GATEWAY_DATA_DIR)?"
        )
        if args.delete:
            print(f"gateway: error: {message} Nothing deleted.", file=sys.stderr)
            return EXIT_UNUSABLE
        print(f"gateway: warning: {message}", file=sys.stderr)
    deleted = remove(findings) if args.delete else 0
    print(
        f"found {len(findings.orphans)} orphan blob(s), {sum(s.size for s in findings.orphans)} bytes, and "
        f"{len(findings.temporary)} temporary file(s), {sum(s.size for s in findings.temporary)} bytes, older than {args.older_than:g} h "
        f"({findings.referenced} referenced blob(s) kept, {findings.recent} recent not examined); "
        + (f"deleted {deleted}" if args.delete else "deleted 0 (listing only: --delete removes them)")
    )
    return EXIT_OK


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `blobs sweep` to the gateway's command parser."""
    blobs = subparsers.add_parser("blobs", help="the stored document files", description="Commands on the document folder (<data>/documents).")
    actions = blobs.add_subparsers(dest="blobs_command", required=True, metavar="ACTION")
    sweep = actions.add_parser(
        "sweep",
        help="list (or --delete) the stored files no database row names",
        description="List the stored document files that no database row names (left by transactions that rolled back) and the "
        "temporary files of interrupted writes, older than the grace period; --delete removes them.  Listing is the default: "
        "deleting cannot be undone, so run it once, look, then add --delete.  Archived documents are never touched, and it is "
        "safe while the gateway runs.  Exit 0 done, 2 refused (no old file is named by the database at all: the database and the "
        "data folder do not seem to belong together, and nothing is deleted).",
    )
    sweep.add_argument(
        "--older-than",
        type=_hours,
        default=24.0,
        metavar="HOURS",
        help="grace period: only files last modified longer ago are swept (default 24; keep it well above the longest "
        "transaction, 0 only with the gateway stopped)",
    )
    sweep.add_argument("--delete", action="store_true", help="delete what is found (default: only list it)")
    sweep.add_argument("-v", "--verbose", action="store_true", help="print each file found: digest (or path), size, modification time")
    sweep.set_defaults(func=_sweep)

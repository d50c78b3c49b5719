"""`gateway payments import FILE…`: import bank statements (camt.053, camt.054, MT940) for a tenant and match their lines.

Each file is one transaction: a malformed file is reported (naming its line or element) and imports nothing; the
others go on.  A progress bar on stderr (when it is a terminal) counts the files and their bytes.
`--check` only reads the files (no database, no tenant) and says what each holds or why it would be refused.
Exit codes: 0 every file imported (or already, or readable with --check), 2 a file refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_REFUSED = 0, 2
IMPORT_HELP = (
    "Import bank statements (camt.053, camt.054 or MT940) for a tenant and match their lines to its invoices. "
    "Each file is imported whole or not at all: a malformed file is reported with the line or element at fault, "
    "and the other files go on. A line already imported is not imported again."
)
BAR = 30


def _progress(done: int, total: int, name: str) -> None:
    if not sys.stderr.isatty():
        return
    filled = BAR * done // max(total, 1)
    print(f"\r[{'#' * filled}{'.' * (BAR - filled)}] {done * 100 // max(total, 1):3d} % {name[:40]:<40}", end="", file=sys.stderr, flush=True)


def _check(files: list[Path]) -> int:
    """Read each file as an import would, and say what it holds or why it would be refused; nothing is stored."""
    from gateway.errors import InputError
    from gateway.payments import service

    refused = 0
    for path in files:
        try:
            statements = service.parse(path.read_bytes())
        except InputError as exc:
            refused += 1
            print(f"{path}: would be refused: {exc.message}", file=sys.stderr)
        else:
            lines = sum(len(statement.lines) for statement in statements)
            formats = ", ".join(sorted({statement.format for statement in statements}))
            print(f"{path}: {formats}, {len(statements)} statement(s), {lines} line(s)")
    return EXIT_REFUSED if refused else EXIT_OK


def _import(args: argparse.Namespace) -> int:
    if args.check:
        return _check(args.files)
    if not args.tenant:
        print("gateway payments import: error: --tenant is required (or --check to read the files only)", file=sys.stderr)
        return EXIT_REFUSED
    from gateway.archive.service import Archive
    from gateway.config import load_config
    from gateway.errors import InputError
    from gateway.payments import service
    from gateway.store.session import Database
    from gateway.store.tenants import get_tenant

    config = load_config()
    database = Database(config)
    archive = Archive.for_config(config)
    refused = 0
    try:
        with database.session() as session:
            tenant_id = get_tenant(session, args.tenant).id
        files: list[Path] = args.files
        total = sum(path.stat().st_size for path in files)
        done = 0
        for path in files:
            _progress(done, total, path.name)
            try:
                result = service.import_file(database, archive, tenant_id, path.read_bytes())
            except InputError as exc:
                refused += 1
                print(f"\n{path}: refused: {exc.message}" if sys.stderr.isatty() else f"{path}: refused: {exc.message}", file=sys.stderr)
            else:
                matched = sum(1 for line in result.new_lines if line.state in ("matched", "decided"))
                review = sum(1 for line in result.new_lines if line.state == "review")
                print(f"{path}: {len(result.new_lines)} new line(s), {matched} matched, {review} to review, {result.skipped} already imported")
            done += path.stat().st_size
            _progress(done, total, path.name)
        if sys.stderr.isatty():
            print(file=sys.stderr)
    finally:
        database.dispose()
    return EXIT_REFUSED if refused else EXIT_OK


def add_commands(commands: argparse._SubParsersAction) -> None:
    payments = commands.add_parser("payments", help="bank statements and payments", description="Bank statements and payment matching.")
    sub = payments.add_subparsers(dest="payments_command", required=True, metavar="COMMAND")
    imported = sub.add_parser(
        "import",
        help="import statement files and match their lines",
        description=IMPORT_HELP,
        epilog="Exit codes: 0 every file imported (or already imported, or readable with --check), 2 a file refused.",
    )
    imported.add_argument("files", nargs="+", type=Path, metavar="FILE", help="camt.053, camt.054 or MT940 file")
    imported.add_argument("--tenant", help="the tenant whose account it is (required unless --check)")
    imported.add_argument("--check", action="store_true", help="only read the files and say what they hold or why they would be refused")
    imported.set_defaults(func=_import)

"""`gateway archive …`: verify, checkpoint, export, prove, expire.

`add_commands(subparsers)` adds the `archive` command to the gateway's parser.
Exit codes: 0 done (verify: intact), 1 verify found a problem, 2 the operation could not be done.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

EXIT_OK, EXIT_BROKEN, EXIT_UNUSABLE = 0, 1, 2


def _context():
    from gateway.archive.service import Archive
    from gateway.config import load_config
    from gateway.store.session import Database

    config = load_config()
    return Archive.for_config(config), Database(config)


def _verify(args: argparse.Namespace) -> int:
    archive, database = _context()
    with database.session() as session:
        result = archive.verify(session)
    if args.json:
        print(json.dumps(result.to_dict(), indent=1))
    else:
        print(result.summary())
        for problem in result.problems[1:]:
            print(f"  also: {problem.message}")
    return EXIT_OK if result.ok else EXIT_BROKEN


def _checkpoint(_args: argparse.Namespace) -> int:
    archive, database = _context()
    with database.session() as session:
        checkpoint = archive.checkpoint(session)
        print(f"checkpoint {checkpoint.id}: entries 1 to {checkpoint.tree_size}, head {checkpoint.head_hash}, Merkle root {checkpoint.merkle_root}")
        print(f"signed by {checkpoint.public_key}" + (" and time-stamped" if checkpoint.tsa_token else ""))
    return EXIT_OK


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _export(args: argparse.Namespace) -> int:
    from gateway.archive.export import export

    archive, database = _context()
    start = datetime.combine(args.start, time(), UTC)
    end = datetime.combine(args.end + timedelta(days=1), time(), UTC)
    signed = ""
    with database.session() as session:
        head, last = archive.head(session)[0], archive.latest_checkpoint(session)
        unsigned = head - (last.tree_size if last else 0)
        if unsigned and args.no_checkpoint:
            signed = f"; {unsigned} latest entries are not covered by a signed checkpoint (--no-checkpoint)"
        elif unsigned:
            checkpoint = archive.checkpoint(session)  # anchor the tail so the export is fully signed
            signed = f"; checkpoint {checkpoint.id} was made now to sign the {unsigned} entries not covered yet (up to entry {checkpoint.tree_size})"
    with database.session() as session:
        summary = export(archive, session, args.output, start=start, end=end)
    print(
        f"{args.output}: {summary.entries} entries and {summary.documents} documents of {args.start} to {args.end}, "
        f"{summary.checkpoints} checkpoints, {summary.tree_size} entry hashes{signed}; verify with: python3 verifier.py check {args.output.name}"
    )
    return EXIT_OK


def _prove(args: argparse.Namespace) -> int:
    archive, database = _context()
    with database.session() as session:
        proof = archive.prove(session, args.document, checkpoint_id=args.checkpoint)
    text = json.dumps(proof, indent=1)
    if args.output:
        args.output.write_text(text + "\n")
        print(f"{args.output}: entry {proof['entry']['seq']} in checkpoint {proof['checkpoint']['id']} ({proof['checkpoint']['tree_size']} entries)")
    else:
        print(text)
    return EXIT_OK


def _expire(_args: argparse.Namespace) -> int:
    archive, database = _context()
    entry = archive.expire(database)
    if entry is None:
        print(f"nothing past the retention of {archive.settings.retention_years} years")
    else:
        print(f"retention-expiry event archived as entry {entry.seq}; bytes no longer needed were deleted")
    return EXIT_OK


def _guarded(func):
    """Archive and configuration errors are reported in one line with exit 2, like the gateway's other commands."""

    def run(args: argparse.Namespace) -> int:
        from gateway.archive.service import ArchiveError
        from gateway.archive.timestamp import TimestampError
        from gateway.config import ConfigError

        try:
            return func(args)
        except (ArchiveError, TimestampError, ConfigError, OSError) as exc:
            print(f"gateway: error: {exc}", file=sys.stderr)
            return EXIT_UNUSABLE

    return run


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `archive verify|checkpoint|export|prove|expire` to the gateway's command parser."""
    archive = subparsers.add_parser(
        "archive",
        help="the tamper-evident archive",
        description="Check and export the archive that keeps every document and status of the gateway: verify it, sign its head "
        "(checkpoint), export a period for an auditor, prove that a document is in it, apply the retention period.  Exit 0 done "
        "(verify: intact), 1 verify found a problem, 2 the operation could not be done.",
    )
    actions = archive.add_subparsers(dest="archive_command", required=True, metavar="ACTION")

    verify = actions.add_parser(
        "verify", help="recompute every hash, link, Merkle root and signature", description="Verify the archive; exit 0 intact, 1 broken."
    )
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.set_defaults(func=_guarded(_verify))

    actions.add_parser(
        "checkpoint",
        help="sign the current head now",
        description="Sign the head (sequence, hash, Merkle root); time-stamp it when a TSA is configured.",
    ).set_defaults(func=_guarded(_checkpoint))

    export = actions.add_parser(
        "export",
        help="write an audit zip with a stand-alone verifier",
        description="Export the entries and documents of a period (UTC days, inclusive) into a zip that an auditor verifies offline "
        "with the verifier it contains.  Entries not yet covered by a signed checkpoint are signed first with a new checkpoint (said "
        "so on the output), so that the whole export is signed; --no-checkpoint exports without (those entries stay unsigned).",
    )
    export.add_argument("--from", dest="start", type=_day, required=True, metavar="DATE", help="first day, YYYY-MM-DD")
    export.add_argument("--to", dest="end", type=_day, required=True, metavar="DATE", help="last day, YYYY-MM-DD")
    export.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.zip", help="zip file to write")
    export.add_argument("--no-checkpoint", action="store_true", help="do not sign the entries after the last checkpoint first")
    export.set_defaults(func=_guarded(_export))

    prove = actions.add_parser(
        "prove", help="inclusion proof of one document", description="RFC 6962 inclusion proof of a document against a signed checkpoint."
    )
    prove.add_argument("--document", required=True, metavar="SHA256", help="the document's SHA-256 (hex)")
    prove.add_argument("--checkpoint", type=int, metavar="ID", help="the checkpoint the auditor holds (default: the latest)")
    prove.add_argument("-o", "--output", type=Path, metavar="FILE.json", help="write the proof there instead of printing it")
    prove.set_defaults(func=_guarded(_prove))

    actions.add_parser(
        "expire", help="apply the retention period", description="Archive a retention-expiry event, then delete the bytes past retention."
    ).set_defaults(func=_guarded(_expire))

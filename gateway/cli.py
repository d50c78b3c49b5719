"""The `gateway` command's parser, and its own commands: serve, db, tenants, keys, validate, convert.

Each area adds its commands with its `add_commands` (archive, worker and deliveries, users, sign, inbound, blobs).
What `--help` shows is written for the people who run the gateway (DESCRIPTION, EPILOG, each command's
description), never taken from these docstrings; tests/cli checks it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from gateway.archive.cli import add_commands as add_archive_commands
from gateway.config import ConfigError, load_config
from gateway.dunning.cli import add_commands as add_dunning_commands
from gateway.errors import InputError
from gateway.jobs.cli import add_commands as add_delivery_commands
from gateway.payments.cli import add_commands as add_payments_commands
from gateway.portal.cli import add_commands as add_users_commands
from gateway.receivables.cli import add_commands as add_receivables_commands
from gateway.reception.inbound_cli import add_commands as add_inbound_commands
from gateway.recurring.cli import add_commands as add_recurring_commands
from gateway.signing.cli import add_commands as add_signing_commands
from gateway.store.cli import add_commands as add_blobs_commands
from gateway.validation.grouping import group, with_groups
from gateway.validation.report import Report

EXIT_OK, EXIT_INVALID, EXIT_UNUSABLE, EXIT_ARTEFACT = 0, 1, 2, 3
LANGUAGES = ("fr", "en")  # of the Factur-X readable page (gateway.formats.render.LABELS)
DESCRIPTION = """\
Run the PDP gateway and manage it.  The gateway takes invoices from your ERP, writes them in the French
e-invoicing reform's formats (Factur-X, UBL, CII), checks them with the official rules, delivers them and
keeps every document in a tamper-evident archive.

Settings come from config/*.toml and GATEWAY_* environment variables (config/gateway.toml lists them all)."""
EPILOG = """\
exit codes: 0 done (validate: the document is valid), 1 the document is invalid (validate; convert: nothing is
written), 2 unusable input or wrong usage, 3 an official rule set could not run (nothing is reported valid then).

"gateway COMMAND --help" shows the options of a command."""


def version() -> str:
    """The installed package's version."""
    from importlib.metadata import version as installed

    return installed("pdp-gateway")


def _serve(args: argparse.Namespace) -> int:
    from gateway.app import create_app
    from gateway.observability.logging import configure_logging
    from gateway.server import create_server
    from gateway.store.session import upgrade

    config = load_config(host=args.host, port=args.port)
    configure_logging(config)
    upgrade(config)
    print(f"gateway: serving on http://{config.host}:{config.port} (data in {config.data_dir.resolve()})", flush=True)
    create_server(create_app(config), config, args.threads).run()
    return EXIT_OK


def _db_upgrade(_args: argparse.Namespace) -> int:
    from gateway.store.session import upgrade

    config = load_config()
    upgrade(config)
    print(f"database at the latest revision: {config.database_url}")
    return EXIT_OK


def _tenants_create(args: argparse.Namespace) -> int:
    from gateway.store.session import Database
    from gateway.store.tenants import create_tenant

    database = Database(load_config())
    with database.session() as session:
        tenant = create_tenant(session, args.name)
        print(f"tenant {tenant.name!r} created (id {tenant.id})")
    return EXIT_OK


def _tenants_list(_args: argparse.Namespace) -> int:
    from gateway.store.session import Database
    from gateway.store.tenants import api_keys, tenants

    database = Database(load_config())
    with database.session() as session:
        for tenant in tenants(session):
            active = sum(1 for key in api_keys(session, tenant) if key.revoked_at is None)
            print(f"{tenant.name}\tid {tenant.id}\tcreated {tenant.created_at.isoformat(timespec='seconds')}\t{active} active key(s)")
    return EXIT_OK


def _keys_list(args: argparse.Namespace) -> int:
    from gateway.store.session import Database
    from gateway.store.tenants import api_keys, get_tenant

    database = Database(load_config())
    with database.session() as session:
        for key in api_keys(session, get_tenant(session, args.tenant)):
            revoked = f"revoked {key.revoked_at.isoformat(timespec='seconds')}" if key.revoked_at else "active"
            print(f"{key.prefix}…\tcreated {key.created_at.isoformat(timespec='seconds')}\t{revoked}")
    return EXIT_OK


def _keys_revoke(args: argparse.Namespace) -> int:
    from gateway.store.session import Database
    from gateway.store.tenants import get_tenant, revoke_by_prefix

    database = Database(load_config())
    with database.session() as session:
        key = revoke_by_prefix(session, get_tenant(session, args.tenant), args.prefix.rstrip("…"))
        print(f"key {key.prefix}… of tenant {args.tenant!r} revoked {key.revoked_at.isoformat(timespec='seconds')}: the API refuses it (401)")
    return EXIT_OK


def _keys_create(args: argparse.Namespace) -> int:
    from gateway.store.session import Database
    from gateway.store.tenants import create_api_key, get_tenant

    database = Database(load_config())
    with database.session() as session:
        key = create_api_key(session, get_tenant(session, args.tenant))
    print(key)
    print("Keep this key now: it is shown only once (the gateway stores only its SHA-256).", file=sys.stderr)
    return EXIT_OK


def _is_json(data: bytes) -> bool:
    return data.lstrip()[:1] in (b"{", b"[")


def _load_json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"not valid JSON: {exc}") from None


def _print_report(report: Report) -> None:
    report_dict = report.to_dict()
    groups = group(report_dict["findings"], report.syntax)
    verdict = "VALID" if report.valid else "INVALID"
    print(f"{verdict}: {report.fatal_count} fatal, {len(report.findings) - report.fatal_count} other finding(s), in {len(groups)} group(s)")
    print(f"syntax: {report.syntax or '-'}   profile: {report.profile or '-'}")
    print(f"artefacts run: {', '.join(report.artefacts) or '(none)'}")
    for entry in groups:
        _print_group(entry)


def _print_group(entry: dict[str, Any], stream: TextIO | None = None) -> None:
    """One group of findings: rule, place in the invoice and who raised it, then each exact location."""
    term = f" [{entry['business_term']}]" if entry["business_term"] else ""
    raised = ", ".join(f"{r['artefact']} ({r['syntax']})" if r["syntax"] else r["artefact"] for r in _distinct_artefacts(entry))
    where = entry["location"] or "the invoice"
    print(f"  {(entry['severity'] or '').upper():8} {entry['rule_id'] or '-'}{term} at {where}: {entry['message']}", file=stream)
    print(f"           raised by {raised}", file=stream)
    for where in dict.fromkeys(r["location"] for r in entry["raised_by"] if r["location"]):
        print(f"           at {where}", file=stream)


def _distinct_artefacts(entry: dict[str, Any]) -> list[dict[str, Any]]:
    return list({r["artefact"]: r for r in entry["raised_by"]}.values())


def _validate(args: argparse.Namespace) -> int:
    """Several files in one run (one report each); --repeat N validates each N times (for benchmarks)."""
    from gateway import intake
    from gateway.validation import pipeline

    pipeline.use_engine(args.engine)
    if args.engine == "native" and not args.json:
        _print_refusals()
    reports, code = [], EXIT_OK
    for path in args.file:
        data = path.read_bytes()
        started = time.perf_counter()
        for _ in range(max(1, args.repeat)):
            if _is_json(data):
                report = intake.validate_json(_load_json(data), args.profile)
            else:
                report = intake.validate_document(data, None, french=not args.no_french)
        elapsed = (time.perf_counter() - started) * 1000 / max(1, args.repeat)
        if not report.valid:
            code = EXIT_INVALID
        if args.json:
            reports.append(with_groups(report.to_dict()))
            continue
        if len(args.file) > 1:
            print(f"== {path}")
        _print_report(report)
        if args.repeat > 1:
            print(f"{args.repeat} runs, {elapsed:.1f} ms per run ({args.engine})")
    if args.json:
        # one file: its report, as before; several: a list of reports, in the order of the files
        print(json.dumps(reports[0] if len(reports) == 1 else reports, ensure_ascii=False, indent=1))
    return code


def _print_refusals() -> None:
    from gateway.validation.artefacts import XSLT
    from gateway.validation.native import refusal

    for artefact in XSLT:
        reason = refusal(artefact)
        if reason:
            print(f"engine: {artefact} runs in Saxon (the native compiler refused it: {reason})")


def _convert(args: argparse.Namespace) -> int:
    """Write the result only when the official rules pass it (or with --allow-invalid): a converter that writes a document
    failing validation and exits 0 hands on an invoice that will be refused downstream."""
    from gateway import intake
    from gateway.formats.cii import write_cii
    from gateway.formats.facturx import build_facturx
    from gateway.formats.ubl import write_ubl

    data = args.file.read_bytes()
    processed = intake.read_json(_load_json(data), args.profile) if _is_json(data) else intake.read_received(data, None)
    profile = intake.resolve_profile(args.profile or processed.profile).name
    for entry in group(processed.report.to_dict()["findings"], processed.report.syntax):
        if entry["severity"] == "fatal":
            print(f"warning: input: {entry['rule_id']} at {entry['location'] or 'the invoice'}: {entry['message']}", file=sys.stderr)
    xml = write_ubl(processed.invoice) if args.to == "ubl" else write_cii(processed.invoice, profile=profile)
    report = intake.validate_document(xml, intake.XML_TYPE, french=not args.no_french)  # a Factur-X is valid when its CII is
    if not report.valid:
        for entry in group(report.to_dict()["findings"], report.syntax):
            if entry["severity"] == "fatal":
                _print_group(entry, sys.stderr)
        if not args.allow_invalid:
            print(
                f"gateway: error: the {args.to} result fails validation ({report.fatal_count} fatal finding(s)); nothing written "
                "(--allow-invalid writes it anyway)",
                file=sys.stderr,
            )
            return EXIT_INVALID
        print(f"warning: the {args.to} result fails validation ({report.fatal_count} fatal finding(s)); written as asked", file=sys.stderr)
    out = build_facturx(processed.invoice, xml, profile=profile, language=args.language) if args.to == "facturx" else xml
    args.output.write_bytes(out)
    print(f"{args.to} written to {args.output} ({len(out)} bytes)", file=sys.stderr)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"gateway {version()}", help="print the gateway's version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="run the web application (migrates the database first)", description="Migrate the database, then serve the API with waitress."
    )
    serve.add_argument("--host", help="interface to listen on (default: config host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: config port, 8080)")
    serve.add_argument("--threads", type=int, default=4, help="worker threads (default: 4)")
    serve.set_defaults(func=_serve)

    db = commands.add_parser("db", help="database commands", description="Database schema commands.")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser(
        "upgrade", help="migrate the database to the latest revision", description="Apply every pending Alembic migration."
    ).set_defaults(func=_db_upgrade)

    add_archive_commands(commands)
    add_delivery_commands(commands)  # worker, directory, deliveries; wraps serve with the in-process worker
    add_users_commands(commands)
    add_signing_commands(commands)
    add_inbound_commands(commands)  # inbound smtp, inbound imap-poll
    add_blobs_commands(commands)  # blobs sweep
    add_payments_commands(commands)  # payments import
    add_dunning_commands(commands)  # dunning run, dunning policy
    add_recurring_commands(commands)  # recurring run
    add_receivables_commands(commands)  # receivables summary, aging, forecast, risks

    tenants = commands.add_parser("tenants", help="manage tenants", description="Manage tenants (the organisations using the gateway).")
    tenant_commands = tenants.add_subparsers(dest="tenants_command", required=True, metavar="ACTION")
    create_tenant = tenant_commands.add_parser("create", help="create a tenant", description="Create a tenant with a unique name.")
    create_tenant.add_argument("name", metavar="NAME", help="the tenant's unique name")
    create_tenant.set_defaults(func=_tenants_create)
    tenant_commands.add_parser(
        "list", help="list the tenants", description="List the tenants: name, id, creation time and number of active API keys."
    ).set_defaults(func=_tenants_list)

    keys = commands.add_parser("keys", help="manage API keys", description="Manage the tenants' API keys.")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create_key = key_commands.add_parser(
        "create", help="create an API key", description="Create an API key for a tenant; it is printed once, only its SHA-256 is stored."
    )
    create_key.add_argument("--tenant", required=True, metavar="NAME", help="the tenant's name")
    create_key.set_defaults(func=_keys_create)
    list_keys = key_commands.add_parser(
        "list",
        help="list a tenant's API keys",
        description="List a tenant's API keys by their prefix, with when each was created and revoked.  The keys themselves are never "
        "shown again (the gateway does not have them).",
    )
    list_keys.add_argument("--tenant", required=True, metavar="NAME", help="the tenant's name")
    list_keys.set_defaults(func=_keys_list)
    revoke_key = key_commands.add_parser(
        "revoke",
        help="revoke an API key",
        description='Revoke one of a tenant\'s API keys, named by the prefix "keys list" shows: from then on the API answers 401 to it.',
    )
    revoke_key.add_argument("--tenant", required=True, metavar="NAME", help="the tenant's name")
    revoke_key.add_argument("prefix", metavar="PREFIX", help="the key's prefix, e.g. gw_1a2b3c4d")
    revoke_key.set_defaults(func=_keys_revoke)

    validate = commands.add_parser(
        "validate",
        help="validate a document",
        description="Validate UBL, CII or Factur-X PDF files with the official artefacts (or intake JSON through the CII and UBL generated "
        "from it).  Exit 0 all valid, 1 one is invalid, 2 unusable input.",
    )
    validate.add_argument(
        "file", type=Path, nargs="+", metavar="FILE", help="UBL or CII XML, Factur-X PDF, or intake JSON (several: one report each)"
    )
    validate.add_argument("--no-french", action="store_true", help="skip the French BR-FR rules (documents only)")
    validate.add_argument("--profile", help="Factur-X profile of the CII generated from intake JSON (default en16931)")
    validate.add_argument("--json", action="store_true", help="print the report as JSON (several files: a list of reports)")
    validate.add_argument(
        "--engine",
        choices=("saxon", "native"),
        default="saxon",
        help="schematron engine: saxon (default) or native (the official rules translated to Python; what it cannot translate runs in Saxon)",
    )
    validate.add_argument("--repeat", type=int, default=1, metavar="N", help="validate each file N times and print the time per run")
    validate.set_defaults(func=_validate)

    convert = commands.add_parser(
        "convert",
        help="convert an invoice to UBL, CII or Factur-X",
        description="Convert intake JSON, UBL, CII or a Factur-X PDF to another syntax, through the canonical invoice.  "
        "Totals absent from intake JSON are computed.  The result is checked with the official rules (XSD, EN 16931 or the "
        "Factur-X profile, BR-FR) before it is written: one that fails them is not written, unless --allow-invalid.  "
        "Exit 0 written, 1 the result fails validation (nothing written), 2 unusable input, 3 a rule set could not run.",
    )
    convert.add_argument("file", type=Path, metavar="FILE", help="intake JSON, UBL or CII XML, or Factur-X PDF")
    convert.add_argument("--to", required=True, choices=("ubl", "cii", "facturx"), help="target syntax")
    convert.add_argument("--profile", help="Factur-X profile for cii/facturx (default: the input's, else en16931)")
    convert.add_argument("--language", default="fr", choices=LANGUAGES, help="language of the Factur-X readable page (default fr)")
    convert.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="file to write")
    convert.add_argument("--no-french", action="store_true", help="check the result without the French BR-FR rules")
    convert.add_argument("--allow-invalid", action="store_true", help="write the result even when it fails validation (with a warning)")
    convert.set_defaults(func=_convert)
    return parser


def main(argv: list[str] | None = None) -> int:
    from gateway.store.tenants import TenantError
    from gateway.validation.schematron import ArtefactError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ArtefactError as exc:
        print(f"gateway: error: validation could not run: {exc}", file=sys.stderr)
        return EXIT_ARTEFACT
    except (InputError, OSError, ConfigError, TenantError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        details = getattr(exc, "details", None) or []
        print(f"gateway: error: {message}", file=sys.stderr)
        for detail in details:
            print(f"  {detail.pointer or '/'}: {detail.message}", file=sys.stderr)
        return EXIT_UNUSABLE


if __name__ == "__main__":
    sys.exit(main())

"""`gateway worker`, `gateway directory import`, `gateway deliveries …`; and the in-process worker of `gateway serve`.

`add_commands(subparsers)` adds the commands to the gateway's parser, and wraps the `serve` command
(already added) so that it also runs one delivery thread and the scheduler when
`[delivery] in_process_worker` is true (the default).

    gateway worker [--threads N]                run delivery threads + the scheduler until SIGTERM / Ctrl-C
    gateway directory import FILE.csv [--tenant NAME]
    gateway deliveries list [--state STATE] [--tenant NAME]
    gateway deliveries retry ID                 send a dead or unroutable delivery again

Exit codes: 0 done, 2 unusable input (a bad directory file, an unknown delivery, one not retryable).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_UNUSABLE = 0, 2


def _worker(args: argparse.Namespace) -> int:
    from gateway.archive.service import Archive
    from gateway.config import load_config
    from gateway.jobs.deliver import Deliverer
    from gateway.jobs.worker import Worker
    from gateway.observability.logging import configure_logging
    from gateway.store.session import Database

    config = load_config()
    configure_logging(config)
    deliverer = Deliverer(Database(config), Archive.for_config(config), config)
    worker = Worker(deliverer, args.threads or deliverer.settings.workers, scheduler=not args.no_scheduler)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    worker.start()
    scheduler = "" if args.no_scheduler else " and the scheduler"
    print(f"gateway worker: {worker.threads} delivery thread(s){scheduler} on {config.database_url}", flush=True)
    while not stop.wait(1.0):
        pass
    worker.stop()
    print("gateway worker: stopped", flush=True)
    return EXIT_OK


def _with_in_process_worker(serve: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """`gateway serve`, plus one delivery thread and the scheduler unless [delivery] in_process_worker is false."""

    def run(args: argparse.Namespace) -> int:
        from gateway.archive.service import Archive
        from gateway.config import load_config
        from gateway.jobs.deliver import Deliverer
        from gateway.jobs.worker import Worker
        from gateway.observability.logging import configure_logging
        from gateway.store.session import Database, upgrade

        config = load_config()
        deliverer = Deliverer(Database(config), Archive.for_config(config), config)  # the settings are checked before serving
        if not deliverer.settings.in_process_worker:
            deliverer.database.dispose()
            return serve(args)
        configure_logging(config)  # before the worker's first line; the server configures the same again
        upgrade(config)  # the worker starts before the server, which migrates too (a no-op then)
        worker = Worker(deliverer, 1)
        worker.start()
        try:
            return serve(args)
        finally:
            worker.stop()

    return run


def _directory_import(args: argparse.Namespace) -> int:
    from gateway.config import load_config
    from gateway.routing.directory import DirectoryError, import_csv
    from gateway.store.session import Database
    from gateway.store.tenants import get_tenant

    database = Database(load_config())
    try:
        with database.session() as session:
            tenant = get_tenant(session, args.tenant) if args.tenant else None
            result = import_csv(session, args.file.read_text(encoding="utf-8-sig"), tenant)
    except DirectoryError as exc:
        print(f"gateway: error: {exc}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_UNUSABLE
    scope = f"tenant {args.tenant!r}" if args.tenant else "every tenant"
    print(f"directory: {result.added} added, {result.updated} updated (for {scope})")
    return EXIT_OK


def _deliveries_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from gateway.config import load_config
    from gateway.jobs.models import Delivery
    from gateway.store.session import Database
    from gateway.store.tenants import get_tenant

    database = Database(load_config())
    with database.session() as session:
        query = select(Delivery).order_by(Delivery.updated_at.desc()).limit(args.limit)
        if args.state:
            query = query.where(Delivery.state == args.state)
        if args.tenant:
            query = query.where(Delivery.tenant_id == get_tenant(session, args.tenant).id)
        for d in session.scalars(query):
            print(f"{d.id}  {d.state:<15} {d.channel or '-':<10} attempts {d.attempts:<3} invoice {d.invoice_id}  {d.last_error or ''}")
    return EXIT_OK


def _deliveries_retry(args: argparse.Namespace) -> int:
    from gateway.config import load_config
    from gateway.jobs import outbox
    from gateway.jobs.models import Delivery
    from gateway.store.session import Database

    database = Database(load_config())
    with database.session() as session:
        delivery = session.get(Delivery, args.id)
        if delivery is None:
            print(f"gateway: error: no delivery {args.id}", file=sys.stderr)
            return EXIT_UNUSABLE
        try:
            outbox.retry(session, delivery)
        except outbox.NotRetryable as exc:
            print(f"gateway: error: {exc}", file=sys.stderr)
            return EXIT_UNUSABLE
    print(f"delivery {args.id} is pending again")
    return EXIT_OK


def add_commands(subparsers: Any) -> None:
    from gateway.jobs.models import STATES

    serve = subparsers.choices.get("serve")
    if serve is not None:
        serve.set_defaults(func=_with_in_process_worker(serve.get_default("func")))

    worker = subparsers.add_parser(
        "worker",
        help="run the delivery workers and the scheduler",
        description="Deliver the outbox: delivery threads (default [delivery] workers) and the scheduler (retries, status polling, "
        'archive checkpoints, the sandbox\'s statuses), until SIGTERM or Ctrl-C.  Run "gateway db upgrade" first.',
    )
    worker.add_argument("--threads", type=int, help="delivery threads (default: [delivery] workers)")
    worker.add_argument("--no-scheduler", action="store_true", help="delivery threads only (another process runs the scheduler)")
    worker.set_defaults(func=_worker)

    directory = subparsers.add_parser("directory", help="the directory of known recipients", description="Manage the routing directory.")
    directory_commands = directory.add_subparsers(dest="directory_command", required=True, metavar="ACTION")
    importing = directory_commands.add_parser(
        "import",
        help="add or update recipients from a CSV file",
        description="Columns: scheme,identifier,name,channel,public_sector,email,peppol_id (scheme: siren, siret, vat, email or an "
        "ISO 6523 ICD).  All or nothing: a bad line imports nothing.",
    )
    importing.add_argument("file", type=Path, metavar="FILE.csv")
    importing.add_argument("--tenant", metavar="NAME", help="entries for this tenant only (default: for every tenant)")
    importing.set_defaults(func=_directory_import)

    deliveries = subparsers.add_parser("deliveries", help="inspect and retry deliveries", description="The delivery outbox.")
    delivery_commands = deliveries.add_subparsers(dest="deliveries_command", required=True, metavar="ACTION")
    listing = delivery_commands.add_parser("list", help="list deliveries, latest first", description="List deliveries, latest change first.")
    listing.add_argument("--state", choices=STATES, help="only deliveries in this state (dead: the dead letters)")
    listing.add_argument("--tenant", metavar="NAME")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(func=_deliveries_list)
    retry = delivery_commands.add_parser(
        "retry", help="send a dead or unroutable delivery again", description="Make a dead (or unroutable: routed again) delivery due now."
    )
    retry.add_argument("id", metavar="ID")
    retry.set_defaults(func=_deliveries_retry)

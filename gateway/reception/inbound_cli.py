"""`gateway inbound smtp` and `gateway inbound imap-poll`: partners' invoices by e-mail ([reception] in config/gateway.toml).

    gateway inbound smtp [--host H] [--port P]   run the SMTP listener for the configured mailboxes until SIGTERM / Ctrl-C
    gateway inbound imap-poll [--once]           poll the IMAP account every interval_seconds (or once, and say what it did)

The worker's scheduler (`gateway worker`, `gateway serve`) also polls IMAP when `[reception.imap]` names a host.
Exit codes: 0 done, 1 the IMAP server could not be polled, 2 unusable configuration.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
from typing import Any

EXIT_OK, EXIT_UNREACHABLE, EXIT_UNUSABLE = 0, 1, 2


def _mailroom() -> Any:
    from gateway.archive.service import Archive
    from gateway.config import load_config
    from gateway.observability.logging import configure_logging
    from gateway.reception.mailroom import Mailroom
    from gateway.store.session import Database

    config = load_config()
    configure_logging(config)
    return Mailroom(Database(config), Archive.for_config(config), config)


def _until_stopped() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def _smtp(args: argparse.Namespace) -> int:
    from gateway.reception.smtp import SmtpListener

    mailroom = _mailroom()
    if not mailroom.settings.mailboxes:
        print("gateway: error: no [reception.mailboxes] are configured: the listener would refuse every message", file=sys.stderr)
        return EXIT_UNUSABLE
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    stop = _until_stopped()
    with SmtpListener(mailroom, dataclasses.replace(mailroom.settings.smtp, **overrides)) as listener:
        host, port = listener.address
        tls = "STARTTLS offered" if listener.settings.tls_cert else "no STARTTLS"
        print(f"gateway inbound smtp: listening on {host}:{port} for {len(mailroom.settings.mailboxes)} mailbox(es), {tls}", flush=True)
        stop.wait()
    print("gateway inbound smtp: stopped", flush=True)
    return EXIT_OK


def _imap_poll(args: argparse.Namespace) -> int:
    from gateway.reception.imap import ImapError, ImapPoller

    mailroom = _mailroom()
    if mailroom.settings.imap is None:
        print("gateway: error: no [reception.imap] host is configured", file=sys.stderr)
        return EXIT_UNUSABLE
    poller = ImapPoller(mailroom)
    stop = None if args.once else _until_stopped()
    while True:
        try:
            print(f"gateway inbound imap-poll: {poller.poll_once()}", flush=True)
        except ImapError as exc:
            print(f"gateway: error: {exc}", file=sys.stderr, flush=True)
            if stop is None:
                return EXIT_UNREACHABLE
        if stop is None or stop.wait(poller.settings.interval_seconds):
            return EXIT_OK


def add_commands(subparsers: Any) -> None:
    inbound = subparsers.add_parser(
        "inbound",
        help="receive partners' invoices by e-mail (SMTP listener, IMAP poller)",
        description="Partners' invoices by e-mail, for the mailboxes of [reception.mailboxes] (config/gateway.toml).  Each message is "
        "stored in one transaction before it is acknowledged: its Factur-X, UBL or CII attachments are received (202, or 213 with "
        'reasons such as DOUBLON), a delivery status report fails the delivery it is about.  Run "gateway db upgrade" first.',
    )
    commands = inbound.add_subparsers(dest="inbound_command", required=True, metavar="ACTION")
    smtp = commands.add_parser(
        "smtp",
        help="run the SMTP listener until SIGTERM or Ctrl-C",
        description="Listen for SMTP ([reception.smtp]): mail for an unknown mailbox is refused (550), larger than max_message_bytes "
        "refused (552); the reply to DATA is given after the message is stored: 250 received, 554 no readable invoice (recorded), "
        "451 not stored (the sender's server tries again).  STARTTLS with tls_cert and tls_key.",
    )
    smtp.add_argument("--host", help="interface to listen on (default: [reception.smtp] host, 127.0.0.1)")
    smtp.add_argument("--port", type=int, help="port to listen on (default: [reception.smtp] port, 2525)")
    smtp.set_defaults(func=_smtp)
    poll = commands.add_parser(
        "imap-poll",
        help="poll the IMAP account for new mail",
        description="Log in to [reception.imap] over TLS or STARTTLS, receive every unseen message of its folder, then flag it \\Seen "
        "and move it to processed_folder; a message that could not be stored stays unseen for the next poll.  Exit 1 when the "
        "server cannot be polled (with --once).",
    )
    poll.add_argument("--once", action="store_true", help="poll once, print what was done and exit (default: every interval_seconds)")
    poll.set_defaults(func=_imap_poll)

"""The IMAP poller: new mail of one account, handled like mail the SMTP listener receives, marked only once stored.

Each poll logs in over TLS (implicit, port 993) or STARTTLS (port 143) — never in clear — selects the
folder and takes its UNSEEN messages by UID.  A message is fetched with BODY.PEEK (fetching alone does not
mark it read), handed to the `Mailroom` (one transaction), and only after that commit flagged \\Seen and,
with `processed_folder`, moved there.  A message that could not be stored (451: a validator that cannot
run, the database away …) stays unseen and is taken again at the next poll; a crash between the commit and
the flag makes the next poll find it already handled, so it is not received twice.  A message larger than
`max_message_bytes` is not downloaded: it is logged, flagged and moved like a handled one.
"""

from __future__ import annotations

import base64
import imaplib
import logging
import re
import ssl
from dataclasses import dataclass

from gateway.archive.service import Archive
from gateway.reception.mail_settings import ImapSettings, MailSettings
from gateway.reception.mailroom import Mailroom
from gateway.store.session import Database

log = logging.getLogger(__name__)

_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class ImapError(RuntimeError):
    """The IMAP server could not be reached, refused the login or a command."""


@dataclass
class PollResult:
    """What one poll did with the unseen messages."""

    stored: int = 0  # handled: an invoice or a report stored (250)
    refused: int = 0  # handled: nothing readable, recorded (5xx)
    deferred: int = 0  # not stored (451): left unseen for the next poll
    too_large: int = 0  # not downloaded

    def __str__(self) -> str:
        return f"{self.stored} stored, {self.refused} without a readable invoice, {self.deferred} deferred, {self.too_large} too large"


class ImapPoller:
    """Polls the account of `[reception.imap]` for the mailroom."""

    def __init__(self, mailroom: Mailroom) -> None:
        if mailroom.settings.imap is None:
            raise ValueError("no [reception.imap] host is configured")
        self.mailroom = mailroom
        self.settings: ImapSettings = mailroom.settings.imap

    def poll_once(self) -> PollResult:
        """Handle every unseen message of the folder once."""
        result = PollResult()
        settings = self.settings
        try:
            with self._connect() as imap:
                _ok(imap.login(settings.username, settings.password), "LOGIN")
                capabilities = set(_ok(imap.capability(), "CAPABILITY")[0].upper().split())
                if settings.processed_folder:
                    imap.create(_quoted(settings.processed_folder))  # NO when it exists already: fine
                _ok(imap.select(_quoted(settings.folder)), f"SELECT {settings.folder}")
                for uid in _ok(imap.uid("SEARCH", None, "UNSEEN"), "SEARCH")[0].split():
                    self._one(imap, uid, capabilities, result)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise ImapError(f"IMAP {settings.host}:{settings.port}: {exc}") from exc
        log.info("IMAP %s/%s: %s", self.settings.host, self.settings.folder, result)
        return result

    def _one(self, imap: imaplib.IMAP4, uid: bytes, capabilities: set[bytes], result: PollResult) -> None:
        sizes = _SIZE.search(b" ".join(_parts(_ok(imap.uid("FETCH", uid, "(RFC822.SIZE)"), "FETCH"))))
        if sizes is not None and int(sizes.group(1)) > self.mailroom.settings.max_message_bytes:
            log.warning("IMAP message %s of %s bytes is over max_message_bytes: not downloaded", uid.decode(), sizes.group(1).decode())
            result.too_large += 1
            self._done(imap, uid, capabilities)
            return
        fetched = [item for item in _ok(imap.uid("FETCH", uid, "(BODY.PEEK[])"), "FETCH") if isinstance(item, tuple)]
        if not fetched:
            return  # expunged by someone else meanwhile
        reply = self.mailroom.handle(fetched[0][1], [self.settings.address])
        if reply.transient:
            log.warning("IMAP message %s left unseen for the next poll: %s", uid.decode(), reply.line())
            result.deferred += 1
            return
        if reply.code == 250:
            result.stored += 1
        else:
            result.refused += 1
        self._done(imap, uid, capabilities)

    def _done(self, imap: imaplib.IMAP4, uid: bytes, capabilities: set[bytes]) -> None:
        """Flag the message \\Seen, then move it to the processed folder when there is one."""
        _ok(imap.uid("STORE", uid, "+FLAGS", "(\\Seen)"), "STORE")
        folder = self.settings.processed_folder
        if not folder:
            return
        if b"MOVE" in capabilities:
            _ok(imap.uid("MOVE", uid, _quoted(folder)), "MOVE")
            return
        _ok(imap.uid("COPY", uid, _quoted(folder)), "COPY")
        _ok(imap.uid("STORE", uid, "+FLAGS", "(\\Deleted)"), "STORE")
        if b"UIDPLUS" in capabilities:
            _ok(imap.uid("EXPUNGE", uid), "UID EXPUNGE")
        else:
            _ok(imap.expunge(), "EXPUNGE")

    def _connect(self) -> imaplib.IMAP4:
        """A connection secured by TLS from the start, or by STARTTLS before anything else is said."""
        settings = self.settings
        context = ssl.create_default_context(cafile=settings.ca_file or None)
        if settings.security == "tls":
            return imaplib.IMAP4_SSL(settings.host, settings.port, ssl_context=context, timeout=settings.timeout_seconds)
        imap = imaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout_seconds)
        try:
            imap.starttls(ssl_context=context)
        except BaseException:
            imap.shutdown()
            raise
        return imap


def _ok(answer: tuple[str, list], command: str) -> list:
    status, data = answer
    if status != "OK":
        raise ImapError(f"IMAP {command} refused: {data!r}")
    return data


def _parts(data: list) -> list[bytes]:
    return [item[0] if isinstance(item, tuple) else item for item in data if item]


def _quoted(name: str) -> str:
    """A mailbox name as IMAP sends it (imaplib sends arguments as given): modified UTF-7 (RFC 3501 5.1.3), quoted."""
    encoded, pending = [], []
    for char in [*name, ""]:
        if char and not " " <= char <= "~":
            pending.append(char)
            continue
        if pending:
            utf16 = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            encoded.append("&" + utf16.rstrip("=").replace("/", ",") + "-")
            pending.clear()
        encoded.append("&-" if char == "&" else char)
    text = "".join(encoded)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def configured_poller(database: Database, archive: Archive) -> ImapPoller | None:
    """The poller for the worker's scheduler when `[reception.imap]` names a host, else None."""
    if MailSettings.from_config(database.config).imap is None:
        return None
    return ImapPoller(Mailroom(database, archive, database.config))

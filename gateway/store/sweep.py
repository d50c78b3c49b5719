"""Orphan blobs: stored files that no database row names, and temporary files of interrupted writes.

Bytes are stored before the transaction that names them commits (`BlobStore`), so a transaction that
rolls back — a refusal after storing, a database or storage fault, a crash — can leave a file that no
row refers to.  `find` lists those older than a grace period; `remove` deletes them.  Safety:

- only files whose mtime is older than the grace period are candidates: a write in flight is young, and
  `BlobStore.put` renews the mtime of a stored file it reuses, so an old orphan taken up again is young too;
  ages are measured on the clock that stamps the folder's files (`filesystem_now`), not this host's: a network
  file system's server stamps them, and a host clock ahead of it would make every fresh file look old;
- every column that names a stored file is checked (`BLOB_REFERENCES`; a test keeps the list complete),
  the archive's first: archived bytes are never deleted while an entry refers to them;
- a file is renamed aside before it is deleted and its mtime read again: a `put` that reused it before
  the rename renewed it (it is put back), one after the rename finds no file and writes it anew.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Column, select
from sqlalchemy.orm import Session

from gateway.store.blobs import TEMP_PREFIX
from gateway.store.models import all_metadata
from gateway.store.session import Database

# (table, column) holding the SHA-256 of a file of the document folder.  The archive comes first: every stored
# byte is archived (`Archive.append` is the store's one writer) and its column is indexed, so the others are
# only asked about the few files it does not name.
BLOB_REFERENCES = (
    ("archive_entries", "content_sha256"),
    ("documents", "sha256"),
    ("receptions", "document_sha256"),
    ("receptions", "message_sha256"),
    ("lifecycle_events", "message_sha256"),
    ("ppf_reports", "message_sha256"),
    ("bank_statements", "sha256"),  # archived too (the archive entry keeps it); named for completeness
    ("dunning_reminders", "letter_sha256"),  # archived too, like the statements
    ("risk_observations", "document_sha256"),  # the received document, also named by its reception
)
_BLOB_NAME = re.compile(r"[0-9a-f]{62}\.bin")
_FOLDER_NAME = re.compile(r"[0-9a-f]{2}")
_CHUNK = 500  # digests per IN (…) query


@dataclass(frozen=True)
class Stale:
    """A file older than the grace period: an orphan blob (`digest` set) or a temporary file."""

    path: Path
    size: int
    mtime: float
    digest: str | None = None


@dataclass
class Findings:
    """What one look at the document folder found."""

    root: Path
    cutoff: float  # files modified before this time (epoch seconds) are old enough to sweep
    orphans: list[Stale] = field(default_factory=list)
    temporary: list[Stale] = field(default_factory=list)
    referenced: int = 0  # old blobs some row names: kept
    recent: int = 0  # blobs inside the grace period: not examined

    @property
    def stale(self) -> list[Stale]:
        return self.orphans + self.temporary


def _reference_columns() -> list[Column[str]]:
    tables = all_metadata().tables
    return [tables[table].c[column] for table, column in BLOB_REFERENCES]


def _referenced(session: Session, digests: Collection[str]) -> set[str]:
    """Those of `digests` that some row names, in any of the `BLOB_REFERENCES` columns."""
    found: set[str] = set()
    for column in _reference_columns():
        rest = sorted(set(digests) - found)
        for start in range(0, len(rest), _CHUNK):
            found.update(session.scalars(select(column).where(column.in_(rest[start : start + _CHUNK])).distinct()))
    return found


def _entries(folder: Path) -> Iterator[tuple[str, os.stat_result]]:
    """(name, stat) of the files in `folder`; one removed meanwhile (a concurrent write's rename) is skipped."""
    with os.scandir(folder) as entries:
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False):
                    yield entry.name, entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue


def filesystem_now(folder: Path) -> float:
    """Now, as the file system holding `folder` stamps a file written there (a probe, named as a temporary file)."""
    handle, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}clock-", dir=folder)
    try:
        return os.fstat(handle).st_mtime
    finally:
        os.close(handle)
        os.unlink(name)


def find(database: Database, older_than_seconds: float) -> Findings:
    """The orphan blobs and temporary files of the database's document folder older than `older_than_seconds`.

    Only `<root>/xx/<62 hex>.bin` and `.tmp-*` files are considered: anything else there is left alone.
    """
    root = database.blobs.root
    findings = Findings(root, (filesystem_now(root) if root.is_dir() else time.time()) - older_than_seconds)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and _FOLDER_NAME.fullmatch(p.name)) if root.is_dir() else []
    for folder in folders:
        old: dict[str, tuple[Path, os.stat_result]] = {}
        for name, info in _entries(folder):
            if name.startswith(TEMP_PREFIX):
                if info.st_mtime < findings.cutoff:
                    findings.temporary.append(Stale(folder / name, info.st_size, info.st_mtime))
            elif _BLOB_NAME.fullmatch(name):
                if info.st_mtime < findings.cutoff:
                    old[folder.name + name.removesuffix(".bin")] = (folder / name, info)
                else:
                    findings.recent += 1
        if not old:
            continue
        with database.session() as session:
            named = _referenced(session, old.keys())
        findings.referenced += len(named)
        for digest in sorted(old.keys() - named):
            path, info = old[digest]
            findings.orphans.append(Stale(path, info.st_size, info.st_mtime, digest))
    return findings


def _remove_blob(path: Path, cutoff: float) -> bool:
    """Delete the blob at `path` unless a write has renewed it since it was found (see the module's docstring)."""
    aside = path.with_name(f"{TEMP_PREFIX}swept-{path.name}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return False
    if aside.stat().st_mtime >= cutoff:
        os.replace(aside, path)
        return False
    aside.unlink()
    return True


def remove(findings: Findings) -> int:
    """Delete what `find` found, except files modified since; the number of files deleted."""
    deleted = 0
    for stale in findings.stale:
        if stale.digest is not None:
            deleted += _remove_blob(stale.path, findings.cutoff)
            continue
        try:
            if stale.path.stat().st_mtime < findings.cutoff:
                stale.path.unlink()
                deleted += 1
        except FileNotFoundError:
            continue
    return deleted

"""The archive service: append, checkpoint, prove, verify, expire.

Appends are serialized on the one-row `archive_lock` table before the head is read:
PostgreSQL `SELECT … FOR UPDATE` (a row lock held to commit); on SQLite a no-op UPDATE,
the append's first write, takes the database write lock (as BEGIN IMMEDIATE would)
and waits for it with the busy timeout.  Concurrent writers, threads or processes,
queue there and the chain never forks (the sequence number is also the primary key).
Call `append` inside the transaction that stores what the bytes belong to.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from gateway.archive.chain import entry_fields, seal, timestamp
from gateway.archive.checkpoints import checkpoint_dict, load_or_create_key, public_key_hex, sign, verify_signature
from gateway.archive.merkle import inclusion_path, leaves_of
from gateway.archive.models import LOCK_ID, ArchiveCheckpoint, ArchiveEntry, ArchiveLock
from gateway.archive.timestamp import request_token
from gateway.archive.verifier import (
    GENESIS_HASH,
    RETENTION_EXPIRY,
    MerkleAccumulator,
    VerificationResult,
    canonical_json,
    check_archive,
    checkpoint_message,
    leaf_hash,
)
from gateway.config import Config, ConfigError
from gateway.store.blobs import BlobStore
from gateway.store.models import utcnow
from gateway.store.session import Database

KEY_FILE = Path("archive") / "checkpoint-key.pem"
PROOF_FORMAT = "pdp-gateway-archive-proof/1"
MAX_KIND_LENGTH = 32
_BATCH = 5000


# Core statements built once (appends are hot).
_LOCK = ArchiveLock.__table__
_LOCK_ROW = select(_LOCK.c.id).where(_LOCK.c.id == LOCK_ID).with_for_update()
_LOCK_SQLITE = update(_LOCK).where(_LOCK.c.id == LOCK_ID).values(id=_LOCK.c.id).returning(_LOCK.c.id)
_ENTRIES = ArchiveEntry.__table__
_LAST_ENTRY = select(_ENTRIES.c.seq, _ENTRIES.c.entry_hash).order_by(_ENTRIES.c.seq.desc()).limit(1)
_INSERT_ENTRY = insert(_ENTRIES)


class ArchiveError(RuntimeError):
    """An archive operation that cannot be done (nothing to prove, no checkpoint yet, a chain that must not be signed …)."""


@dataclass(frozen=True)
class ArchiveSettings:
    """The `[archive]` table of the configuration."""

    retention_years: int = 10  # French commercial law (L123-22 Code de commerce); fiscal minimum is 6
    checkpoint_interval_seconds: int = 3600  # `checkpoint_if_due` signs a new head at most this often
    tsa_url: str = ""  # RFC 3161 time-stamp authority; empty: checkpoints are not time-stamped
    tsa_certificate: str = ""  # PEM file of the TSA certificate to pin (recommended with tsa_url)
    tsa_timeout_seconds: int = 10
    key_file: str = ""  # Ed25519 checkpoint key; empty: <data_dir>/archive/checkpoint-key.pem
    trusted_public_keys: tuple[str, ...] = ()  # earlier checkpoint keys (hex) still trusted after a key change

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> ArchiveSettings:
        """Settings from the `[archive]` table; an unknown key or a wrong type is a ConfigError."""
        values: dict[str, Any] = {}
        defaults = cls()
        for name, value in section.items():
            if name not in {f.name for f in fields(cls)}:
                raise ConfigError(f"unknown setting [archive] {name}")
            expected = type(getattr(defaults, name))
            if expected is tuple and isinstance(value, list) and all(isinstance(v, str) for v in value):
                value = tuple(value)
            if not isinstance(value, expected) or isinstance(value, bool):
                raise ConfigError(f"[archive] {name} must be of type {expected.__name__}")
            values[name] = value
        settings = cls(**values)
        if settings.retention_years < 1 or settings.checkpoint_interval_seconds < 1 or settings.tsa_timeout_seconds < 1:
            raise ConfigError("[archive] retention_years, checkpoint_interval_seconds and tsa_timeout_seconds must be positive")
        return settings


def _years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


class Archive:
    """The archive of one gateway: its document folder, its checkpoint key and its settings."""

    def __init__(self, blobs: BlobStore, key_file: Path, settings: ArchiveSettings | None = None) -> None:
        self.blobs = blobs
        self.key_file = Path(key_file)
        self.settings = settings or ArchiveSettings()

    @classmethod
    def for_config(cls, config: Config) -> Archive:
        settings = ArchiveSettings.from_section(config.sections.get("archive", {}))
        return cls(BlobStore(config.documents_dir), Path(settings.key_file) if settings.key_file else config.data_dir / KEY_FILE, settings)

    @cached_property
    def key(self) -> Ed25519PrivateKey:
        return load_or_create_key(self.key_file)

    @property
    def public_key(self) -> str:
        """The checkpoint key's public half (64 hex digits): what the operator publishes for auditors to pin."""
        return public_key_hex(self.key)

    # ------------------------------------------------------------------------ append

    def append(
        self, session: Session, *, tenant_id: int | None, invoice_id: str | None, kind: str, data: bytes, at: datetime | None = None
    ) -> ArchiveEntry:
        """Store `data` (once, by SHA-256) and chain an entry for it after the current head.

        The entry is inserted directly (not through the session's unit of work); the
        returned object is a detached copy of the row.
        """
        if not kind or len(kind) > MAX_KIND_LENGTH:
            raise ValueError(f"an archive kind has 1 to {MAX_KIND_LENGTH} characters, not {kind!r}")
        if at is not None and at.tzinfo is None:
            raise ValueError("an archive time must be timezone-aware")
        digest = self.blobs.put(data)  # bytes first: a rolled-back append leaves an unreferenced copy, never a dangling entry
        if session.execute(_LOCK_SQLITE if session.get_bind().dialect.name == "sqlite" else _LOCK_ROW).one_or_none() is None:
            raise ArchiveError("the archive lock row is missing: run `gateway db upgrade`")
        seq, prev_hash = self.head(session)
        entry = ArchiveEntry(
            seq=seq + 1,
            time=(at or utcnow()).astimezone(UTC),
            tenant_id=tenant_id,
            invoice_id=invoice_id,
            kind=kind,
            content_sha256=digest,
            size=len(data),
            prev_hash=prev_hash,
        )
        seal(entry)
        session.execute(_INSERT_ENTRY, [{c.key: getattr(entry, c.key) for c in _ENTRIES.columns}])
        return entry

    # ------------------------------------------------------------------------ checkpoints

    def head(self, session: Session) -> tuple[int, str]:
        """The last entry: (sequence, hash); (0, the genesis hash) for an empty archive."""
        last = session.execute(_LAST_ENTRY).one_or_none()
        return (last.seq, last.entry_hash) if last is not None else (0, GENESIS_HASH)

    def _entry_hashes(self, session: Session, upto: int) -> list[str]:
        """The entry hashes 1 … `upto`, after checking that they form one unbroken chain (a broken one is never signed)."""
        hashes: list[str] = []
        previous = GENESIS_HASH
        rows = session.execute(
            select(ArchiveEntry.seq, ArchiveEntry.prev_hash, ArchiveEntry.entry_hash).where(ArchiveEntry.seq <= upto).order_by(ArchiveEntry.seq),
            execution_options={"yield_per": _BATCH},
        )
        for seq, prev_hash, hash_ in rows:
            if seq != len(hashes) + 1 or prev_hash != previous:
                raise ArchiveError(f"the chain is broken at entry {len(hashes) + 1} (nothing is signed or proved over it)")
            hashes.append(hash_)
            previous = hash_
        if len(hashes) != upto:
            raise ArchiveError(f"the archive has {len(hashes)} entries where {upto} are expected; run `gateway archive verify`")
        return hashes

    def checkpoint(self, session: Session, *, now: datetime | None = None) -> ArchiveCheckpoint:
        """Sign the current head (sequence, hash, Merkle root), time-stamped by the configured TSA if any."""
        tree_size, head_hash = self.head(session)
        tree = MerkleAccumulator()
        for hash_ in self._entry_hashes(session, tree_size):
            tree.add(leaf_hash(hash_))
        moment = (now or utcnow()).astimezone(UTC)
        signed = {
            "tree_size": tree_size,
            "head_hash": head_hash,
            "merkle_root": tree.root().hex(),
            "time": timestamp(moment),
            "public_key": self.public_key,
        }
        checkpoint = ArchiveCheckpoint(
            tree_size=tree_size,
            head_hash=head_hash,
            merkle_root=signed["merkle_root"],
            time=moment,
            public_key=self.public_key,
            signature=sign(self.key, signed),
            tsa_token=self._timestamp(checkpoint_message(signed)) if self.settings.tsa_url else None,
        )
        session.add(checkpoint)
        session.flush()
        return checkpoint

    def _timestamp(self, message: bytes) -> bytes:
        pinned = None
        if self.settings.tsa_certificate:
            pinned = x509.load_pem_x509_certificate(Path(self.settings.tsa_certificate).read_bytes()).public_bytes(Encoding.DER)
        return request_token(self.settings.tsa_url, message, timeout=self.settings.tsa_timeout_seconds, tsa_certificate=pinned)

    def latest_checkpoint(self, session: Session) -> ArchiveCheckpoint | None:
        return session.scalar(select(ArchiveCheckpoint).order_by(ArchiveCheckpoint.id.desc()).limit(1))

    def checkpoint_if_due(self, session: Session, *, now: datetime | None = None) -> ArchiveCheckpoint | None:
        """A new checkpoint when entries were added and the last one is older than the configured interval (for the scheduler);
        none over an empty archive (a worker started before the first invoice has nothing to sign)."""
        now = now or utcnow()
        last = self.latest_checkpoint(session)
        size = self.head(session)[0]
        if size == 0 or (
            last is not None and (size == last.tree_size or now - last.time < timedelta(seconds=self.settings.checkpoint_interval_seconds))
        ):
            return None
        return self.checkpoint(session, now=now)

    # ------------------------------------------------------------------------ proofs

    def prove(self, session: Session, sha256: str, *, checkpoint_id: int | None = None) -> dict[str, Any]:
        """An RFC 6962 inclusion proof of the first entry holding document `sha256`, against a checkpoint (default: the latest)."""
        entry = session.scalar(select(ArchiveEntry).where(ArchiveEntry.content_sha256 == sha256.lower()).order_by(ArchiveEntry.seq).limit(1))
        if entry is None:
            raise ArchiveError(f"no archived document has SHA-256 {sha256}")
        query = select(ArchiveCheckpoint).where(ArchiveCheckpoint.tree_size >= entry.seq)
        if checkpoint_id is not None:
            query = query.where(ArchiveCheckpoint.id == checkpoint_id)
        checkpoint = session.scalar(query.order_by(ArchiveCheckpoint.id.desc()).limit(1))
        if checkpoint is None:
            raise ArchiveError(f"entry {entry.seq} is not covered by that checkpoint or any: run `gateway archive checkpoint` first")
        hashes = self._entry_hashes(session, checkpoint.tree_size)
        return {
            "format": PROOF_FORMAT,
            "entry": entry_fields(entry),
            "leaf_index": entry.seq - 1,
            "path": [p.hex() for p in inclusion_path(leaves_of(hashes), entry.seq - 1)],
            "checkpoint": checkpoint_dict(checkpoint),
        }

    # ------------------------------------------------------------------------ verification

    def read(self, digest: str) -> bytes | None:
        """The stored bytes named `digest` as they are (unchecked: verification compares), None when absent."""
        try:
            return self.blobs.path(digest).read_bytes()
        except (FileNotFoundError, ValueError):
            return None

    def entries(self, session: Session, *, upto: int | None = None) -> Iterator[dict[str, Any]]:
        """Every entry (up to sequence `upto`) as JSON values, in sequence order, streamed."""
        query = select(ArchiveEntry).order_by(ArchiveEntry.seq)
        if upto is not None:
            query = query.where(ArchiveEntry.seq <= upto)
        for entry in session.scalars(query, execution_options={"yield_per": _BATCH}):
            yield entry_fields(entry)

    def checkpoints(self, session: Session, *, upto: int | None = None) -> list[dict[str, Any]]:
        query = select(ArchiveCheckpoint).order_by(ArchiveCheckpoint.id)
        if upto is not None:
            query = query.where(ArchiveCheckpoint.tree_size <= upto)
        return [checkpoint_dict(c) for c in session.scalars(query)]

    def verify(self, session: Session) -> VerificationResult:
        """Recompute every document hash, entry hash, link, Merkle root and signature; the first broken entry comes first."""
        return check_archive(
            self.entries(session),
            self.checkpoints(session),
            self.read,
            trusted_keys={self.public_key, *self.settings.trusted_public_keys},
            verify_signature=verify_signature,
        )

    # ------------------------------------------------------------------------ retention

    def _expired_seqs(self, session: Session) -> set[int]:
        expired: set[int] = set()
        for digest in session.scalars(select(ArchiveEntry.content_sha256).where(ArchiveEntry.kind == RETENTION_EXPIRY)):
            expired.update(json.loads(self.blobs.get(digest))["seqs"])
        return expired

    def expire(self, database: Database, *, now: datetime | None = None) -> ArchiveEntry | None:
        """Archive a retention-expiry event for the entries older than the retention, then delete the bytes no live entry needs.

        The event is committed before any byte is deleted: nothing disappears unrecorded.
        Entries themselves stay (their hashes hold the chain); only document bytes go.
        """
        now = (now or utcnow()).astimezone(UTC)
        before = _years_before(now, self.settings.retention_years)
        with database.session() as session:
            already = self._expired_seqs(session)
            due = session.execute(
                select(ArchiveEntry.seq, ArchiveEntry.content_sha256)
                .where(ArchiveEntry.time < before, ArchiveEntry.kind != RETENTION_EXPIRY)
                .order_by(ArchiveEntry.seq)
            ).all()
            due = [row for row in due if row.seq not in already]
            if not due:
                return None
            event = {"before": timestamp(before), "retention_years": self.settings.retention_years, "seqs": [row.seq for row in due]}
            entry = self.append(session, tenant_id=None, invoice_id=None, kind=RETENTION_EXPIRY, data=canonical_json(event), at=now)
        expired = already | {row.seq for row in due}
        with database.session() as session:
            digests = sorted({row.content_sha256 for row in due})
            for start in range(0, len(digests), 500):
                chunk = digests[start : start + 500]
                users = session.execute(select(ArchiveEntry.seq, ArchiveEntry.content_sha256).where(ArchiveEntry.content_sha256.in_(chunk))).all()
                live = {row.content_sha256 for row in users if row.seq not in expired}
                for digest in set(chunk) - live:
                    self.blobs.path(digest).unlink(missing_ok=True)
        return entry

"""Archive tables: entries (append-only), the one-row append lock and signed checkpoints (append-only).

The archive refers to tenants and invoices by id without foreign keys: it must
stay readable, exportable and verifiable on its own, whatever becomes of the
operational tables.  UPDATE and DELETE on entries and checkpoints are refused
here (ORM events) and in the database (triggers of migration 0100).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, event
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from gateway.store.models import Base, UTCDateTime

LOCK_ID = 1


class AppendOnlyError(RuntimeError):
    """An attempt to update or delete an archived entry or checkpoint."""


class ArchiveEntry(Base):
    """One archived document (or event): its place in the chain and the SHA-256 of its bytes."""

    __tablename__ = "archive_entries"
    __table_args__ = (Index("ix_archive_entries_time", "time"),)

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    tenant_id: Mapped[int | None] = mapped_column(Integer)
    invoice_id: Mapped[str | None] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class ArchiveLock(Base):
    """One row, locked by every append until its transaction ends, so that the chain never forks.

    It is never changed: a per-append head row would pile up row versions on PostgreSQL
    within a long transaction; the head is the entry with the highest sequence number.
    """

    __tablename__ = "archive_lock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class ArchiveCheckpoint(Base):
    """A signed head: the first `tree_size` entries end with `head_hash` and have the RFC 6962 root `merkle_root`."""

    __tablename__ = "archive_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    merkle_root: Mapped[str] = mapped_column(String(64))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    public_key: Mapped[str] = mapped_column(String(64))  # raw Ed25519 public key, hex
    signature: Mapped[str] = mapped_column(String(128))  # Ed25519 signature of verifier.checkpoint_message(), hex
    tsa_token: Mapped[bytes | None] = mapped_column(LargeBinary)  # RFC 3161 TimeStampToken (DER) over the same message


APPEND_ONLY = (ArchiveEntry, ArchiveCheckpoint)


def _refuse(_mapper, _connection, target) -> None:
    raise AppendOnlyError(f"the archive is append-only: {type(target).__name__} rows are never updated or deleted")


for _model in APPEND_ONLY:
    event.listen(_model, "before_update", _refuse)
    event.listen(_model, "before_delete", _refuse)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk(state: ORMExecuteState) -> None:
    """Bulk `update()` / `delete()` statements bypass the mapper events: refuse them too."""
    if (state.is_update or state.is_delete) and state.bind_mapper is not None and state.bind_mapper.class_ in APPEND_ONLY:
        raise AppendOnlyError(
            f"the archive is append-only: bulk {'UPDATE' if state.is_update else 'DELETE'} on {state.bind_mapper.class_.__name__} refused"
        )

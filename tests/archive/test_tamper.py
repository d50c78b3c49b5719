"""Verification recomputes everything and names the first broken entry and why, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, select, update

from gateway.archive.checkpoints import checkpoint_dict, public_key_hex, sign
from gateway.archive.models import AppendOnlyError, ArchiveCheckpoint, ArchiveEntry

ENTRIES = 30


@pytest.fixture
def filled(setup):
    """30 entries and a checkpoint over them."""
    setup.append(ENTRIES)
    setup.checkpoint()
    assert setup.verify().ok
    return setup


def _first(setup):
    result = setup.verify()
    assert not result.ok
    return result.first


def test_untouched_archive_verifies_clean(filled):
    result = filled.verify()
    assert result.ok, result.problems
    assert (result.entries, result.documents, result.checkpoints, result.head_seq) == (ENTRIES, ENTRIES, 1, ENTRIES)


def test_flipped_byte_in_a_stored_document(filled):
    with filled.database.session() as session:
        digest = session.get(ArchiveEntry, 7).content_sha256
    path = filled.archive.blobs.path(digest)
    data = bytearray(path.read_bytes())
    data[2] ^= 0x01
    path.write_bytes(bytes(data))
    first = _first(filled)
    assert (first.seq, first.reason) == (7, "content-mismatch")
    assert digest in first.message


def test_missing_document(filled):
    with filled.database.session() as session:
        digest = session.get(ArchiveEntry, 9).content_sha256
    filled.archive.blobs.path(digest).unlink()
    first = _first(filled)
    assert (first.seq, first.reason) == (9, "content-missing")


def test_edited_metadata_field(filled):
    filled.tamper("UPDATE archive_entries SET invoice_id = 'forged' WHERE seq = 12")
    first = _first(filled)
    assert (first.seq, first.reason) == (12, "entry-hash-mismatch")
    assert "entry 12: a field was changed" in first.message


def test_deleted_entry(filled):
    filled.tamper("DELETE FROM archive_entries WHERE seq = 15")
    first = _first(filled)
    assert (first.seq, first.reason) == (15, "missing-entry")
    assert "entry 15 missing" in first.message


def test_two_swapped_entries(filled):
    filled.tamper(
        "UPDATE archive_entries SET seq = -1 WHERE seq = 20",
        "UPDATE archive_entries SET seq = 20 WHERE seq = 21",
        "UPDATE archive_entries SET seq = 21 WHERE seq = -1",
    )
    first = _first(filled)
    assert (first.seq, first.reason) == (20, "broken-link")


def test_truncated_tail_is_detected_against_the_last_checkpoint(filled):
    # The remaining chain is intact: only the signed checkpoint still knows there were 30 entries.
    filled.tamper("DELETE FROM archive_entries WHERE seq > 25")
    first = _first(filled)
    assert (first.seq, first.reason, first.checkpoint) == (26, "truncated", 1)
    assert "entries 26 to 30 missing" in first.message


def test_rewritten_chain_is_detected_by_the_checkpoint(filled):
    # Rewriting a field and re-hashing every later entry keeps the chain consistent; the signed Merkle root does not match.
    from gateway.archive.chain import entry_fields
    from gateway.archive.verifier import entry_hash

    with filled.database.session() as session:
        rows = [entry_fields(e) for e in session.scalars(select(ArchiveEntry).order_by(ArchiveEntry.seq))]
    prev = rows[3]["prev_hash"]
    statements = []
    for row in rows[3:]:
        row["invoice_id"] = "forged" if row["seq"] == 4 else row["invoice_id"]
        new = entry_hash(prev, row)
        values = f"invoice_id = '{row['invoice_id']}', prev_hash = '{prev}', entry_hash = '{new}'"
        statements.append(f"UPDATE archive_entries SET {values} WHERE seq = {row['seq']}")
        prev = new
    filled.tamper(*statements)
    first = _first(filled)
    assert (first.seq, first.reason, first.checkpoint) == (ENTRIES, "checkpoint-mismatch", 1)


def test_forged_checkpoint_signature(filled):
    with filled.database.session() as session:
        checkpoint = checkpoint_dict(session.scalar(select(ArchiveCheckpoint)))
    forged = sign(Ed25519PrivateKey.generate(), {**checkpoint, "tree_size": ENTRIES})  # another key, claiming to be ours
    filled.tamper(f"UPDATE archive_checkpoints SET signature = '{forged}'")
    first = _first(filled)
    assert (first.reason, first.checkpoint) == ("checkpoint-signature-invalid", checkpoint["id"])


def test_checkpoint_signed_by_another_key(filled):
    other = Ed25519PrivateKey.generate()
    with filled.database.session() as session:
        checkpoint = checkpoint_dict(session.scalar(select(ArchiveCheckpoint)))
    checkpoint["public_key"] = public_key_hex(other)
    filled.tamper(f"UPDATE archive_checkpoints SET public_key = '{checkpoint['public_key']}', signature = '{sign(other, checkpoint)}'")
    first = _first(filled)
    assert (first.reason, first.checkpoint) == ("checkpoint-unknown-key", checkpoint["id"])


def test_checkpoint_refuses_to_sign_a_broken_chain(filled):
    from gateway.archive.service import ArchiveError

    filled.tamper("DELETE FROM archive_entries WHERE seq = 3")
    with pytest.raises(ArchiveError, match="broken at entry 3"):
        filled.checkpoint()


def test_no_code_path_updates_or_deletes_archive_rows(filled):
    with filled.database.session() as session:
        session.get(ArchiveEntry, 1).kind = "changed"
        with pytest.raises(AppendOnlyError):
            session.flush()
        session.rollback()
    for statement in (update(ArchiveEntry).values(kind="x"), delete(ArchiveEntry), delete(ArchiveCheckpoint)):
        with filled.database.session() as session, pytest.raises(AppendOnlyError):
            session.execute(statement)
    for sql in ("UPDATE archive_entries SET kind = 'x' WHERE seq = 1", "DELETE FROM archive_entries", "DELETE FROM archive_checkpoints"):
        with pytest.raises(Exception, match="append-only"), filled.database.engine.begin() as conn:
            conn.exec_driver_sql(sql)
    if filled.kind == "postgresql":
        with pytest.raises(Exception, match="append-only"), filled.database.engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE archive_entries")
    assert filled.verify().ok

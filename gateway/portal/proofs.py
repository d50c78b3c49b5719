"""Recompute one invoice's archive evidence: its entries, their content hashes and their inclusion proofs.

For each archive entry of the invoice: the stored bytes must still hash to the entry's
content SHA-256 (and size), the entry's fields must still hash to its entry hash, and,
when the latest signed checkpoint covers it, an RFC 6962 inclusion proof built from the
stored entry hashes must lead to the checkpoint's signed Merkle root.  The last two checks
and the checkpoint signature are those of the stand-alone verifier (`check_proof`), so the
portal and an auditor agree.  The Merkle tree is built once, level by level, and every
entry's path is read from it: one pass over the archive however many documents the invoice has.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.archive.chain import entry_fields
from gateway.archive.checkpoints import checkpoint_dict
from gateway.archive.models import ArchiveCheckpoint, ArchiveEntry
from gateway.archive.service import PROOF_FORMAT, Archive
from gateway.archive.verifier import check_proof, entry_hash, leaf_hash
from gateway.texts import N_


def merkle_levels(leaves: list[bytes]) -> list[list[bytes]]:
    """The RFC 6962 tree as levels, leaves first: pairs hashed left to right, a lone last node carried up unchanged.

    Nodes are hashed inline (SHA-256 of 0x01 ‖ left ‖ right, `verifier.node_hash`): a call per node
    would cost a third more on large archives; a test checks both agree.
    """
    sha256 = hashlib.sha256
    levels = [leaves]
    while len(levels[-1]) > 1:
        below = levels[-1]
        above = [sha256(b"\x01" + below[i] + below[i + 1]).digest() for i in range(0, len(below) - 1, 2)]
        if len(below) % 2:
            above.append(below[-1])
        levels.append(above)
    return levels


def audit_path(levels: list[list[bytes]], index: int) -> list[bytes]:
    """The inclusion path of leaf `index`, from the leaf up (RFC 6962 PATH)."""
    path = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        index //= 2
    return path


@dataclass
class EntryCheck:
    """What was recomputed for one archive entry of the invoice."""

    entry: dict[str, Any]
    document_present: bool
    problems: list[str] = field(default_factory=list)
    proof: dict[str, Any] | None = None  # the inclusion proof (pdp-gateway-archive-proof/1), when a checkpoint covers the entry

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class InvoiceEvidence:
    entries: list[EntryCheck]
    checkpoint: dict[str, Any] | None
    problems: list[str] = field(default_factory=list)  # about the archive as a whole (e.g. fewer entries than the checkpoint covers)

    @property
    def anchored(self) -> bool:
        return all(check.proof is not None for check in self.entries)

    @property
    def ok(self) -> bool:
        return bool(self.entries) and not self.problems and all(check.ok for check in self.entries)


def archive_entries(session: Session, tenant_id: int, invoice_id: str) -> list[ArchiveEntry]:
    """The invoice's archive entries (its documents and status events), in sequence order."""
    query = select(ArchiveEntry).where(ArchiveEntry.invoice_id == invoice_id, ArchiveEntry.tenant_id == tenant_id).order_by(ArchiveEntry.seq)
    return list(session.scalars(query))


def _levels(session: Session, checkpoint: ArchiveCheckpoint) -> list[list[bytes]] | None:
    """The Merkle levels over entries 1 … tree_size as stored now; None when entries are missing.

    Sequence numbers are the primary key (unique positive integers): as many rows as the
    checkpoint's size under it means exactly entries 1 … tree_size.  The hashes are read with
    the driver's cursor: building ORM rows for tens of thousands of them would triple the time.
    """
    size = int(checkpoint.tree_size)
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"SELECT entry_hash FROM archive_entries WHERE seq >= 1 AND seq <= {size} ORDER BY seq")
        hashes = cursor.fetchall()
    finally:
        cursor.close()
    return merkle_levels([leaf_hash(row[0]) for row in hashes]) if len(hashes) == size else None


def verify_invoice(session: Session, archive: Archive, tenant_id: int, invoice_id: str) -> InvoiceEvidence:
    """Recompute every content hash, entry hash and inclusion proof of the invoice's entries against the latest checkpoint."""
    checkpoint = archive.latest_checkpoint(session)
    result = InvoiceEvidence([], checkpoint_dict(checkpoint) if checkpoint else None)
    levels = _levels(session, checkpoint) if checkpoint is not None else None
    if checkpoint is not None and levels is None:
        result.problems.append(N_("the archive no longer holds the {size} entries its latest checkpoint signed").format(size=checkpoint.tree_size))
    trusted = {archive.public_key, *archive.settings.trusted_public_keys}
    for entry in archive_entries(session, tenant_id, invoice_id):
        fields = entry_fields(entry)
        document = archive.read(entry.content_sha256)
        check = EntryCheck(fields, document is not None)
        if checkpoint is not None and levels is not None and entry.seq <= checkpoint.tree_size:
            path = [p.hex() for p in audit_path(levels, entry.seq - 1)]
            check.proof = {"format": PROOF_FORMAT, "entry": fields, "leaf_index": entry.seq - 1, "path": path, "checkpoint": result.checkpoint}
            check.problems = check_proof(check.proof, document, trusted)
        else:
            check.problems = _unanchored_problems(fields, document)
        if document is None:
            check.problems.append(N_("entry {seq}: the document's bytes are no longer stored (retention expired or deleted)").format(seq=entry.seq))
        result.entries.append(check)
    return result


def _unanchored_problems(fields: dict[str, Any], document: bytes | None) -> list[str]:
    """The checks possible before a checkpoint covers the entry: its own hash and its document's."""
    problems = []
    if entry_hash(fields["prev_hash"], fields) != fields["entry_hash"]:
        problems.append(N_("entry {seq}: a field was changed (its recomputed hash differs from the recorded one)").format(seq=fields["seq"]))
    if document is not None and (hashlib.sha256(document).hexdigest() != fields["content_sha256"] or len(document) != fields["size"]):
        problems.append(N_("the document does not match entry {seq} (SHA-256 or size differs)").format(seq=fields["seq"]))
    return problems

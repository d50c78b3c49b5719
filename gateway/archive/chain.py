"""The hash chain: an entry's fields as the canonical encoding sees them, and its hash.

The encoding and the hash themselves are defined once, in `verifier.py` (shipped in
every export), so the gateway and an offline auditor cannot disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.archive.models import ArchiveEntry
from gateway.archive.verifier import entry_hash


def timestamp(moment: datetime) -> str:
    """UTC, microseconds, `Z`: the one text form of a time in the chain (exactly what the databases keep)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_fields(entry: ArchiveEntry) -> dict[str, Any]:
    """Every field of `entry`, including both hashes, as JSON values (the export's `entries.jsonl` line)."""
    return {
        "seq": entry.seq,
        "time": timestamp(entry.time),
        "tenant_id": entry.tenant_id,
        "invoice_id": entry.invoice_id,
        "kind": entry.kind,
        "content_sha256": entry.content_sha256,
        "size": entry.size,
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
    }


def seal(entry: ArchiveEntry) -> str:
    """Set and return the hash of `entry` from its previous hash and fields."""
    entry.entry_hash = entry_hash(entry.prev_hash, entry_fields(entry))
    return entry.entry_hash

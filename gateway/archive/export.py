"""Audit export: one zip an auditor verifies offline with the `verifier.py` it contains.

The zip holds, for the entries whose time falls in the period, their full fields and
their documents; for every other entry up to the covering checkpoint, its hash only
(enough to recompute the Merkle roots and the links, nothing about other invoices);
the checkpoints with their signatures and time-stamp tokens; the gateway's public key;
and the stand-alone verifier, copied verbatim.
"""

from __future__ import annotations

import base64
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.archive import verifier
from gateway.archive.chain import timestamp
from gateway.archive.models import ArchiveCheckpoint, ArchiveEntry
from gateway.archive.service import Archive
from gateway.archive.verifier import FORMAT, RETENTION_EXPIRY, checkpoint_message
from gateway.store.models import utcnow

README = """PDP Gateway archive export ({start} to {end}, UTC)

Verify it offline with Python 3.11 or later, nothing to install:

    python3 verifier.py check {name} --public-key {public_key}

(compare that key with the one the gateway's operator publishes: it is the
checkpoint signing key).  Exit status 0 means every document, entry, link,
Merkle root and checkpoint signature verified; otherwise the first broken
entry is named.  To check one document alone against a checkpoint, ask the
operator for an inclusion proof (`gateway archive prove`) and run
`python3 verifier.py proof PROOF.json --document FILE --public-key KEY`.

Files: entries.jsonl (one entry per line: full fields within the period, the
hash only outside it), documents/<sha256> (the exact bytes), checkpoints.jsonl
(signed heads), manifest.json, timestamps/ (RFC 3161 tokens and the exact
messages they cover: openssl ts -verify -data checkpoint-N.msg -in
checkpoint-N.tst -token_in -CAfile <the TSA's CA>).
"""


@dataclass(frozen=True)
class ExportSummary:
    entries: int  # entries of the period, in full
    documents: int
    tree_size: int  # entries (full or hash-only) in the export
    checkpoints: int


def _covering_size(session: Session, last_seq: int, head_seq: int) -> int:
    """The size of the first checkpoint covering `last_seq`, else the head (the tail is then unanchored)."""
    size = session.scalar(select(func.min(ArchiveCheckpoint.tree_size)).where(ArchiveCheckpoint.tree_size >= last_seq))
    return size if size is not None else head_seq


def export(archive: Archive, session: Session, out: Path, *, start: datetime, end: datetime) -> ExportSummary:
    """Write the audit zip of the entries archived in [start, end) to `out`."""
    low, high = timestamp(start), timestamp(end)
    last_seq = session.scalar(select(func.max(ArchiveEntry.seq)).where(ArchiveEntry.time >= start, ArchiveEntry.time < end)) or 0
    tree_size = _covering_size(session, last_seq, archive.head(session)[0])
    lines: list[bytes] = []
    written: set[str] = set()
    full = 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for entry in archive.entries(session, upto=tree_size):
            if not (low <= entry["time"] < high or entry["kind"] == RETENTION_EXPIRY):
                lines.append(json.dumps({"seq": entry["seq"], "entry_hash": entry["entry_hash"]}).encode())
                continue
            full += 1
            lines.append(json.dumps(entry, sort_keys=True).encode())
            digest = entry["content_sha256"]
            data = archive.read(digest) if digest not in written else None
            if data is not None:
                zf.writestr(f"documents/{digest}", data)
                written.add(digest)
        zf.writestr("entries.jsonl", b"\n".join(lines) + b"\n")
        checkpoints = archive.checkpoints(session, upto=tree_size)
        zf.writestr("checkpoints.jsonl", "".join(json.dumps(c, sort_keys=True) + "\n" for c in checkpoints))
        for checkpoint in checkpoints:
            if checkpoint["tsa_token"]:
                zf.writestr(f"timestamps/checkpoint-{checkpoint['id']}.tst", base64.b64decode(checkpoint["tsa_token"]))
                zf.writestr(f"timestamps/checkpoint-{checkpoint['id']}.msg", checkpoint_message(checkpoint))
        manifest = {
            "format": FORMAT,
            "from": low,
            "to": high,
            "created": timestamp(utcnow()),
            "public_key": archive.public_key,
            "entries_in_period": full,
            "tree_size": tree_size,
            "documents": len(written),
            "checkpoints": len(checkpoints),
        }
        zf.writestr("manifest.json", json.dumps(manifest, indent=1))
        zf.writestr("verifier.py", Path(verifier.__file__).read_bytes())
        zf.writestr("README.txt", README.format(start=low, end=high, name=out.name, public_key=archive.public_key))
    return ExportSummary(entries=full, documents=len(written), tree_size=tree_size, checkpoints=len(checkpoints))

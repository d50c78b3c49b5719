"""Stand-alone verifier of a PDP Gateway archive export (Python 3.11+ standard library only).

This one file is copied verbatim into every audit export, so an auditor can check
the archive offline without trusting, or even installing, the gateway:

    python3 verifier.py check EXPORT.zip [--public-key HEX]
    python3 verifier.py proof PROOF.json [--document FILE] [--public-key HEX]

`check` recomputes, from the exported bytes alone: each document's SHA-256 and size,
each entry's hash (SHA-256 over the previous entry's hash and a canonical encoding of
every field), the links between entries, the RFC 6962 Merkle root at every checkpoint
and every checkpoint's Ed25519 signature.  `proof` checks one document against one
signed checkpoint with an RFC 6962 inclusion proof, without the rest of the archive.
Pass the gateway's public key (published by its operator) with --public-key: without
it the key named in the export is used, which proves consistency, not origin.
RFC 3161 time-stamp tokens are matched to their checkpoint here; check their TSA
signature with `openssl ts -verify` (see README.txt in the export).

Exit status: 0 intact, 1 a problem was found (the first broken entry is named), 2 unusable input.
The gateway itself imports the functions below, so there is one definition of every hash.

Format (enough to re-implement the check in any language):
- canonical JSON = keys sorted, separators "," and ":", no spaces, non-ASCII as \\uXXXX;
- entry fields: seq (1, 2, …), time ("YYYY-MM-DDTHH:MM:SS.ffffffZ", UTC), tenant_id, invoice_id,
  kind, content_sha256 (hex SHA-256 of the document bytes), size (bytes);
- entry_hash = hex SHA-256(prev_hash as 32 raw bytes ‖ canonical JSON of the entry fields);
  the first entry's prev_hash is 64 zeros;
- Merkle tree (RFC 6962): leaf = SHA-256(0x00 ‖ entry_hash raw), node = SHA-256(0x01 ‖ left ‖ right),
  over entries 1 … tree_size;
- checkpoint: Ed25519 signature (RFC 8032) of "pdp-gateway archive checkpoint v1\\n" followed by the
  canonical JSON of tree_size, head_hash, merkle_root, time and public_key (raw key, hex); its
  optional RFC 3161 token time-stamps the SHA-256 of those same bytes;
- a "retention-expiry" entry's document lists (JSON: before, retention_years, seqs) the entries whose
  bytes were deleted at the end of their retention; their hashes stay in the chain.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

FORMAT = "pdp-gateway-archive-export/1"
GENESIS_HASH = "0" * 64
RETENTION_EXPIRY = "retention-expiry"
ENTRY_FIELDS = ("seq", "time", "tenant_id", "invoice_id", "kind", "content_sha256", "size")
CHECKPOINT_FIELDS = ("tree_size", "head_hash", "merkle_root", "time", "public_key")
CHECKPOINT_CONTEXT = b"pdp-gateway archive checkpoint v1\n"
MAX_PROBLEMS = 1000


# ---------------------------------------------------------------------------- canonical encoding and hashes


def canonical_json(value: Mapping[str, Any]) -> bytes:
    """Sorted keys, no spaces, ASCII only: one byte string per value, easy to re-implement elsewhere."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def canonical_entry(entry: Mapping[str, Any]) -> bytes:
    """The canonical encoding of every field of an entry except its own hash and the previous one."""
    return canonical_json({name: entry[name] for name in ENTRY_FIELDS})


def entry_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    """SHA-256(previous entry hash (32 bytes) ‖ canonical encoding of the entry's fields), in hex."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_entry(entry)).hexdigest()


def checkpoint_message(checkpoint: Mapping[str, Any]) -> bytes:
    """The exact bytes a checkpoint signature (and its time-stamp) covers."""
    return CHECKPOINT_CONTEXT + canonical_json({name: checkpoint[name] for name in CHECKPOINT_FIELDS})


# ---------------------------------------------------------------------------- RFC 6962 Merkle tree


EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry_hash_hex: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(entry_hash_hex)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleAccumulator:
    """The RFC 6962 tree hash of a growing list of leaves in O(log n) memory (a stack of perfect subtrees)."""

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []

    def add(self, leaf: bytes) -> None:
        self.size += 1
        self._stack.append((1, leaf))
        while len(self._stack) > 1 and self._stack[-1][0] == self._stack[-2][0]:
            (width, right), (_, left) = self._stack.pop(), self._stack.pop()
            self._stack.append((2 * width, node_hash(left, right)))

    def root(self) -> bytes:
        """RFC 6962 MTH: the subtrees folded from the smallest (rightmost) to the largest."""
        if not self._stack:
            return EMPTY_ROOT
        root = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            root = node_hash(left, root)
        return root


def verify_inclusion(leaf: bytes, index: int, tree_size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: whether `leaf` is leaf number `index` (from 0) of the tree of `tree_size` leaves with `root`."""
    if not 0 <= index < tree_size:
        return False
    fn, sn, r = index, tree_size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


# ---------------------------------------------------------------------------- Ed25519 verification (RFC 8032 §6 reference code)

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _point_add(p: tuple[int, ...], q: tuple[int, ...]) -> tuple[int, ...]:
    a = (p[1] - p[0]) * (q[1] - q[0]) % _P
    b = (p[1] + p[0]) * (q[1] + q[0]) % _P
    c = 2 * p[3] * q[3] * _D % _P
    d = 2 * p[2] * q[2] % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _point_mul(scalar: int, point: tuple[int, ...]) -> tuple[int, ...]:
    result = (0, 1, 1, 0)
    while scalar > 0:
        if scalar & 1:
            result = _point_add(result, point)
        point = _point_add(point, point)
        scalar >>= 1
    return result


def _point_equal(p: tuple[int, ...], q: tuple[int, ...]) -> bool:
    return (p[0] * q[2] - q[0] * p[2]) % _P == 0 and (p[1] * q[2] - q[1] * p[2]) % _P == 0


def _recover_x(y: int, sign: int) -> int | None:
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P != 0:
        return None
    return _P - x if (x & 1) != sign else x


def _point_decompress(data: bytes) -> tuple[int, ...] | None:
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


_GY = 4 * pow(5, _P - 2, _P) % _P
_G = (_recover_x(_GY, 0), _GY, 1, _recover_x(_GY, 0) * _GY % _P)  # type: ignore[operator]


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether `signature` is a valid Ed25519 signature of `message` by the 32-byte `public_key`."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a, r = _point_decompress(public_key), _point_decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), "little") % _L
    return _point_equal(_point_mul(s, _G), _point_add(r, _point_mul(h, a)))


# ---------------------------------------------------------------------------- verification of a whole archive


@dataclass(frozen=True)
class Problem:
    """One thing that does not verify: the entry (or checkpoint) concerned, a stable reason code and a sentence."""

    seq: int | None
    reason: str
    message: str
    checkpoint: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "checkpoint": self.checkpoint, "reason": self.reason, "message": self.message}


@dataclass
class VerificationResult:
    """What a verification recomputed and the problems found, the first broken entry first."""

    entries: int = 0
    checkpoints: int = 0
    documents: int = 0
    expired: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    unanchored: int = 0  # entries after the last checkpoint, protected by the chain only
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "documents": self.documents,
            "expired": self.expired,
            "head": {"seq": self.head_seq, "entry_hash": self.head_hash},
            "unanchored": self.unanchored,
            "first_problem": self.first.to_dict() if self.first else None,
            "problems": [p.to_dict() for p in self.problems],
            "notes": self.notes,
        }

    def summary(self) -> str:
        if self.ok:
            return (
                f"OK: {self.entries} entries, {self.documents} documents, {self.checkpoints} checkpoints verified"
                + (f", {self.expired} expired by retention" if self.expired else "")
                + (f"; {self.unanchored} entries after the last checkpoint" if self.unanchored else "")
            )
        return f"BROKEN: {len(self.problems)} problem(s); first: {self.first.message if self.first else ''}"


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


class _Checker:
    """One pass over the entries in sequence order; checkpoints are checked when the tree reaches their size."""

    def __init__(self, checkpoints: list[Mapping[str, Any]], read: Callable[[str], bytes | None], trusted_keys: set[str] | None, verify_sig) -> None:
        self.checkpoints = sorted(((c.get("id") or n, c) for n, c in enumerate(checkpoints, 1)), key=lambda item: item[1]["tree_size"])
        self.read, self.trusted_keys, self.verify_sig = read, trusted_keys, verify_sig
        self.result = VerificationResult(checkpoints=len(checkpoints))
        self.tree = MerkleAccumulator()
        self.prev_hash, self.next_seq, self.next_checkpoint = GENESIS_HASH, 1, 0
        self.contents: dict[str, int | None] = {}  # digest → size of the intact bytes, None when absent
        self.absent: list[tuple[int, str]] = []  # (seq, digest) whose bytes are absent: fine only if expired
        self.expired: set[int] = set()
        self.times: dict[int, str] = {}  # seq → time, for the retention check of expiry events
        self.reached()  # a checkpoint of the empty archive (older schedulers signed one at start) is checked before any entry

    def problem(self, seq: int | None, reason: str, message: str, checkpoint: int | None = None) -> None:
        if len(self.result.problems) < MAX_PROBLEMS:
            self.result.problems.append(Problem(seq, reason, message, checkpoint))

    def entry(self, entry: Mapping[str, Any]) -> None:
        seq = entry.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(entry.get("entry_hash"), str):
            self.problem(None, "malformed-entry", f"an entry after entry {self.next_seq - 1} has no usable sequence number or hash")
            return
        if seq > self.next_seq:
            gap = f"entry {self.next_seq}" if seq == self.next_seq + 1 else f"entries {self.next_seq} to {seq - 1}"
            self.problem(self.next_seq, "missing-entry", f"{gap} missing: the sequence jumps from {self.next_seq - 1} to {seq}")
        elif seq < self.next_seq:
            self.problem(seq, "out-of-order", f"entry {seq} appears again, or out of order, after entry {self.next_seq - 1}")
        if "kind" in entry:
            self.full_entry(seq, entry)
        self.prev_hash, self.next_seq = entry["entry_hash"], seq + 1
        self.result.entries += 1
        self.result.head_seq, self.result.head_hash = seq, entry["entry_hash"]
        try:
            self.tree.add(leaf_hash(entry["entry_hash"]))
        except ValueError:
            self.problem(seq, "malformed-entry", f"entry {seq}: its hash is not hexadecimal")
        self.reached()

    def reached(self) -> None:
        """Check the checkpoints whose size the tree has just reached."""
        while self.next_checkpoint < len(self.checkpoints) and self.checkpoints[self.next_checkpoint][1]["tree_size"] == self.tree.size:
            self.checkpoint(*self.checkpoints[self.next_checkpoint])
            self.next_checkpoint += 1

    def full_entry(self, seq: int, entry: Mapping[str, Any]) -> None:
        if entry.get("prev_hash") != self.prev_hash:
            self.problem(
                seq,
                "broken-link",
                f"entry {seq}: its previous hash does not match the hash of entry {seq - 1} (entries deleted, swapped or rewritten)",
            )
        try:
            recomputed = entry_hash(entry["prev_hash"], entry)
        except (KeyError, ValueError, TypeError) as exc:
            self.problem(seq, "malformed-entry", f"entry {seq}: cannot be encoded ({exc.__class__.__name__}: {exc})")
            return
        if recomputed != entry["entry_hash"]:
            self.problem(seq, "entry-hash-mismatch", f"entry {seq}: a field was changed (its recomputed hash differs from the recorded one)")
        self.times[seq] = entry["time"]
        self.content(seq, entry)

    def content(self, seq: int, entry: Mapping[str, Any]) -> None:
        digest = entry["content_sha256"]
        if digest not in self.contents:
            data = self.read(digest)
            if data is not None and hashlib.sha256(data).hexdigest() != digest:
                self.problem(seq, "content-mismatch", f"entry {seq}: the stored document {digest} was altered (its SHA-256 differs)")
                self.contents[digest] = -1
                return
            self.contents[digest] = None if data is None else len(data)
            self.result.documents += data is not None
        size = self.contents[digest]
        if size is None:
            self.absent.append((seq, digest))
        elif size >= 0 and size != entry["size"]:
            self.problem(seq, "size-mismatch", f"entry {seq}: the document {digest} has {size} bytes, the entry records {entry['size']}")
        if entry["kind"] == RETENTION_EXPIRY and size is not None and size >= 0:
            self.expiry(seq, entry, self.read(digest) or b"")

    def expiry(self, seq: int, entry: Mapping[str, Any], data: bytes) -> None:
        """A retention-expiry event lists entries whose bytes may then be gone; each must have been older than the retention."""
        try:
            event = json.loads(data)
            before = datetime.fromisoformat(event["before"].replace("Z", "+00:00"))
            listed = [int(s) for s in event["seqs"]]
            retention_ok = _add_years(before, int(event["retention_years"])) <= datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
        except (ValueError, KeyError, TypeError, AttributeError):
            self.problem(seq, "malformed-expiry", f"entry {seq}: the retention-expiry event cannot be read")
            return
        if not retention_ok:
            self.problem(seq, "early-expiry", f"entry {seq}: the retention-expiry event expires documents before the end of their retention")
            return
        for target in listed:
            time = self.times.get(target)
            if target >= seq or (time is not None and datetime.fromisoformat(time.replace("Z", "+00:00")) >= before):
                self.problem(seq, "early-expiry", f"entry {seq}: the retention-expiry event lists entry {target}, which is not past its retention")
                return
        self.expired.update(listed)

    def checkpoint(self, number: int, checkpoint: Mapping[str, Any]) -> None:
        size = checkpoint["tree_size"]
        try:
            signed = self.verify_sig(bytes.fromhex(checkpoint["public_key"]), checkpoint_message(checkpoint), bytes.fromhex(checkpoint["signature"]))
        except (ValueError, KeyError, TypeError):
            signed = False
        if not signed:
            self.problem(size, "checkpoint-signature-invalid", f"checkpoint {number} (entries 1 to {size}): its signature does not verify", number)
        elif self.trusted_keys is not None and checkpoint["public_key"] not in self.trusted_keys:
            self.problem(
                size, "checkpoint-unknown-key", f"checkpoint {number}: signed by key {checkpoint['public_key'][:16]}…, not a trusted key", number
            )
        token = checkpoint.get("tsa_token")
        if token and hashlib.sha256(checkpoint_message(checkpoint)).digest() not in base64.b64decode(token):
            self.problem(size, "timestamp-mismatch", f"checkpoint {number}: its time-stamp token is for other data", number)
        if checkpoint["head_hash"] != self.prev_hash or checkpoint["merkle_root"] != self.tree.root().hex():
            self.problem(
                size,
                "checkpoint-mismatch",
                f"checkpoint {number}: the entries 1 to {size} no longer hash to its signed head and Merkle root (entries rewritten)",
                number,
            )

    def finish(self) -> VerificationResult:
        for number, checkpoint in self.checkpoints[self.next_checkpoint :]:
            size = checkpoint["tree_size"]
            self.problem(
                self.tree.size + 1,
                "truncated",
                f"entries {self.tree.size + 1} to {size} missing: checkpoint {number} covers {size} entries, the archive has {self.tree.size}",
                number,
            )
        for seq, digest in self.absent:
            if seq not in self.expired:
                self.problem(seq, "content-missing", f"entry {seq}: the document {digest} is missing (and was not expired by retention)")
        self.result.expired = len(self.expired)
        covered = max((c["tree_size"] for _, c in self.checkpoints), default=0)
        self.result.unanchored = max(0, self.tree.size - covered)
        self.result.problems.sort(key=lambda p: (p.seq if p.seq is not None else sys.maxsize, p.checkpoint or 0))
        return self.result


def check_archive(
    entries: Iterable[Mapping[str, Any]],
    checkpoints: list[Mapping[str, Any]],
    read: Callable[[str], bytes | None],
    *,
    trusted_keys: set[str] | None = None,
    verify_signature: Callable[[bytes, bytes, bytes], bool] = ed25519_verify,
) -> VerificationResult:
    """Recompute everything from entries (in sequence order), checkpoints and document bytes (`read(sha256)`, None when absent).

    An entry without "kind" is a hash-only placeholder (outside an export's range): it
    counts in the Merkle tree and the links, its fields and bytes are not checked.
    """
    checker = _Checker(checkpoints, read, trusted_keys, verify_signature)
    for entry in entries:
        checker.entry(entry)
    return checker.finish()


# ---------------------------------------------------------------------------- inclusion proofs


def check_proof(proof: Mapping[str, Any], document: bytes | None = None, trusted_keys: set[str] | None = None) -> list[str]:
    """Problems (empty: valid) of an inclusion proof: signed checkpoint, entry hash, document bytes and Merkle audit path."""
    problems = []
    entry, checkpoint = proof["entry"], proof["checkpoint"]
    try:
        if not ed25519_verify(bytes.fromhex(checkpoint["public_key"]), checkpoint_message(checkpoint), bytes.fromhex(checkpoint["signature"])):
            problems.append("the checkpoint signature does not verify")
        if trusted_keys is not None and checkpoint["public_key"] not in trusted_keys:
            problems.append("the checkpoint is signed by a key that is not trusted")
        if entry_hash(entry["prev_hash"], entry) != entry["entry_hash"]:
            problems.append(f"entry {entry['seq']}: a field was changed (its recomputed hash differs from the recorded one)")
        if document is not None and (hashlib.sha256(document).hexdigest() != entry["content_sha256"] or len(document) != entry["size"]):
            problems.append(f"the document does not match entry {entry['seq']} (SHA-256 or size differs)")
        path = [bytes.fromhex(p) for p in proof["path"]]
        if not verify_inclusion(
            leaf_hash(entry["entry_hash"]), entry["seq"] - 1, checkpoint["tree_size"], path, bytes.fromhex(checkpoint["merkle_root"])
        ):
            problems.append(
                f"entry {entry['seq']} is not in the tree of checkpoint (size {checkpoint['tree_size']}): the audit path does not lead to its root"
            )
    except (KeyError, ValueError, TypeError) as exc:
        problems.append(f"the proof is malformed ({exc.__class__.__name__}: {exc})")
    return problems


# ---------------------------------------------------------------------------- reading an export (zip file or unpacked folder)


class Export:
    """The files of an export, from the zip file or from the folder it was unpacked into."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip = zipfile.ZipFile(path) if path.is_file() else None

    def read(self, name: str) -> bytes | None:
        try:
            if self.zip is not None:
                return self.zip.read(name)
            return (self.path / name).read_bytes()
        except (KeyError, FileNotFoundError):
            return None

    def lines(self, name: str) -> Iterator[dict[str, Any]]:
        for line in (self.read(name) or b"").splitlines():
            if line.strip():
                yield json.loads(line)

    def document(self, digest: str) -> bytes | None:
        return self.read(f"documents/{digest}") if len(digest) == 64 and digest.isalnum() else None


def check_export(path: Path, public_key: str | None = None) -> VerificationResult:
    """Verify an export; `public_key` (hex) pins the gateway's key, otherwise the export's own is used."""
    export = Export(path)
    manifest = json.loads(export.read("manifest.json") or b"null")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{path} is not a gateway archive export ({FORMAT})")
    checkpoints = list(export.lines("checkpoints.jsonl"))
    key = public_key or manifest.get("public_key")
    result = check_archive(export.lines("entries.jsonl"), checkpoints, export.document, trusted_keys={key} if key else None)
    if not public_key:
        result.notes.append(f"public key taken from the export ({key}): compare it with the key the gateway's operator publishes")
    stamped = sum(1 for c in checkpoints if c.get("tsa_token"))
    if stamped:
        result.notes.append(f"{stamped} RFC 3161 time-stamp token(s) match their checkpoints; check the TSA signatures with openssl ts -verify")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="verifier.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="verify an audit export (zip file or unpacked folder)")
    check.add_argument("export", type=Path)
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    proof = commands.add_parser("proof", help="verify an inclusion proof against its signed checkpoint")
    proof.add_argument("proof", type=Path)
    proof.add_argument("--document", type=Path, help="the document the proof is about")
    for command in (check, proof):
        command.add_argument("--public-key", help="the gateway's Ed25519 public key (64 hex digits), as its operator publishes it")
    args = parser.parse_args(argv)
    try:
        if args.command == "proof":
            keys = {args.public_key} if args.public_key else None
            document = args.document.read_bytes() if args.document else None
            problems = check_proof(json.loads(args.proof.read_bytes()), document, keys)
            print("\n".join(f"BROKEN: {p}" for p in problems) or "OK: the entry is included in the signed checkpoint")
            return 1 if problems else 0
        result = check_export(args.export, args.public_key)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
        print(f"verifier: cannot read the input: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_dict(), indent=1))
    else:
        print(result.summary())
        for problem in result.problems[1:]:
            print(f"  also: {problem.message}")
        for note in result.notes:
            print(f"note: {note}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Content-addressed document folder: every byte stored once, named by its SHA-256.

`<root>/ab/cdef….bin` holds the exact bytes whose SHA-256 is `abcdef…`.  Writes go
to a temporary file renamed into place, so a reader never sees a partial file and
two writers of the same content do not conflict.  A file written for a transaction
that later rolls back is only an unreferenced copy, never a wrong one (`gateway blobs
sweep` removes such orphans once older than a grace period; a write that reuses a
stored file renews its mtime, so the grace period also covers it).  A write the
file system refuses (full, read-only, …) is a `StorageError`: callers write the bytes
before they commit the rows that name them, so the refusal rolls the rows back.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from pathlib import Path

TEMP_PREFIX = ".tmp-"  # an unfinished write, beside its target (left only by a crash)


class BlobCorrupted(RuntimeError):
    """A stored file whose bytes no longer match its name: a storage fault, not an input error."""


class StorageError(OSError):
    """The document folder refused a write: `full` (ENOSPC, EDQUOT, EFBIG), else unavailable (EROFS, EACCES, EIO …)."""

    @property
    def full(self) -> bool:
        return self.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    """Store and fetch exact bytes by SHA-256 under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, digest: str) -> Path:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a SHA-256 hex digest: {digest!r}")
        return self.root / digest[:2] / f"{digest[2:]}.bin"

    def put(self, data: bytes) -> str:
        """Store `data` (if not already there) and return its SHA-256."""
        digest = sha256_hex(data)
        target = self.path(digest)
        try:
            if self._reuse(target, len(data)):
                return digest
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StorageError(exc.errno, f"document storage {self.root} cannot be written: {exc.strerror}") from exc
        return digest

    @staticmethod
    def _reuse(target: Path, size: int) -> bool:
        """True when `target` already holds `size` bytes.  Its mtime is renewed first: an old orphan taken up again by
        a transaction in flight is then young again, and the sweep (which deletes only old files) leaves it."""
        try:
            os.utime(target)
            return target.stat().st_size == size
        except FileNotFoundError:  # not stored yet, or swept just now: write it
            return False

    def get(self, digest: str) -> bytes:
        """The exact bytes stored under `digest`, checked against it."""
        data = self.path(digest).read_bytes()
        if sha256_hex(data) != digest:
            raise BlobCorrupted(f"stored document {digest} does not match its SHA-256")
        return data

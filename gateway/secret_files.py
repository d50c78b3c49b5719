"""Secrets the gateway makes for itself: random keys kept in files of the data folder, created at first use."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path


def load_or_create_secret(path: Path) -> bytes:
    """The secret in `path`, created (mode 0600, 32 random bytes as hex) on first use; every process shares it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret-")
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
            with contextlib.suppress(FileExistsError):  # the first writer wins; os.link never overwrites
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    return bytes.fromhex(path.read_text().strip())

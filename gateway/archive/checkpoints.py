"""The gateway's checkpoint key (Ed25519, a PEM file in the data folder) and checkpoint signing.

The key is created on first use, written once (never replaced: a second process
racing to create it reads the winner's).  Its public half is exported with every
checkpoint; the operator publishes it so auditors can pin it.  The PEM is not
encrypted: protect the data folder (file mode 0600).
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat, load_pem_private_key

from gateway.archive.chain import timestamp
from gateway.archive.models import ArchiveCheckpoint
from gateway.archive.verifier import checkpoint_message


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 key in `path`, created (mode 0600) when the file does not exist yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):  # os.link is atomic and never overwrites: the first writer wins
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def public_key_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def sign(key: Ed25519PrivateKey, fields: dict[str, Any]) -> str:
    """The hex Ed25519 signature of the checkpoint `fields` (see verifier.checkpoint_message)."""
    return key.sign(checkpoint_message(fields)).hex()


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Ed25519 verification with `cryptography` (fast); the stand-alone verifier carries a pure-Python one."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def checkpoint_dict(checkpoint: ArchiveCheckpoint) -> dict[str, Any]:
    """A checkpoint as JSON values: the signed fields, the signature and the time-stamp token (base64)."""
    return {
        "id": checkpoint.id,
        "tree_size": checkpoint.tree_size,
        "head_hash": checkpoint.head_hash,
        "merkle_root": checkpoint.merkle_root,
        "time": timestamp(checkpoint.time),
        "public_key": checkpoint.public_key,
        "signature": checkpoint.signature,
        "tsa_token": base64.b64encode(checkpoint.tsa_token).decode("ascii") if checkpoint.tsa_token else None,
    }

"""RFC 6962 Merkle tree over the entry hashes: root and inclusion (audit) paths.

Leaf and node hashes, the incremental root and the path check live in `verifier.py`
(what an auditor runs); this module adds what only the prover needs.
"""

from __future__ import annotations

from gateway.archive.verifier import MerkleAccumulator, leaf_hash


def merkle_root(leaves: list[bytes]) -> bytes:
    """MTH(leaves) of RFC 6962 (SHA-256 of the empty string for no leaf)."""
    tree = MerkleAccumulator()
    for leaf in leaves:
        tree.add(leaf)
    return tree.root()


def _split(size: int) -> int:
    """The largest power of two strictly smaller than `size` (RFC 6962 §2.1)."""
    return 1 << ((size - 1).bit_length() - 1)


def inclusion_path(leaves: list[bytes], index: int) -> list[bytes]:
    """PATH(index, leaves) of RFC 6962 §2.1.1: the sibling subtree roots from the leaf up to the root."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} is not in a tree of {len(leaves)} leaves")
    path: list[bytes] = []
    while len(leaves) > 1:
        k = _split(len(leaves))
        if index < k:
            path.append(merkle_root(leaves[k:]))
            leaves = leaves[:k]
        else:
            path.append(merkle_root(leaves[:k]))
            leaves, index = leaves[k:], index - k
    return path[::-1]


def leaves_of(entry_hashes: list[str]) -> list[bytes]:
    return [leaf_hash(h) for h in entry_hashes]

"""The hashes, the RFC 6962 Merkle tree and the pure-Python Ed25519 of the stand-alone verifier."""

from __future__ import annotations

import ast
import hashlib
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.archive import verifier
from gateway.archive.checkpoints import public_key_hex
from gateway.archive.merkle import inclusion_path, merkle_root
from gateway.archive.verifier import EMPTY_ROOT, canonical_entry, ed25519_verify, entry_hash, node_hash, verify_inclusion

# Certificate Transparency's reference test leaves (RFC 6962 implementations share them) and known roots.
CT_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
CT_ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}


def _ct_leaf(hex_data: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(hex_data)).digest()


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH, literally (recursive), as the reference for the incremental one."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def test_merkle_roots_match_the_certificate_transparency_vectors():
    leaves = [_ct_leaf(data) for data in CT_LEAVES]
    assert merkle_root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    for size, root in CT_ROOTS.items():
        assert merkle_root(leaves[:size]).hex() == root


def test_incremental_root_and_inclusion_paths_for_every_leaf_of_many_trees():
    leaves = [hashlib.sha256(b"\x00" + bytes([i])).digest() for i in range(70)]
    for size in range(1, 70):
        tree = leaves[:size]
        root = merkle_root(tree)
        assert root == _mth(tree)
        for index in range(size):
            path = inclusion_path(tree, index)
            assert verify_inclusion(tree[index], index, size, path, root)
            assert not verify_inclusion(bytes(32), index, size, path, root)
            assert not verify_inclusion(tree[index], index, size, path, merkle_root(leaves[: size + 1]))
            if path:
                assert not verify_inclusion(tree[index], index, size, path[:-1], root)


def test_entry_hash_covers_the_previous_hash_and_every_field():
    time = "2026-01-01T00:00:00.000000Z"
    entry = {"seq": 1, "time": time, "tenant_id": 1, "invoice_id": "x", "kind": "input", "content_sha256": "a" * 64, "size": 3}
    assert canonical_entry(entry) == (
        b'{"content_sha256":"' + b"a" * 64 + b'","invoice_id":"x","kind":"input","seq":1,"size":3,"tenant_id":1,"time":"2026-01-01T00:00:00.000000Z"}'
    )
    base = entry_hash("0" * 64, entry)
    assert base == hashlib.sha256(bytes(32) + canonical_entry(entry)).hexdigest()
    assert entry_hash("1" * 64, entry) != base
    for name, other in (("seq", 2), ("time", "2026-01-01T00:00:00.000001Z"), ("tenant_id", None), ("invoice_id", "y"), ("kind", "ubl"), ("size", 4)):
        assert entry_hash("0" * 64, {**entry, name: other}) != base, name


def test_pure_python_ed25519_follows_rfc_8032_and_agrees_with_cryptography():
    # RFC 8032 §7.1, test 1 (empty message).
    public = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    signature = bytes.fromhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    assert ed25519_verify(public, b"", signature)
    assert not ed25519_verify(public, b"x", signature)
    key = Ed25519PrivateKey.generate()
    message = b"pdp-gateway checkpoint"
    good = key.sign(message)
    assert ed25519_verify(bytes.fromhex(public_key_hex(key)), message, good)
    for i in (0, 31, 32, 63):
        bad = bytearray(good)
        bad[i] ^= 0x01
        assert not ed25519_verify(bytes.fromhex(public_key_hex(key)), message, bytes(bad))
    assert not ed25519_verify(b"\x00" * 31, message, good)


def test_the_stand_alone_verifier_imports_only_the_standard_library():
    tree = ast.parse(Path(verifier.__file__).read_text())
    modules = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert modules - {"__future__"} <= sys.stdlib_module_names, modules - sys.stdlib_module_names


@pytest.mark.parametrize("size", [0, 1, 2, 3, 1000])
def test_accumulator_of_any_size(size):
    leaves = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(size)]
    assert merkle_root(leaves) == _mth(leaves)

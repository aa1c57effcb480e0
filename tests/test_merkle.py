"""The ledger's Merkle tree (RFC 6962): heads, and the proofs an auditor's tool checks."""

from __future__ import annotations

import hashlib

import pytest

from screening.core.merkle import (
    EMPTY_ROOT,
    Inconsistent,
    Tree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1's recursive definition, written out plainly as the reference."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


HASHES = [hashlib.sha256(f"entry {i}".encode()).digest() for i in range(1, 70)]


def test_rfc6962_heads_of_known_data() -> None:
    # The test data of RFC 6962's reference implementation (certificate-transparency
    # merkle_tree_test): eight leaves and the heads of their prefixes.
    data = [
        b"",
        bytes.fromhex("00"),
        bytes.fromhex("10"),
        bytes.fromhex("2021"),
        bytes.fromhex("3031"),
        bytes.fromhex("40414243"),
        bytes.fromhex("5051525354555657"),
        bytes.fromhex("606162636465666768696a6b6c6d6e6f"),
    ]
    heads = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
    # Our leaves are entry hashes; the RFC's test leaves are arbitrary bytes, and
    # leaf_hash/node_hash are the same functions either way.
    for size in range(1, 9):
        tree = Tree()
        for item in data[:size]:
            tree.push(leaf_hash(item))
        assert tree.root().hex() == heads[size - 1]


def test_incremental_head_equals_the_recursive_definition() -> None:
    tree = Tree()
    assert tree.root() == EMPTY_ROOT
    for size, entry_hash in enumerate(HASHES, start=1):
        tree.append(entry_hash)
        assert tree.size == size
        assert tree.root() == _mth(HASHES[:size]) == root_of(HASHES[:size])


def test_a_tree_resumed_from_its_compact_range_goes_on_alike() -> None:
    for size in range(len(HASHES)):
        tree = Tree()
        for entry_hash in HASHES[:size]:
            tree.append(entry_hash)
        resumed = Tree.resume(size, tree.peaks)
        for entry_hash in HASHES[size:]:
            resumed.append(entry_hash)
        assert resumed.root() == root_of(HASHES)
    with pytest.raises(ValueError, match="not the compact range of 5 leaves"):
        Tree.resume(5, [HASHES[0]])


def test_every_consistency_proof_verifies_and_a_changed_entry_breaks_it() -> None:
    for n in range(1, 34):
        new_root = root_of(HASHES[:n])
        for m in range(0, n + 1):
            old_root = root_of(HASHES[:m])
            proof = consistency_proof(HASHES, m, n)
            verify_consistency(m, n, old_root, new_root, proof)
            if m == 0:
                continue
            # A rewrite of any entry within the first m makes the older head a lie.
            forged = list(HASHES[:n])
            forged[m - 1] = hashlib.sha256(b"forged").digest()
            forged_proof = consistency_proof(forged, m, n)
            with pytest.raises(Inconsistent):
                verify_consistency(m, n, old_root, root_of(forged), forged_proof)


def test_a_proof_with_a_changed_hash_or_wrong_sizes_fails() -> None:
    proof = consistency_proof(HASHES, 7, 20)
    old, new = root_of(HASHES[:7]), root_of(HASHES[:20])
    verify_consistency(7, 20, old, new, proof)
    for index in range(len(proof)):
        bad = list(proof)
        bad[index] = node_hash(bad[index], bad[index])
        with pytest.raises(Inconsistent):
            verify_consistency(7, 20, old, new, bad)
    # The sizes come from the signed heads; a proof for other sizes does not fit them.
    with pytest.raises(Inconsistent):
        verify_consistency(8, 20, old, new, proof)
    with pytest.raises(Inconsistent):
        verify_consistency(7, 20, old, new, proof[:-1])
    with pytest.raises(Inconsistent):
        verify_consistency(7, 20, old, new, [*proof, new])
    with pytest.raises(Inconsistent):
        verify_consistency(20, 7, new, old, [])


def test_every_inclusion_proof_verifies() -> None:
    for n in range(1, 34):
        root = root_of(HASHES[:n])
        for index in range(n):
            proof = inclusion_proof(HASHES, index, n)
            verify_inclusion(index, n, HASHES[index], root, proof)
            with pytest.raises(Inconsistent):
                verify_inclusion(index, n, HASHES[index + 1], root, proof)

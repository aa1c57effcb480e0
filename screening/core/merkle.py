"""The ledger as an RFC 6962 Merkle tree: tree heads, consistency and inclusion proofs.

A hash chain shows that no entry was changed in place, but not that the whole chain was
not rewritten (every hash recomputed) or cut short. A tree head kept outside the
database, by a witness, closes that gap: any later ledger must contain the witnessed one
as its prefix, and a consistency proof shows it with a logarithmic number of hashes
(RFC 9162 §2.1.4, the same algorithm as RFC 6962 §2.1.2).

The leaves are the entries' hashes, in order: leaf ``i`` (from 0) is the 32 raw bytes
of the hash of entry ``i + 1``. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


class Inconsistent(Exception):
    """A proof does not show what it should; the message says what."""


def leaf_hash(entry_hash: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry_hash).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class Tree:
    """The tree's head kept up as leaves are appended, in O(log n) memory: the hashes of
    the perfect subtrees that make up the leaves so far (a compact range), largest first.

    ``root()`` at any size costs O(log n), so `audit verify` reads the head at every
    witnessed size in the one walk it makes over the ledger.
    """

    def __init__(self) -> None:
        self.size = 0
        self._peaks: list[bytes] = []

    @classmethod
    def resume(cls, size: int, peaks: Sequence[bytes]) -> Tree:
        """The tree of ``size`` leaves from its compact range (``peaks``), so that later
        leaves can be appended without reading the first ``size`` again."""
        if size < 0 or len(peaks) != size.bit_count() or any(len(p) != 32 for p in peaks):
            raise ValueError(f"{len(peaks)} hashes are not the compact range of {size} leaves")
        tree = cls()
        tree.size = size
        tree._peaks = list(peaks)
        return tree

    @property
    def peaks(self) -> list[bytes]:
        """The compact range: one hash per 1 bit of the size, the largest subtree first."""
        return list(self._peaks)

    def append(self, entry_hash: bytes) -> None:
        self.push(leaf_hash(entry_hash))

    def push(self, node: bytes) -> None:
        """Append a leaf already hashed."""
        size = self.size
        # Each trailing 1 bit of the old size is a perfect subtree the new leaf completes.
        while size & 1:
            node = node_hash(self._peaks.pop(), node)
            size >>= 1
        self._peaks.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self._peaks:
            return EMPTY_ROOT
        node = self._peaks[-1]
        for peak in reversed(self._peaks[:-1]):
            node = node_hash(peak, node)
        return node


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _subtree(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH(D[start:end]) over leaf hashes, in O(end - start). RFC 6962 splits at the
    largest power of two, which is what folding the perfect subtrees from the right does."""
    tree = Tree()
    for index in range(start, end):
        tree.push(leaves[index])
    return tree.root()


def root_of(entry_hashes: Sequence[bytes]) -> bytes:
    tree = Tree()
    for entry_hash in entry_hashes:
        tree.append(entry_hash)
    return tree.root()


def consistency_proof(entry_hashes: Sequence[bytes], m: int, n: int) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 §2.1.2: the hashes that show the tree of the first
    ``m`` entries is a prefix of the tree of the first ``n``."""
    if not 0 <= m <= n <= len(entry_hashes):
        raise ValueError(f"no consistency proof from {m} to {n} over {len(entry_hashes)} leaves")
    if m == 0 or m == n:
        return []
    leaves = [leaf_hash(h) for h in entry_hashes[:n]]
    proof: list[bytes] = []

    def subproof(m: int, start: int, end: int, complete: bool) -> None:
        size = end - start
        if m == size:
            if not complete:
                proof.append(_subtree(leaves, start, end))
            return
        k = _split(size)
        if m <= k:
            subproof(m, start, start + k, complete)
            proof.append(_subtree(leaves, start + k, end))
        else:
            subproof(m - k, start + k, end, False)
            proof.append(_subtree(leaves, start, start + k))

    subproof(m, 0, n, True)
    return proof


def verify_consistency(
    m: int, n: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2. Raises ``Inconsistent`` unless ``proof`` shows that the tree
    of size ``m`` with head ``old_root`` is a prefix of the tree of size ``n`` with head
    ``new_root``."""
    if not 0 <= m <= n:
        raise Inconsistent(f"a tree of {m} entries cannot be a prefix of one of {n}")
    if m == 0:
        if proof:
            raise Inconsistent("a proof from the empty tree must be empty")
        return
    if m == n:
        if proof:
            raise Inconsistent("a proof between trees of the same size must be empty")
        if old_root != new_root:
            raise Inconsistent(f"the two heads of {m} entries differ")
        return
    path = list(proof)
    if m & (m - 1) == 0:  # an exact power of two: the old root is itself a node
        path.insert(0, old_root)
    if not path:
        raise Inconsistent("the proof is empty")
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for node in path[1:]:
        if sn == 0:
            raise Inconsistent("the proof is longer than the trees allow")
        if fn & 1 or fn == sn:
            fr = node_hash(node, fr)
            sr = node_hash(node, sr)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            sr = node_hash(sr, node)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Inconsistent("the proof is shorter than the trees need")
    if fr != old_root:
        raise Inconsistent(f"the first {m} entries do not hash to the older head")
    if sr != new_root:
        raise Inconsistent(f"the {n} entries do not hash to the newer head")


def inclusion_proof(entry_hashes: Sequence[bytes], index: int, n: int) -> list[bytes]:
    """PATH(index, D[n]) of RFC 6962 §2.1.1: the hashes that show entry ``index + 1``
    is in the tree of the first ``n`` entries."""
    if not 0 <= index < n <= len(entry_hashes):
        raise ValueError(f"no inclusion proof of leaf {index} in a tree of {n}")
    leaves = [leaf_hash(h) for h in entry_hashes[:n]]
    proof: list[bytes] = []

    def path(index: int, start: int, end: int) -> None:
        size = end - start
        if size == 1:
            return
        k = _split(size)
        if index < k:
            path(index, start, start + k)
            proof.append(_subtree(leaves, start + k, end))
        else:
            path(index - k, start + k, end)
            proof.append(_subtree(leaves, start, start + k))

    path(index, 0, n)
    return proof


def verify_inclusion(
    index: int, n: int, entry_hash: bytes, root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.3.2. Raises ``Inconsistent`` unless the proof holds."""
    if not 0 <= index < n:
        raise Inconsistent(f"leaf {index} is outside a tree of {n}")
    fn, sn = index, n - 1
    node = leaf_hash(entry_hash)
    for sibling in proof:
        if sn == 0:
            raise Inconsistent("the proof is longer than the tree allows")
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            node = node_hash(node, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Inconsistent("the proof is shorter than the tree needs")
    if node != root:
        raise Inconsistent(f"entry {index + 1} is not in the tree with that head")

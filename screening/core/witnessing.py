"""The ledger against the checkpoints and anchors its witnesses keep (issue 14).

A hash chain shows that no entry changed in place; it cannot show that the whole chain
was not recomputed, nor that its tail was cut off. A checkpoint kept outside the
database can: the ledger must still hash, at the checkpoint's size, to the tree head
that was witnessed then. `audit verify` feeds every entry's hash to a ``Follower``
during the one walk it makes over the ledger, which takes the tree head at each
witnessed size, the commitments, and what the consistency proof from the newest
checkpoint to the head needs; ``check`` then names the first checkpoint that no longer
holds, and the entries that changed since the last one that does.

Pure: the caller reads the witness folders (services/witness/read.py) and the ledger.
"""

from __future__ import annotations

import base64
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from screening.core.checkpoint import Anchor, Checkpoint
from screening.core.ledger import rfc3339
from screening.core.merkle import EMPTY_ROOT, Inconsistent, Tree, leaf_hash, verify_consistency
from screening.core.replay import Broken


@dataclass(frozen=True)
class Seen:
    """A witnessed note whose signature verified: the file it was read from, and what it says."""

    where: str
    checkpoint: Checkpoint


@dataclass(frozen=True)
class SeenAnchor:
    where: str
    anchor: Anchor


@dataclass
class Follower:
    """What the walk computes for the witnesses, in O(log n) memory plus the entries
    after the newest checkpoint (a few, when checkpoints are kept as they should be)."""

    sizes: set[int]
    tree: Tree = field(default_factory=Tree)
    # size: (root, hash of the last entry); the empty tree's head is SHA-256 of nothing.
    roots: dict[int, tuple[bytes, str]] = field(default_factory=lambda: {0: (EMPTY_ROOT, "0" * 64)})
    commitments: dict[tuple[str, str], Anchor] = field(default_factory=dict)
    _peaks: list[bytes] = field(default_factory=list)
    _tail: bytearray = field(default_factory=bytearray)
    # (len(sizes), max(sizes)): `take` asks for the newest size at every entry, and a
    # clinic has a checkpoint a day (max() over them each time was 40% of a 10^6 walk).
    # ``sizes`` only grows (resume.py adds the later ones), so its length says when.
    _newest: tuple[int, int] = field(default=(-1, 0), repr=False, compare=False)

    @property
    def newest(self) -> int:
        known, value = self._newest
        if known != len(self.sizes):
            value = max(self.sizes, default=0)
            self._newest = (len(self.sizes), value)
        return value

    def take(self, entry_hash: str, kind: str, site: str, body: Any) -> None:
        raw = bytes.fromhex(entry_hash)
        self.tree.append(raw)
        size = self.tree.size
        if size in self.sizes:
            self.roots[size] = (self.tree.root(), entry_hash)
            if size == self.newest:
                self._peaks = self.tree.peaks
        elif 0 < self.newest < size:
            self._tail += raw
        if kind == "commitment" and isinstance(body, dict):
            # A malformed commitment is left out here: the replay names it.
            with suppress(KeyError):
                self.commitments[(site, body["period"])] = Anchor(
                    site, body["period"], body["length"], body["anchor"], size
                )

    def proof(self) -> list[bytes]:
        """PROOF(m, D[n]) of RFC 6962 §2.1.2 from the newest witnessed size m to the head:
        the nodes left of m are the tree's perfect subtrees at m (kept as the walk passed
        it), those right of it are hashed from the entries after m."""
        m, n = self.newest, self.tree.size
        if m == 0 or m >= n:
            return []
        # One perfect subtree for each bit set in m, the largest first.
        widths = [1 << bit for bit in reversed(range(m.bit_length())) if m >> bit & 1]
        peaks, start = {}, 0
        for width, peak in zip(widths, self._peaks, strict=True):
            peaks[(start, start + width)] = peak
            start += width

        def subtree(begin: int, end: int) -> bytes:
            if end <= m:
                return peaks[(begin, end)]
            part = Tree()
            for index in range(begin - m, end - m):
                part.push(leaf_hash(bytes(self._tail[32 * index : 32 * index + 32])))
            return part.root()

        proof: list[bytes] = []

        def walk(mm: int, begin: int, end: int, complete: bool) -> None:
            size = end - begin
            if mm == size:
                if not complete:
                    proof.append(subtree(begin, end))
                return
            k = 1 << ((size - 1).bit_length() - 1)
            if mm <= k:
                walk(mm, begin, begin + k, complete)
                proof.append(subtree(begin + k, end))
            else:
                walk(mm - k, begin + k, end, False)
                proof.append(subtree(begin, begin + k))

        walk(m, 0, n, True)
        return proof


def _named(seen: Seen) -> str:
    cp = seen.checkpoint
    return f"{seen.where} ({cp.size} entries, made {rfc3339(cp.time)})"


def check(
    checkpoints: list[Seen], anchors: list[SeenAnchor], follower: Follower, entries: int
) -> dict[str, Any]:
    """Raises ``Broken`` naming the first witnessed checkpoint the ledger no longer
    matches, or a witnessed anchor it no longer holds; else what was checked."""
    good: Seen | None = None
    for seen in sorted(checkpoints, key=lambda s: (s.checkpoint.size, s.checkpoint.time)):
        cp = seen.checkpoint
        since = good.checkpoint.size if good else 0
        before = (
            f"the checkpoint before it, {_named(good)}, holds"
            if good
            else "no earlier witnessed checkpoint holds"
        )
        if cp.size > entries:
            raise Broken(
                since + 1,
                f"the ledger ends at entry {entries}, but the checkpoint witnessed in "
                f"{_named(seen)} holds more: entries were removed; entries {since + 1} to "
                f"{cp.size} are not the ones witnessed ({before})",
            )
        root, head = follower.roots[cp.size]
        if root != cp.root or head != cp.head:
            raise Broken(
                since + 1,
                f"the ledger does not match the checkpoint witnessed in {_named(seen)}: "
                f"entries {since + 1} to {cp.size} were changed after they were witnessed "
                f"({before})",
            )
        if good is None or cp.size >= good.checkpoint.size:
            good = seen
    summary: dict[str, Any] = {"checkpoints": len(checkpoints), "consistency": None}
    if good is not None and good.checkpoint.size < entries:
        proof = follower.proof()
        try:
            verify_consistency(
                good.checkpoint.size, entries, good.checkpoint.root, follower.tree.root(), proof
            )
        except Inconsistent as why:
            raise Broken(
                good.checkpoint.size + 1,
                f"the ledger's head does not extend the checkpoint witnessed in "
                f"{_named(good)}: {why}",
            ) from None
        summary["consistency"] = {
            "from": good.checkpoint.size,
            "to": entries,
            "proof": [base64.b64encode(node).decode() for node in proof],
        }
    _check_anchors(anchors, follower)
    summary["anchors"] = len(anchors)
    return summary


def _check_anchors(anchors: list[SeenAnchor], follower: Follower) -> None:
    for seen in anchors:
        want = seen.anchor
        what = f"the commitment of site {want.site} for {want.period}"
        have = follower.commitments.get((want.site, want.period))
        if have is None:
            raise Broken(
                None,
                f"{seen.where} witnesses {what} (entry {want.seq}), but the ledger holds "
                "none: it was removed",
            )
        if have != want:
            raise Broken(
                have.seq,
                f"entry {have.seq}: {what} differs from the one witnessed in {seen.where} "
                f"(entry {want.seq}, anchor {want.anchor[:16]}…): it was rewritten",
            )


def age_words(made: datetime, now: datetime) -> str:
    seconds = max(0, int((now - made).total_seconds()))
    if seconds < 2 * 3600:
        count, unit = seconds // 60, "minute"
    elif seconds < 2 * 86400:
        count, unit = seconds // 3600, "hour"
    else:
        count, unit = seconds // 86400, "day"
    return f"{count} {unit}{'' if count == 1 else 's'} ago"

"""core/anchors.py: which commitments the key vouches for, and what it says of the rest."""

from __future__ import annotations

from typing import Any

import pytest

from screening.core.anchors import NOT_DERIVED, KeyAnchors
from screening.core.replay import Broken
from screening.core.selection import anchor

MASTER, OTHER = bytes(32), bytes(range(32))


def _commitment(site: str, period: str, key: bytes) -> dict[str, Any]:
    body = {"period": period, "length": 31, "anchor": anchor(key, site, period).hex()}
    return {"kind": "commitment", "site": site, "body": body}


def test_every_own_commitment_is_derived_and_a_foreign_one_named() -> None:
    anchors = KeyAnchors("main", MASTER)
    anchors.take(4, _commitment("main", "2026-11", MASTER))
    anchors.take(5, _commitment("south", "2026-11", OTHER))  # another site, another key
    assert (anchors.derived, anchors.other_sites) == (1, 1)
    with pytest.raises(Broken) as caught:
        anchors.take(17, _commitment("main", "2027-03", OTHER))
    assert caught.value.seq == 17
    assert caught.value.message == (
        "entry 17 commits 2027-03 to an anchor that this clinic's key does not make: the "
        "history was written with another key, or the commitment was rewritten"
    )
    assert anchors.summary() == (
        "anchors derived from this clinic's key: 1 commitment of site main matches; "
        "1 commitment of other sites checked against their reveals only (their keys "
        "are kept at those sites)"
    )


def test_after_a_key_rotation_commitments_are_not_held_to_the_old_key() -> None:
    anchors = KeyAnchors("main", MASTER)
    anchors.take(4, _commitment("main", "2026-11", MASTER))
    anchors.take(9, {"kind": "key_rotation", "site": "main", "body": {}})
    anchors.take(10, _commitment("main", "2026-12", OTHER))
    assert (anchors.derived, anchors.not_derived, anchors.rotated_seq) == (1, 1, 9)
    assert "1 made after the key rotation in entry 9 not derived" in anchors.summary()


def test_without_the_key_nothing_is_derived_and_it_says_why() -> None:
    anchors = KeyAnchors("main", None, "the key file /srv/screening.key is missing")
    anchors.take(4, _commitment("main", "2026-11", OTHER))
    assert (anchors.from_key, anchors.derived, anchors.not_derived) == (False, 0, 1)
    assert anchors.summary() == f"{NOT_DERIVED}: the key file /srv/screening.key is missing"

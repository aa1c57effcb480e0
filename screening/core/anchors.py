"""The key vouches for the anchors: each commitment derived again from the master key.

A reveal proves a day key against its period's anchor, and the anchor against nothing
but itself: a whole history written from scratch with another key (its anchors, reveals
and draws all made by that key) is internally consistent, and so is a commitment
rewritten with every later hash recomputed. Only the key that made the anchors tells
them apart: ``A = H^N(HMAC(master, site, period))`` (DESIGN §5) is recomputed here for
every commitment this installation's key can make, and any that differs is named.

A network's other sites have keys of their own, kept at those sites: their commitments
are checked against their reveals (core/replay/) and the witnessed copies only. Pure:
no I/O; the caller reads the key.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from screening.core.replay import Broken
from screening.core.selection import anchor
from screening.core.wording import plural

NOT_DERIVED = (
    "anchors were checked only against the reveals and the witnessed copies, "
    "not derived from the key"
)


def forged(seq: int, period: str) -> str:
    """What verify says of a commitment the key does not make."""
    return (
        f"entry {seq} commits {period} to an anchor that this clinic's key does not make: "
        "the history was written with another key, or the commitment was rewritten"
    )


@dataclass
class KeyAnchors:
    """Fed every entry after the replay has taken it (so a commitment's period and
    anchor are well formed by then); raises ``Broken`` at the first commitment of
    ``site`` that ``master`` does not make."""

    site: str
    master: bytes | None
    why_no_key: str | None = None  # why ``master`` is None, in the key reader's words
    derived: int = 0  # commitments of the own site recomputed from the key
    not_derived: int = 0  # the own site's, when there is no key or after a rotation
    other_sites: int = 0  # other sites' commitments: their keys are not here
    rotated_seq: int | None = None  # the own site's first key_rotation entry

    def take(self, seq: int, document: dict[str, Any]) -> None:
        kind, site = document["kind"], document["site"]
        if site != self.site:
            if kind == "commitment":
                self.other_sites += 1
            return
        if kind == "key_rotation" and self.rotated_seq is None:
            # Key rotation is reserved, not implemented: when it is, the commitments
            # after this entry are made by the new key, and the key file holds that one.
            # Until then they are not checked against this key (which did not make
            # them) and are counted as not derived.
            self.rotated_seq = seq
            return
        if kind != "commitment":
            return
        if self.master is None or self.rotated_seq is not None:
            self.not_derived += 1
            return
        period = document["body"]["period"]
        made = anchor(self.master, self.site, period)
        if not hmac.compare_digest(made, bytes.fromhex(document["body"]["anchor"])):
            raise Broken(seq, forged(seq, period))
        self.derived += 1

    @property
    def from_key(self) -> bool:
        return self.master is not None

    def summary(self) -> str:
        """One line for verify's report: what vouches for the anchors."""
        parts = []
        if self.master is None:
            parts.append(f"{NOT_DERIVED}: {self.why_no_key}" if self.why_no_key else NOT_DERIVED)
        else:
            parts.append(
                f"anchors derived from this clinic's key: {plural(self.derived, 'commitment')} "
                f"of site {self.site} {'matches' if self.derived == 1 else 'match'}"
            )
            if self.not_derived:
                parts.append(
                    f"{self.not_derived} made after the key rotation in entry "
                    f"{self.rotated_seq} not derived (rotation is not supported yet)"
                )
        if self.other_sites:
            parts.append(
                f"{plural(self.other_sites, 'commitment')} of other sites checked against their "
                "reveals only (their keys are kept at those sites)"
            )
        return "; ".join(parts)

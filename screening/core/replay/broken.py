"""The first problem found in a ledger: raised by the replay, and by the checks of
anchors and witnessed copies (core/anchors.py, core/witnessing.py)."""

from __future__ import annotations


class Broken(Exception):
    """The first problem found; ``seq`` names the ledger entry when there is one."""

    def __init__(self, seq: int | None, message: str) -> None:
        super().__init__(message)
        self.seq = seq
        self.message = message

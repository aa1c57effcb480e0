"""Replaying the ledger: the state it describes, and every draw recomputed from it.

`audit verify` feeds each checked entry, in order, to ``Replay.take``. The replay keeps
what the ledger says of clients, holds, closures, policies, anchors and screenings, and
re-draws every day once its key is known (from the reveal entry, or from the local key
at the end for days not yet revealed). Pure: no I/O, no clock.

Memory stays flat however long the ledger is. What grows with history (every client,
hold, closure, draw, screening, result and version the database must match, and the
clients discharged before the latest draw) lives in maps made by ``new_map`` (in
`audit verify`, maps that spill to disk: services/plumbing/spill.py). In
memory stay only the clients still in the program, policies, anchors, closures and the
draws waiting for their key.
"""

from screening.core.replay.broken import Broken
from screening.core.replay.entries import Replay
from screening.core.replay.sites import CLOCK_TOLERANCE, rfc3339_of
from screening.core.replay.state import DrawState, NewMap, Order, Store, by_seq

__all__ = [
    "CLOCK_TOLERANCE",
    "Broken",
    "DrawState",
    "NewMap",
    "Order",
    "Replay",
    "Store",
    "by_seq",
    "rfc3339_of",
]

"""`audit verify --site NAME`: one site of a network that shares a database (issue 21).

The ledger is one chain for every site: each entry's hashed text holds the hash of the
entry before it, whichever site wrote that one. So a site's verify still reads every
entry and checks every link (its bytes hash to the stored hash, and the text ends with
the ``prev``, ``seq`` and ``site`` it must have), but parses, replays and compares with
the tables only the site's own entries (and the genesis, entry 1), and compares only
the site's rows (clients, holds, closures, draws and amendments, screenings, results and
their versions and analytes, consents, roles, the site, its zones and staff names),
read with SQL filtered by site.

It does not check what other sites' entries say (their JSON, bodies, replay) or their
rows, and not what only a whole table shows: ids 1..n without gaps and links between
rows (audit/rows.py). The full verify checks all of that.
"""

from __future__ import annotations

import json
from typing import Any

from screening.core.canonical import canonical_text, sha256_hex
from screening.core.ledger import VERSION, BrokenLink, check_link
from screening.core.replay import Broken, Replay
from screening.errors import BadInput


def check_foreign_link(
    seq: int,
    stored_hash: str,
    canonical: str,
    expected_seq: int,
    prev: str,
    site: str,
    replay: Replay,
) -> None:
    """Another site's entry as a link of the chain only: its bytes hash to its stored
    hash and its text ends with the members that follow ``body`` in canonical (sorted)
    order: the previous entry's hash, its own seq and its site column. A text that ends
    so commits to ``prev`` whatever else it holds: changing an earlier entry still
    changes every hash after it, up to the witnessed head.

    The genesis (entry 1), whichever site began the ledger, is read whole and replayed:
    the chain must begin with it."""
    if seq == 1 == expected_seq:
        columns = {"site": site}
        try:
            replay.take(
                seq,
                check_link(
                    seq=1,
                    stored_hash=stored_hash,
                    canonical=canonical,
                    expected_seq=1,
                    expected_prev=prev,
                    columns=columns,
                ),
            )
        except BrokenLink as broken:
            raise Broken(1, f"entry 1: {broken}") from None
        return
    if seq != expected_seq:
        first = min(seq, expected_seq)
        if seq > expected_seq:
            raise Broken(first, f"entry {first}: entries {expected_seq} to {seq - 1} are missing")
        raise Broken(first, f"entry {first}: sequence number {seq} repeats or goes backwards")
    actual = sha256_hex(canonical.encode("utf-8"))
    if actual != stored_hash:
        raise Broken(
            seq,
            f"entry {seq}: its contents do not match its hash (stored {stored_hash[:12]}…, "
            f"contents hash to {actual[:12]}…)",
        )
    tail = f',"prev":"{prev}","seq":{seq},"site":{canonical_text(site)},"v":{VERSION}}}'
    if not canonical.endswith(tail):
        raise Broken(
            seq,
            f"entry {seq}: its link to the previous entry is wrong (its text does not end "
            "with the previous entry's hash, its seq and its site column)",
        )


def commitment_body(kind: str, canonical: str) -> Any:
    """The body of another site's commitment, for the witnesses' anchors (they are the
    network's); None for any other entry, which is not parsed."""
    if kind != "commitment":
        return None
    try:
        return json.loads(canonical).get("body")
    except (ValueError, AttributeError):
        return None  # not this verify's to name: the full verify does


def require_site(known: set[str], site: str) -> None:
    if site not in known:
        names = ", ".join(sorted(known)) or "none"
        raise BadInput(f"there is no site {site!r} in this database (its sites: {names})")


def site_scope(site: str) -> str:
    """What a site's verify compared, in words (the report and the docs say the same)."""
    return (
        f"site {site} only: every entry's hash and link checked; {site}'s entries (and "
        "the genesis) read and replayed and its rows compared; other sites' entries and "
        "rows, and whole-table ids and links, not checked: the full verify checks them"
    )


def of_site(statement: Any, column: Any, site: str | None) -> Any:
    """``statement`` kept to ``site``'s rows by ``column`` (a site column, or the site of
    the row's client or draw: every one indexed); unchanged for the full verify."""
    return statement if site is None else statement.where(column == site)

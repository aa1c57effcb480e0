"""How `audit verify` matches rows with the replayed ledger: two streams in the same key
order (entry, or entry and client uid) merged, so that a row with no entry, an entry
whose row is gone, two rows for one entry and a row that differs are each named by the
entry they concern, without either side held whole in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlmodel import Session

from screening.core.replay import Broken

BATCH = 2000


def differences(row_state: dict[str, Any], ledger_state: dict[str, Any]) -> list[str]:
    return sorted(
        key
        for key in set(row_state) | set(ledger_state)
        if row_state.get(key) != ledger_state.get(key)
    )


def stream(session: Session, statement: Any) -> Iterator[Any]:
    """Rows a batch at a time, never the whole table in memory."""
    return iter(session.execute(statement.execution_options(yield_per=BATCH)))


def in_key_order(rows: Iterable[tuple[Any, str, dict[str, Any]]]) -> Iterator[Any]:
    """Rows read in entry order, re-sorted by their whole key (entry, uid) within each
    entry."""
    group: list[tuple[Any, str, dict[str, Any]]] = []
    for row in rows:
        if group and _seq_of(row[0]) != _seq_of(group[0][0]):
            yield from sorted(group, key=lambda item: item[0])
            group = []
        group.append(row)
    yield from sorted(group, key=lambda item: item[0])


def match_rows(
    label: str,
    expected: Iterable[tuple[Any, tuple[str, dict[str, Any]]]],
    rows: Iterable[tuple[Any, str, dict[str, Any]]],
) -> int:
    """Rows that one ledger entry each creates, merged with the replay's expectations
    (both in key order): every row matches its entry, and every entry still has its
    row. Returns how many matched."""
    wanted = iter(expected)
    ahead = next(wanted, None)
    gone: Any = None  # the first entry whose row is missing
    count, previous = 0, None
    iterator = iter(rows)
    while True:
        try:
            key, site, state = next(iterator)
        except StopIteration:
            break
        except (KeyError, ValueError, ArithmeticError, TypeError, AttributeError) as error:
            # A row edited into something unreadable (bad JSON, a number that is not one,
            # a link to nothing) is tampering too.
            raise Broken(
                None,
                f"a {label} row cannot be read ({type(error).__name__}): it "
                "was changed outside screening",
            ) from None
        where = _where(key)
        if not _well_formed(key):
            raise Broken(
                None,
                f"a {label} row names ledger entry {where!r}, which is not an entry number: "
                "it was changed outside screening",
            )
        if key == previous:
            raise Broken(_seq_of(key), f"entry {where} ({label}): two {label} rows name it")
        previous = key
        while ahead is not None and ahead[0] < key:
            gone = ahead[0] if gone is None else gone
            ahead = next(wanted, None)
        if ahead is None or ahead[0] != key:
            raise Broken(
                None, f"a {label} row names ledger entry {where}, which records no such {label}"
            )
        known_site, known = ahead[1]
        differs = differences({**state, "site": site}, {**known, "site": known_site})
        if differs:
            raise Broken(
                _seq_of(key),
                f"entry {where} ({label}): the database row differs "
                f"from the ledger in {', '.join(differs)}{_said_by(_seq_of(key), known, differs)}",
            )
        count += 1
        ahead = next(wanted, None)
    if gone is None and ahead is not None:
        gone = ahead[0]
    if gone is not None:
        raise Broken(
            _seq_of(gone),
            f"entry {_where(gone)} ({label}): the ledger records a "
            f"{label} whose database row is gone",
        )
    return count


def _said_by(seq: int, known: dict[str, Any], differs: list[str]) -> str:
    """The later entries that made the ledger's side what it is (a status change, a hold
    ended, a closure withdrawn): a rewrite of one of them is named by its own number."""
    entries = {
        value["entry"]
        for name in differs
        if isinstance(value := known.get(name), dict) and isinstance(value.get("entry"), int)
    }
    if isinstance(known.get("latest"), int):
        entries.add(known["latest"])
    entries.discard(seq)
    if not entries:
        return ""
    return f" (as entry {', '.join(str(entry) for entry in sorted(entries))} says)"


def _well_formed(key: Any) -> bool:
    """An entry number, or (entry number, uid): what the merge can order."""
    if isinstance(key, tuple):
        return len(key) == 2 and type(key[0]) is int and isinstance(key[1], str)
    return type(key) is int


def _seq_of(key: Any) -> int:
    return key[0] if isinstance(key, tuple) else key


def _where(key: Any) -> str:
    return f"{key[0]}, client {key[1]}" if isinstance(key, tuple) else str(key)

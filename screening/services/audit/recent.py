"""The rows `audit verify --from-checkpoint` compares: those the entries after the
checkpoint made or changed, each against what the whole replayed ledger says of it
(services/audit/resume.py starts the replay where the checkpoint left it; the tables
are matched in audit/recent_rows.py).

A row is read when its key is one the new entries wrote in the replay (a client
updated, a hold ended, a screening settled, a result amended ...), or when it names an
entry after the checkpoint in any of its entry columns, or its id is past the highest
the checkpoint saw. Rows that none of these reach were compared by the verify that
wrote the checkpoint and are not read again: a change made to one of them since is
found by a full `audit verify` only (docs/verify.md says so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from screening.core.replay import Broken, Store
from screening.services.audit.column_rules import tables
from screening.services.audit.merge import match_rows, stream

_CHUNK = 500  # keys a statement names at once (SQLite's limit on parameters is far off)
_CHANGED = "it was changed outside screening"


class Recent:
    """Which rows are the new entries': after entry ``since``, or past the ids in
    ``highs`` (each table's highest id when the checkpoint was written)."""

    def __init__(self, since: int, highs: dict[str, int]) -> None:
        self.since, self.highs = since, highs
        self.compared = 0

    def __call__(self, table: sa.Table) -> Any:
        """A condition true of ``table``'s rows made or changed since the checkpoint."""
        newer = [c > self.since for c in table.c if c.name == "seq" or c.name.endswith("_seq")]
        if "id" in table.c:
            newer.append(table.c.id > self.highs.get(table.name, 0))
        return sa.or_(*newer) if newer else sa.true()

    def rows(
        self, session: Session, statement: Any, table: Any, key: list[Any], keys: set[Any]
    ) -> list[Any]:
        """The rows of ``statement`` made or changed since, and every row whose ``key``
        (its columns) is one of ``keys`` or a key of those rows (a row copied under an
        earlier row's key is read with it); each once, by the row's id."""
        ident = table.c.id.label("row_ident")
        statement = statement.add_columns(
            ident, *(column.label(f"row_key{n}") for n, column in enumerate(key))
        )
        found: dict[Any, Any] = {}
        try:
            for row in stream(session, statement.where(self(table))):
                found[row.row_ident] = row
            keys = keys | {_key_of(row, len(key)) for row in found.values()}
            ordered = sorted(keys, key=repr)
            matches = sa.tuple_(*key) if len(key) > 1 else key[0]
            for at in range(0, len(ordered), _CHUNK):
                where = matches.in_(ordered[at : at + _CHUNK])
                for row in stream(session, statement.where(where)):
                    found.setdefault(row.row_ident, row)
        except (ValueError, TypeError, ArithmeticError) as error:
            # A value the type checks did not reach (they look at the new rows) that the
            # driver cannot read: a row the new entries touched, edited.
            raise Broken(
                None, f"a {table.name} row cannot be read ({type(error).__name__}): {_CHANGED}"
            ) from None
        self.compared += len(found)
        return list(found.values())


def _key_of(row: Any, columns: int) -> Any:
    values = tuple(getattr(row, f"row_key{n}") for n in range(columns))
    return values if columns > 1 else values[0]


def table_of_model(model: Any) -> sa.Table:
    return model.__table__


def touched(store: Store) -> set[Any]:
    return set(getattr(store, "touched", None) or ())


def by_entry(
    label: str,
    store: Store,
    rows: list[Any],
    key_of: Callable[[Any], Any],
    state_of: Callable[[Any], tuple[str, dict[str, Any]]],
    expected_of: Callable[[Any], tuple[str, dict[str, Any]]] = lambda known: known,
) -> None:
    """``rows`` (keyed by ``key_of``) and the replay's ``store`` for those keys and the
    keys the new entries wrote, merged as the full verify merges them."""
    keys = touched(store) | {key_of(row) for row in rows}
    merge(label, store, keys, rows, key_of, state_of, lambda key, known: (key, known), expected_of)


def merge(
    label: str,
    store: Store,
    keys: Iterable[Any],
    rows: list[Any],
    key_of: Callable[[Any], Any],
    state_of: Callable[[Any], tuple[str, dict[str, Any]]],
    keyed: Callable[[Any, Any], tuple[Any, Any]],
    expected_of: Callable[[Any], tuple[str, dict[str, Any]]] = lambda known: known,
) -> None:
    expected = []
    for key in keys:
        known = store.get(key) if _hashable(key) else None
        if known is not None:
            entry, value = keyed(key, known)
            expected.append((entry, expected_of(value)))
    expected.sort(key=lambda item: item[0])

    def states() -> Iterator[tuple[Any, str, dict[str, Any]]]:
        for row in sorted(rows, key=lambda row: _order(key_of(row))):
            site, state = state_of(row)
            yield key_of(row), site, state

    match_rows(label, expected, states())


def _hashable(key: Any) -> bool:
    try:
        hash(key)
    except TypeError:
        return False
    return True


def _order(key: Any) -> tuple[int, Any]:
    """Rows in key order; a key of the wrong type first, for the merge to name it."""
    well = type(key) is int or (
        isinstance(key, tuple) and len(key) == 2 and type(key[0]) is int and type(key[1]) is str
    )
    return (1, key) if well else (0, ())


def check_new_ids(session: Session, highs: dict[str, int]) -> None:
    """The ids made since the checkpoint follow on from the highest it saw, with none
    left out or moved (a full verify checks every id: audit/rows.py)."""
    for table in tables():
        if "id" not in table.c:
            continue
        high = highs.get(table.name, 0)
        count, low, top = session.execute(
            sa.select(sa.func.count(), sa.func.min(table.c.id), sa.func.max(table.c.id)).where(
                table.c.id > high
            )
        ).one()
        if count and (low != high + 1 or top - low + 1 != count):
            raise Broken(
                None,
                f"{table.name}: the ids made since the checkpoint do not follow on from "
                f"{high} one by one: {_CHANGED}",
            )


def highest_ids(session: Session) -> dict[str, int]:
    """Each table's highest id: where the rows a later incremental verify reads begin."""
    return {
        str(table.name): session.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
        for table in tables()
        if "id" in table.c
    }

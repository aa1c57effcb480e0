"""Maps that keep a bounded number of items in memory and the rest in a private
temporary SQLite file, so that `audit verify` needs the same memory for a ledger of ten
years as for one of ten days.

Keys are ints, strings, dates and tuples of them, stored by their ``repr``. Each map
keeps its most recently written items in a dict; past ``capacity`` the older half goes
to disk in one batch. Every item in memory is written back when it leaves, so
a value changed in place is never lost as long as it is stored again with ``map[key] =
value`` after the change (the replay does). ``ordered()`` writes everything out and
streams the items back sorted by the map's order, for the merge with the database rows.

The file lives in a directory only this user can read (``tempfile`` makes it 0700) and
is deleted when the verification ends; it holds uids, digests and dates, no names.
"""

from __future__ import annotations

import pickle
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

Order = Callable[[Any, Any], tuple[int, str]]
CAPACITY = 1_000
_PICKLE = pickle.HIGHEST_PROTOCOL


class SpillFile:
    """The temporary database behind every map of one verification."""

    def __init__(self, capacity: int | None = None) -> None:
        self.capacity = capacity or CAPACITY
        self._directory = tempfile.TemporaryDirectory(prefix="screening-verify-")
        self._connection = sqlite3.connect(Path(self._directory.name) / "spill.sqlite3")
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -4000"):
            self._connection.execute(f"PRAGMA {pragma}")
        self._maps = 0

    def map(self, order: Order) -> SpillMap:
        self._maps += 1
        return SpillMap(self._connection, f"map{self._maps}", order, self.capacity)

    def close(self) -> None:
        self._connection.close()
        self._directory.cleanup()

    def __enter__(self) -> SpillFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


class SpillMap:
    def __init__(
        self, connection: sqlite3.Connection, table: str, order: Order, capacity: int
    ) -> None:
        self._db, self._table, self._order = connection, table, order
        self._capacity = max(2, capacity)
        self._memory: dict[Any, Any] = {}
        self._db.execute(
            f"CREATE TABLE {table} (key TEXT PRIMARY KEY, a INTEGER, b TEXT, k BLOB, value BLOB)"
        )

    def get(self, key: Any, default: Any = None) -> Any:
        if key in self._memory:
            return self._memory[key]
        row = self._db.execute(
            f"SELECT value FROM {self._table} WHERE key = ?", (repr(key),)
        ).fetchone()
        if row is None:
            return default
        value = pickle.loads(row[0])  # noqa: S301 (our own file, in a 0700 directory)
        self[key] = value
        return value

    def __contains__(self, key: Any) -> bool:
        marker = object()
        return self.get(key, marker) is not marker

    def __setitem__(self, key: Any, value: Any) -> None:
        self._memory.pop(key, None)  # re-inserted last: the newest leave memory last
        self._memory[key] = value
        if len(self._memory) > self._capacity:
            leaving = list(self._memory)[: self._capacity // 2]
            self._write((key, self._memory.pop(key)) for key in leaving)

    def pop(self, key: Any, default: Any = None) -> Any:
        value = self.get(key, default)
        self._memory.pop(key, None)
        self._db.execute(f"DELETE FROM {self._table} WHERE key = ?", (repr(key),))
        return value

    def __len__(self) -> int:
        self._flush()
        (count,) = self._db.execute(f"SELECT count(*) FROM {self._table}").fetchone()
        return int(count)

    def ordered(self) -> Iterator[tuple[Any, Any]]:
        """Every item, sorted by the map's order; streamed from disk."""
        self._flush()
        cursor = self._db.execute(f"SELECT k, value FROM {self._table} ORDER BY a, b")
        for key, value in cursor:
            yield pickle.loads(key), pickle.loads(value)  # noqa: S301 (as above)

    def _flush(self) -> None:
        self._write(self._memory.items())
        self._memory.clear()

    def _write(self, items: Any) -> None:
        rows = []
        for key, value in items:
            a, b = self._order(key, value)
            rows.append((repr(key), a, b, pickle.dumps(key, _PICKLE), pickle.dumps(value, _PICKLE)))
        self._db.executemany(f"INSERT OR REPLACE INTO {self._table} VALUES (?, ?, ?, ?, ?)", rows)

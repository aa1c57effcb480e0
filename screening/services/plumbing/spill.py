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

A verification that found nothing wrong may keep a copy (``save``) beside its checkpoint,
with the replay's in-memory parts in a table of their own; a later verification starts
from that copy (``SpillFile(saved=...)``, after its digest is checked) and notes every key
it writes (``touched``), so that it compares only the rows the new entries made or
changed (services/audit/resume.py). A copy read back is unpickled by ``loads``, which the
caller restricts to the classes a replay holds.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

Order = Callable[[Any, Any], tuple[int, str]]
Loads = Callable[[bytes], Any]
CAPACITY = 1_000
_PICKLE = pickle.HIGHEST_PROTOCOL
_PARTS = "saved_parts"


class DigestMismatch(Exception):
    """A saved copy whose bytes are not the ones its checkpoint names."""


class SpillFile:
    """The temporary database behind every map of one verification: empty, or a copy of
    the one a verification saved (``saved``), checked against its SHA-256 ``digest``."""

    def __init__(
        self,
        capacity: int | None = None,
        saved: Path | None = None,
        digest: str = "",
        loads: Loads = pickle.loads,
    ) -> None:
        self.capacity = capacity or CAPACITY
        self._directory = tempfile.TemporaryDirectory(prefix="screening-verify-")
        file = Path(self._directory.name) / "spill.sqlite3"
        if saved is not None:
            try:
                shutil.copyfile(saved, file)  # checked as copied: no one swaps it after
                if _sha256(file) != digest:
                    raise DigestMismatch(str(saved))
            except BaseException:
                self._directory.cleanup()
                raise
        self._connection = sqlite3.connect(file)
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -4000"):
            self._connection.execute(f"PRAGMA {pragma}")
        self._loads = loads
        self._made: list[SpillMap] = []
        # Keys written since the copy was read (None: not noted, a full verification).
        self._touched = saved is not None

    def map(self, order: Order, keep: int | None = None) -> SpillMap:
        """A map of its own in the file; ``keep``: at most this many of its items in
        memory (the file's capacity if None)."""
        made = SpillMap(
            self._connection,
            f"map{len(self._made) + 1}",
            order,
            self.capacity if keep is None else min(keep, self.capacity),
            self._loads,
        )
        if self._touched:
            made.touched = set()
        self._made.append(made)
        return made

    def part(self, name: str) -> bytes | None:
        """A part saved beside the maps (``save``), as its bytes."""
        try:
            row = self._connection.execute(
                f"SELECT value FROM {_PARTS} WHERE name = ?", (name,)
            ).fetchone()
        except sqlite3.DatabaseError:
            return None
        return None if row is None else bytes(row[0])

    def save(self, path: Path, parts: dict[str, bytes]) -> str:
        """Every map and ``parts`` to ``path`` (readable by this user only); returns the
        file's SHA-256. Written beside, then moved into place: never half a copy."""
        for made in self._made:
            made.flush()
        self._connection.commit()
        partial = path.with_name(path.name + ".partial")
        partial.unlink(missing_ok=True)
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        target = sqlite3.connect(partial)
        try:
            self._connection.backup(target)
            target.execute(f"DROP TABLE IF EXISTS {_PARTS}")
            target.execute(f"CREATE TABLE {_PARTS} (name TEXT PRIMARY KEY, value BLOB)")
            target.executemany(f"INSERT INTO {_PARTS} VALUES (?, ?)", sorted(parts.items()))
            target.commit()
            target.execute("VACUUM")
        finally:
            target.close()
        os.replace(partial, path)
        return _sha256(path)

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
        self,
        connection: sqlite3.Connection,
        table: str,
        order: Order,
        capacity: int,
        loads: Loads = pickle.loads,
    ) -> None:
        self._db, self._table, self._order = connection, table, order
        self._capacity = max(2, capacity)
        self._memory: dict[Any, Any] = {}
        self._loads = loads
        self.name = table
        self.touched: set[Any] | None = None  # keys written, when the file was a saved copy
        self._db.execute(
            f"CREATE TABLE IF NOT EXISTS {table} "
            "(key TEXT PRIMARY KEY, a INTEGER, b TEXT, k BLOB, value BLOB)"
        )

    def get(self, key: Any, default: Any = None) -> Any:
        if key in self._memory:
            return self._memory[key]
        row = self._db.execute(
            f"SELECT value FROM {self._table} WHERE key = ?", (repr(key),)
        ).fetchone()
        if row is None:
            return default
        value = self._loads(row[0])  # our own file in a 0700 directory, or a checked copy
        self._keep(key, value)
        return value

    def __contains__(self, key: Any) -> bool:
        marker = object()
        return self.get(key, marker) is not marker

    def __setitem__(self, key: Any, value: Any) -> None:
        if self.touched is not None:
            self.touched.add(key)
        self._keep(key, value)

    def _keep(self, key: Any, value: Any) -> None:
        self._memory.pop(key, None)  # re-inserted last: the newest leave memory last
        self._memory[key] = value
        if len(self._memory) > self._capacity:
            leaving = list(self._memory)[: self._capacity // 2]
            self._write((key, self._memory.pop(key)) for key in leaving)

    def pop(self, key: Any, default: Any = None) -> Any:
        value = self.get(key, default)
        if self.touched is not None:
            self.touched.add(key)
        self._memory.pop(key, None)
        self._db.execute(f"DELETE FROM {self._table} WHERE key = ?", (repr(key),))
        return value

    def __len__(self) -> int:
        self.flush()
        (count,) = self._db.execute(f"SELECT count(*) FROM {self._table}").fetchone()
        return int(count)

    def ordered(self) -> Iterator[tuple[Any, Any]]:
        """Every item, sorted by the map's order; streamed from disk."""
        self.flush()
        cursor = self._db.execute(f"SELECT k, value FROM {self._table} ORDER BY a, b")
        for key, value in cursor:
            yield self._loads(key), self._loads(value)

    def flush(self) -> None:
        self._write(self._memory.items())
        self._memory.clear()

    def _write(self, items: Any) -> None:
        rows = []
        for key, value in items:
            a, b = self._order(key, value)
            rows.append((repr(key), a, b, pickle.dumps(key, _PICKLE), pickle.dumps(value, _PICKLE)))
        self._db.executemany(f"INSERT OR REPLACE INTO {self._table} VALUES (?, ?, ?, ?, ?)", rows)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

"""A second process for `audit verify` (two cores): while the first walks the chain, it
reads the screening, result and result version rows and works out the state each is
compared by (a version's digest recomputed from its analytes: most of what verify reads
and hashes), spilling them to private temporary files a batch at a time; the merge
(audit/domain.py) reads them back in the same order, each as soon as it is complete.

The second process reads in a transaction of its own, begun after the first one's: on
PostgreSQL in the first one's snapshot (``pg_export_snapshot``), on SQLite in its own.
Every change to those rows writes a ledger entry in the same transaction, so when its
ledger ends at the same head as the first one's both read the same rows; when it does not
(on SQLite, an entry written in between), or without ``fork``, inside a batch (whose writes only its
own session sees), or when the second process fails, the first reads the rows itself.
A row the second process cannot read is named as if read here: its error is raised at
the same place in the stream. The spilled rows go to files opened before the fork and
already unlinked (no name another process could replace them by). The second process
ignores Ctrl-C (the first one's to answer), gives up on a lock it would wait for (on
PostgreSQL, 10 s) and on the database going away, and ends without a word whatever
happens: the first process then reads the rows itself.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from screening.db.engine import Database
from screening.db.models import LedgerRow, table_of
from screening.services.audit.merge import BATCH
from screening.services.audit.unread import Unread

Producer = Callable[[Session, Unread], Iterable[Any]]
_PICKLE = pickle.HIGHEST_PROTOCOL
_LEDGER = table_of(LedgerRow)


class Rows:
    """Where the merge takes a stream of rows from: read here (no second process)."""

    def rows(self, name: str, here: Callable[[], Iterable[Any]]) -> Iterable[Any]:
        return here()


HERE = Rows()


class SecondProcess(Rows):
    def __init__(self, database: Database, session: Session, producers: dict[str, Producer]):
        self._process: Any = None
        self._done: dict[str, Any] = {}
        self._files: dict[str, Any] = {}
        head = _head(session)
        # Inside a batch (bench/generate.py's days) verify reads that batch's own session.
        if head is None or database._batch is not None:
            return
        if "fork" not in multiprocessing.get_all_start_methods():
            return
        # PostgreSQL: the child reads in this transaction's snapshot (held open until the
        # walk ends), so both see the same rows, whatever is written meanwhile.
        snapshot = None
        if not database.is_sqlite:
            snapshot = session.execute(sa.text("SELECT pg_export_snapshot()")).scalar()
        context = multiprocessing.get_context("fork")
        # Unlinked at once (0600 while it had a name): the child inherits them by fork.
        self._files = {name: _unlinked() for name in producers}
        self._done = {name: context.Event() for name in producers}
        self._process = context.Process(
            target=_work,
            args=(database.url, database.group, head, snapshot, self._files, producers),
            kwargs={"done": self._done},
            daemon=True,
        )
        # The child flushes its copies of the standard streams when it ends: anything
        # still buffered here would be written twice.
        sys.stdout.flush()
        sys.stderr.flush()
        self._process.start()

    def rows(self, name: str, here: Callable[[], Iterable[Any]]) -> Iterable[Any]:
        """The rows the second process spilled under ``name``, once complete; ``here()``
        when it could not."""
        done = self._done.get(name)
        if done is None:
            return here()
        while not done.wait(0.05):
            if not self._process.is_alive():
                break
        if not done.is_set():
            return here()
        return _read_back(self._files[name])

    def close(self) -> None:
        if self._process is not None:
            if self._process.is_alive():
                self._process.terminate()
            self._process.join()
        for spilled in self._files.values():
            spilled.close()

    def __enter__(self) -> SecondProcess:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _unlinked() -> Any:
    return tempfile.TemporaryFile(prefix="screening-verify-")  # noqa: SIM115 (closed in close())


def _head(session: Session) -> int | None:
    head: int | None = session.execute(sa.select(sa.func.max(_LEDGER.c.seq))).scalar()
    return head


class _Failed:
    """The error the second process met reading a row, raised here in its place."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _work(
    url: Any,
    group: str | None,
    head: int,
    snapshot: str | None,
    files: dict[str, Any],
    producers: dict[str, Producer],
    done: dict[str, Any],
) -> None:
    """The second process: an engine of its own (nothing of the first one's connections).
    Whatever ends it early, it ends quietly: the first process reads what it did not."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        database = Database(url, group)
        with database.read(snapshot) as session:
            if not database.is_sqlite:
                session.execute(sa.text("SET LOCAL lock_timeout = '10s'"))
            if _head(session) != head:
                return  # an entry was written since the first process began: it reads itself
            unread = Unread(session)
            for name, produce in producers.items():
                out = files[name]
                _spill(produce(session, unread), out)
                out.flush()
                done[name].set()
    except BaseException:  # noqa: BLE001 (no traceback on the user's terminal)
        os._exit(1)


def _spill(rows: Iterable[Any], out: Any) -> None:
    batch: list[Any] = []
    try:
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH:
                pickle.dump(batch, out, _PICKLE)
                batch = []
    except sa.exc.OperationalError:
        raise  # the database, not a row: the first process reads the rows itself
    except Exception as error:  # noqa: BLE001 (raised in the first process, at its place)
        pickle.dump(batch, out, _PICKLE)
        pickle.dump(_Failed(error), out, _PICKLE)
        return
    pickle.dump(batch, out, _PICKLE)


def _read_back(spilled: Any) -> Iterator[Any]:
    spilled.seek(0)
    while True:
        try:
            batch = pickle.load(spilled)  # noqa: S301 (our own unlinked file: no one else's)
        except EOFError:
            return
        if isinstance(batch, _Failed):
            raise batch.error
        yield from batch

"""Engines and transactions for SQLite (embedded default) and PostgreSQL (networks).

SQLite: WAL, foreign keys, synchronous=FULL, a busy timeout, and ``BEGIN IMMEDIATE`` for
writing transactions (a deferred BEGIN gave "database is locked" under concurrent
writers; STYLE §5). PostgreSQL: transaction-level advisory locks, per site (db/locks.py).
"""

from __future__ import annotations

import grp
import os
import re
import shlex
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

import screening.db.row_ids  # noqa: F401  (ids without gaps, given on every flush)
from screening.db.locks import begin_network_write, begin_site_write
from screening.errors import BadInput, EnvironmentProblem

# Bump with every migration; a test checks it against alembic's head.
SCHEMA_REVISION = "0013"
BUSY_TIMEOUT_MS = 30_000
# What pg_export_snapshot() returns, e.g. 00000003-0000001B-1.
_SNAPSHOT_ID = re.compile(r"[0-9A-F]{1,16}(-[0-9A-F]{1,16}){1,2}")


def resolve_url(raw: str, folder: Path) -> URL:
    """Parse a database URL; a relative SQLite path is taken from the config's folder."""
    try:
        url = make_url(raw)
    except Exception:  # sqlalchemy raises ArgumentError, and ValueError for bad ports
        raise BadInput(
            f"{raw!r} is not a database URL; use sqlite:///screening.db or "
            "postgresql+psycopg://user@host/dbname"
        ) from None
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:" and not Path(database).is_absolute():
            url = url.set(database=str(folder / database))
    elif url.get_backend_name() == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
    else:
        raise BadInput(
            f"database {url.get_backend_name()!r} is not supported; use SQLite or PostgreSQL"
        )
    return url


def sqlite_path(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def describe(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def group_id(name: str | None) -> int | None:
    """The OS group's id; None for no group or one this computer does not have."""
    if name is None:
        return None
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def exposed(status: os.stat_result, group: str | None, group_bits: int) -> bool:
    """A file others can read: any bit for other users, or any for a group other than
    ``group`` (the config's `[database] group`, which may hold ``group_bits``)."""
    mode = stat.S_IMODE(status.st_mode)
    if mode & stat.S_IRWXO:
        return True
    if not mode & stat.S_IRWXG:
        return False
    gid = group_id(group)
    return gid is None or status.st_gid != gid or bool(mode & stat.S_IRWXG & ~group_bits)


def share(path: Path, group: str, mode: int) -> None:
    """Give ``path`` to the OS group ``group`` with ``mode`` (`init --group`)."""
    gid = group_id(group)
    if gid is None:
        raise EnvironmentProblem(f"there is no OS group {group!r} on this computer")
    os.chown(path, -1, gid)
    os.chmod(path, mode)


class Database:
    """One engine and the two kinds of transaction every service runs in.

    ``group``: the config's `[database] group`, whose members share the SQLite file."""

    def __init__(self, url: URL, group: str | None = None) -> None:
        self.url = url
        self.group = group
        self.is_sqlite = url.get_backend_name() == "sqlite"
        self._batch: Session | None = None
        # What waits for the batch to commit (after_commit), by name: run once each.
        self._after_batch: dict[str, Callable[[], None]] = {}
        try:
            if self.is_sqlite:
                self.engine = sa.create_engine(
                    url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}
                )
                _configure_sqlite(self.engine, sqlite_path(url))
            else:
                self.engine = sa.create_engine(url, pool_pre_ping=True)
        except ImportError:  # SQLAlchemy imports the driver here
            raise _no_driver(url) from None

    @classmethod
    def create_sqlite_file(cls, url: URL) -> None:
        """Create an empty SQLite file readable by its owner only (0600)."""
        path = sqlite_path(url)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(descriptor)

    def require_file(self) -> None:
        """SQLite would silently create an empty database where none exists: refuse."""
        path = sqlite_path(self.url)
        if path is not None and not path.exists():
            # Not `init`: beside a config, it refuses (and elsewhere makes a second clinic).
            raise EnvironmentProblem(
                f"no database at {path}; put back the file (or a copy made by `screening db "
                "backup`), or pass --db URL"
            )

    def exposure(self) -> str | None:
        """A warning when the SQLite file, or its -wal or -shm, can be read by other users
        of this computer: they hold client names and results (DESIGN §8 makes them 0600,
        or 0660 for the config's group; a copy or an older umask may not have). None when
        private, absent, or not SQLite."""
        path = sqlite_path(self.url)
        if path is None:
            return None
        files: list[Path] = []
        shown: os.stat_result | None = None
        for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            try:
                status = file.stat()
            except OSError:
                continue
            files.append(file)
            if shown is None and exposed(status, self.group, stat.S_IRGRP | stat.S_IWGRP):
                shown = status
        if shown is None:
            return None
        names = " ".join(shlex.quote(str(f)) for f in files)
        fix = f"chmod 600 {names}"
        if self.group is not None:
            fix = f"chgrp {shlex.quote(self.group)} {names} && chmod 660 {names}"
        held = f"mode {stat.S_IMODE(shown.st_mode):04o}"
        if self.group is not None:
            held += f", group {_group_name(shown.st_gid)}; the config shares it with {self.group}"
        return (
            f"the database {path} can be read by other users of this computer ({held}); "
            f"it holds client records: run `{fix}`"
        )

    def shut_out(self) -> str | None:
        """PostgreSQL: the login, when the clinic's tables are there but this login may
        not use their schema (it holds no role: `db roles` gives the schema to the role
        groups only); None otherwise. Without this the tables would look absent."""
        if self.is_sqlite:
            return None
        with self.connect() as connection:
            row = connection.execute(
                sa.text(
                    "SELECT session_user, current_schema() IS NULL AND EXISTS (SELECT 1 "
                    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
                    "c.relname = 'alembic_version' AND n.nspname = ANY (string_to_array("
                    "replace(replace(current_setting('search_path'), ' ', ''), '\"', ''), "
                    "',')))"
                )
            ).one()
        return str(row[0]) if row[1] else None

    def schema_revision(self) -> str | None:
        with self.connect() as connection:
            if not sa.inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

    def require_current_schema(self) -> None:
        self.require_file()
        revision = self.schema_revision()
        if revision is None:
            raise EnvironmentProblem(
                f"the database at {describe(self.url)} has no screening tables; "
                "run `screening db upgrade` (or `screening init` for a new clinic)"
            )
        if revision != SCHEMA_REVISION:
            raise EnvironmentProblem(
                f"the database schema is at revision {revision}, this version needs "
                f"{SCHEMA_REVISION}; run `screening db upgrade`"
            )

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.connect() as connection:
                yield connection
        except OperationalError as error:
            raise _unreachable(self.url, error) from None

    @contextmanager
    def write(self, site: str | None = None) -> Iterator[Session]:
        """A writing transaction: everything commits together, or nothing does.

        ``site``: the site whose rows it writes. On PostgreSQL it then waits only for
        that site's writes, and for others' only from its first append (db/locks.py);
        without one it waits for every write, as `init` and a batch do.

        Inside ``batch()`` it is a savepoint of the batch's transaction instead: a command
        refused half-way leaves the batch as it was before that command."""
        if self._batch is not None:
            with self._batch.begin_nested():
                yield self._batch
            return
        engine = self.engine.execution_options(screening_write=True)
        try:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                if not self.is_sqlite:
                    if site is None:
                        begin_network_write(session)
                    else:
                        begin_site_write(session, site)
                yield session
        except OperationalError as error:
            if _is_connection_error(error):
                raise _unreachable(self.url, error) from None
            raise

    @contextmanager
    def batch(self) -> Iterator[Session]:
        """Many writing commands in one transaction, which commits when the block ends
        (or not at all): for bulk work such as bench/generate.py. It holds the write lock
        throughout, so nothing else can write meanwhile; the commands' common upkeep
        (services/records/upkeep.py) runs once per day at the site rather than once per command."""
        if self._batch is not None:
            raise RuntimeError("batches do not nest")
        self._after_batch = {}
        try:
            with self.write() as session:
                self._batch = session
                try:
                    yield session
                finally:
                    self._batch = None
        except BaseException:
            self._after_batch = {}
            raise
        waiting, self._after_batch = self._after_batch, {}
        for action in waiting.values():
            action()

    def after_commit(self, name: str, action: Callable[[], None]) -> None:
        """Run ``action`` once what was just written is committed: now, after a
        ``write()`` block, or when the batch commits, if inside one (its commit is
        deferred). Inside a batch the last action given a name replaces earlier ones."""
        if self._batch is not None:
            self._after_batch.pop(name, None)
            self._after_batch[name] = action
        else:
            action()

    @contextmanager
    def read(self, snapshot: str | None = None) -> Iterator[Session]:
        """A reading transaction that sees one state of the database from its first
        statement to its end, on both engines: SQLite's reading transactions do (WAL);
        on PostgreSQL it is REPEATABLE READ, since READ COMMITTED takes a new snapshot
        for every statement, and `audit verify` or a report that reads the ledger, then
        the rows, would see rows written between the two and name them as not in it.

        ``snapshot`` (PostgreSQL): another transaction's, still open
        (``pg_export_snapshot()``), so that a second process reads what the first one
        reads (audit/second.py)."""
        if self._batch is not None:  # see the batch's own writes
            yield self._batch
            return
        bind = self.engine
        if not self.is_sqlite:
            bind = self.engine.execution_options(isolation_level="REPEATABLE READ")
        try:
            with Session(bind, expire_on_commit=False) as session, session.begin():
                if snapshot is not None and not self.is_sqlite:
                    if not _SNAPSHOT_ID.fullmatch(snapshot):
                        raise ValueError(f"not a PostgreSQL snapshot id: {snapshot!r}")
                    # SET takes no bound parameters; the id was checked above.
                    session.execute(sa.text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
                yield session
        except OperationalError as error:
            if _is_connection_error(error):
                raise _unreachable(self.url, error) from None
            raise

    def dispose(self) -> None:
        self.engine.dispose()


def _no_driver(url: URL) -> EnvironmentProblem:
    if url.drivername == "postgresql+psycopg":
        return EnvironmentProblem(
            "the PostgreSQL driver (psycopg) is not installed; install it with "
            'pip install "screening[postgresql]"'
        )
    return EnvironmentProblem(
        f"the database driver for {url.drivername} is not installed; use "
        'postgresql+psycopg://... after pip install "screening[postgresql]"'
    )


# What SQLite says of a file that is not one of its databases, or whose pages are cut
# short or overwritten (SQLITE_NOTADB, SQLITE_CORRUPT).
_DAMAGED = ("file is not a database", "database disk image is malformed", "file is encrypted")


def _configure_sqlite(engine: Engine, path: Path | None) -> None:
    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> None:
        reason = str(context.original_exception).lower()
        if path is not None and any(words in reason for words in _DAMAGED):
            raise EnvironmentProblem(
                f"the database file {path} is not a SQLite database or is damaged; "
                "restore it from a copy made by `screening db backup` (keep the damaged "
                "file for inspection)"
            )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        write = connection.get_execution_options().get("screening_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _is_connection_error(error: DBAPIError) -> bool:
    return bool(error.connection_invalidated) or "connect" in str(error.orig).lower()


def _unreachable(url: URL, error: DBAPIError) -> EnvironmentProblem:
    reason = str(error.orig).strip().splitlines()[0] if error.orig else "no answer"
    return EnvironmentProblem(f"cannot use the database at {describe(url)}: {reason}")

"""Fixtures: every test runs in its own folder, with no SCREENING_* variables, against
SQLite and (when SCREENING_TEST_DATABASE_URL names a server) PostgreSQL in a fresh schema.
"""

from __future__ import annotations

import functools
import os
import pwd
import re
import secrets
import shutil
import subprocess
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import freezegun
import pytest
import typer.testing
from typer.testing import CliRunner

from screening.cli import app

# typer's CliRunner.invoke builds the click command from `app` afresh on every call: a
# signature and its type hints for each of the ~50 commands, about half the time of a
# short command and more under a frozen clock. The command it builds is the same every
# time (nothing in it depends on the clock, the environment or a test's monkeypatching:
# the callbacks look services up when they run), so every test builds it once.
typer.testing._get_command = functools.cache(typer.testing._get_command)

# The table models are imported before any test freezes the clock: imported under
# freezegun, their date and datetime fields would name freezegun's fake classes, and
# pydantic cannot build a schema for those (PydanticSchemaGenerationError in whichever
# test first touched the database under a frozen clock).
import screening.db.models  # noqa: E402, F401  isort: skip

# Every freeze_time start walks sys.modules for references to the real clock, about 14 ms
# a command in the scenarios (a seventh of their time); scipy and numpy are half of those
# modules once statistics have run, pygments, execnet and xdist some more. None of them
# reads the clock for the program or calls back into it (a clock read with one of them in
# its five nearest frames would see the real time).
freezegun.configure(extend_ignore_list=["scipy", "numpy", "pygments", "execnet", "xdist"])

PG_URL = os.environ.get("SCREENING_TEST_DATABASE_URL")
# The OS user the tests run as: the user whose roles count on SQLite.
ME = pwd.getpwuid(os.geteuid()).pw_name
WORKING_ROLES = ("staff", "clinician", "auditor")
T = TypeVar("T")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


def pytest_configure(config: pytest.Config) -> None:
    """Test folders on a RAM disk where there is one (Linux's /dev/shm): the suite makes
    thousands of small clinics, and every commit of their SQLite files waits for the disk
    otherwise. Only the controller chooses; xdist's workers take their folders below it.
    ``--basetemp`` given on the command line wins."""
    if config.option.basetemp or hasattr(config, "workerinput"):
        return
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        folder = shm / f"screening-tests-{os.getpid()}"
        config.option.basetemp = str(folder)
        config.stash[_RAM_FOLDER] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_RAM_FOLDER, None)
    if folder is not None:  # memory, not disk: nothing of it is kept after the run
        shutil.rmtree(folder, ignore_errors=True)


_RAM_FOLDER = pytest.StashKey[Path]()


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(tmp_path, monkeypatch)


def isolate(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Work in ``folder`` with no SCREENING_* variables (also for a fixture a module shares)."""
    for name in list(os.environ):
        if name.startswith("SCREENING_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(folder / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder / "home" / ".config"))
    monkeypatch.setenv("USER", "staff1")
    monkeypatch.chdir(folder)
    # `audit verify` keeps 3 items per map in memory and the rest on disk, so that every
    # test that verifies also proves the spilled path (services/plumbing/spill.py).
    monkeypatch.setattr("screening.services.plumbing.spill.CAPACITY", 3)


def run_sql(engine: Any, statement: str, **params: object) -> list[tuple]:
    """``statement`` in a transaction of its own on ``engine`` (an Engine, or a URL for a
    new one), its rows as tuples; the engine is disposed of afterwards."""
    import sqlalchemy as sa

    if isinstance(engine, str):
        engine = sa.create_engine(engine)
    try:
        with engine.begin() as connection:
            result = connection.execute(sa.text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def _pg_schema_url() -> Iterator[str]:
    import sqlalchemy as sa

    if not PG_URL:
        pytest.skip("SCREENING_TEST_DATABASE_URL is not set (.ci/run sets it)")
    schema = f"t_{secrets.token_hex(6)}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL: a SQLite file in the test's folder, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'screening.db'}"
    else:
        yield from _pg_schema_url()


@dataclass
class Clinic:
    """A clinic initialised in the test's folder; ``run`` is the CLI as a user types it."""

    folder: Path
    url: str
    runner: CliRunner = field(default_factory=CliRunner)

    def run(self, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        result = self.runner.invoke(
            app, list(args), env={"SCREENING_DATABASE_URL": self.url, **(env or {})}
        )
        if "init" in args and result.exit_code == 0 and "--help" not in args:
            # `init` makes its user the site's admin only (core/access.py); the tests
            # work as one person who also draws, records, reviews and audits.
            site = args[args.index("--site") + 1] if "--site" in args else "main"
            given = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--config"]
            config = ["--config", given[0]] if given else []
            granted = self.runner.invoke(
                app,
                [*config, "access", "grant", self.user, *WORKING_ROLES, "--site", site],
                env={"SCREENING_DATABASE_URL": self.url, **(env or {})},
            )
            assert granted.exit_code == 0, (granted.stdout, granted.stderr)
        return result

    @property
    def user(self) -> str:
        """Whose roles count: the database login on PostgreSQL, else the OS user."""
        if self.is_sqlite:
            return ME
        import sqlalchemy as sa

        return sa.make_url(self.url).username or ME

    def ok(self, *args: str):  # type: ignore[no-untyped-def]
        result = self.run(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def engine(self):  # type: ignore[no-untyped-def]
        import sqlalchemy as sa

        return sa.create_engine(self.url)

    def sql(self, statement: str, **params: object) -> list[tuple]:
        """Run SQL directly, as someone with the sqlite3 shell or psql would."""
        return run_sql(self.engine(), statement, **params)

    def drop_ledger_guard(self) -> None:
        """Remove the append-only triggers, as a determined tamperer would."""
        if self.is_sqlite:
            self.sql("DROP TRIGGER IF EXISTS ledger_no_update")
            self.sql("DROP TRIGGER IF EXISTS ledger_no_delete")
        else:
            self.sql("DROP TRIGGER IF EXISTS ledger_append_only ON ledger")


class Inits:
    """`screening init`, and the fixtures' other set-ups, once per test process and backend.

    Every test that starts from the fixtures' fresh clinic gets a copy of the config,
    keys, witness folder and database that one real `init` with the same arguments made
    in this process, in the same quarter hour (frozen clocks included): `init`'s
    migrations and commitments were a quarter of a short test's time. What `init` itself
    does is tested in test_init.py, with real inits. A fixture that goes on to enrol,
    draw or record at fixed times does it once too (``prepare``) and each test gets a copy.

    On PostgreSQL the copy is pg_dump's SQL for the schema that the real run filled,
    replayed into the test's fresh schema; where pg_dump is missing or cannot dump that
    server, every PostgreSQL clinic is set up for real.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: dict[tuple[str, Hashable], tuple[Path, str, object]] = {}
        self.pg_dump = shutil.which("pg_dump")

    def init(self, clinic: Clinic, *args: str) -> None:
        now = datetime.now(UTC)  # the test's frozen clock, if it froze one
        quarter = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
        self.prepare(clinic, ("init", args, quarter), lambda made: made.ok("init", *args))

    def prepare(self, clinic: Clinic, key: Hashable, build: Callable[[Clinic], T]) -> T:
        """``clinic`` (fresh and empty) as ``build`` leaves it; ``build``'s result.

        ``build`` runs for real once per test process, backend and ``key``, on a clinic in
        a folder (and PostgreSQL schema) of its own; later calls get a copy of that folder
        (config, keys, witness folder, SQLite file and any file ``build`` wrote) and of
        its database. So ``build`` must do the same whenever it runs: it freezes the
        clock for every command it types, and ``key`` names whatever else varies.
        """
        if not clinic.is_sqlite and self.pg_dump is None:
            return build(clinic)
        full = ("sqlite" if clinic.is_sqlite else "postgresql", key)
        if full not in self.made:
            folder = self.folder / f"made{len(self.made)}"
            folder.mkdir()
            with _working_in(folder):
                made = (self._sqlite if clinic.is_sqlite else self._pg)(folder, build)
            if made is None:
                self.pg_dump = None
                return build(clinic)
            self.made[full] = (folder, *made)
        folder, dump, result = self.made[full]
        if not clinic.is_sqlite:
            schema = clinic.url.rsplit("search_path%3D", 1)[1]
            _replay(clinic, dump.replace(_TEMPLATE_SCHEMA, schema))
        shutil.copytree(folder, clinic.folder, symlinks=True, dirs_exist_ok=True)
        return cast(T, result)

    @staticmethod
    def _sqlite(folder: Path, build: Callable[[Clinic], object]) -> tuple[str, object]:
        result = build(Clinic(folder, f"sqlite:///{folder / 'screening.db'}"))
        _not_naming(folder, (folder / "screening.db").read_bytes())
        return "", result

    def _pg(self, folder: Path, build: Callable[[Clinic], object]) -> tuple[str, object] | None:
        """pg_dump's SQL for a schema that ``build`` filled, and its result; None if
        pg_dump fails."""
        import sqlalchemy as sa

        urls = _pg_schema_url()
        try:
            url = next(urls)
            schema = url.rsplit("search_path%3D", 1)[1]
            result = build(Clinic(folder, url))
            server = sa.make_url(PG_URL).set(drivername="postgresql")
            done = subprocess.run(
                [self.pg_dump, "--inserts", "--no-owner", "--no-privileges",
                 f"--schema={schema}", server.render_as_string(hide_password=False)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
        finally:
            urls.close()
        if done.returncode != 0:
            return None
        _not_naming(folder, done.stdout.encode())
        lines = [
            line
            for line in done.stdout.splitlines()
            # psql's commands (\restrict) and the schema, which the test has made already
            if not line.startswith("\\") and not line.startswith("CREATE SCHEMA ")
        ]
        return re.sub(rf"\b{schema}\b", _TEMPLATE_SCHEMA, "\n".join(lines)), result


def _not_naming(folder: Path, database: bytes) -> None:
    """A copied database must not name the folder it was made in (the copy is elsewhere)."""
    assert str(folder).encode() not in database, f"the database names {folder}: build it per test"


_TEMPLATE_SCHEMA = "t_template_schema"


def _replay(clinic: Clinic, sql: str) -> None:
    engine = clinic.engine()
    try:
        connection = engine.raw_connection()
        try:
            connection.cursor().execute(sql)
            connection.commit()
        finally:
            connection.close()
    finally:
        engine.dispose()


@contextmanager
def _working_in(folder: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


@pytest.fixture(scope="session")
def inits(tmp_path_factory: pytest.TempPathFactory) -> Inits:
    return Inits(tmp_path_factory.mktemp("inits"))


@pytest.fixture
def clinic(backend: str, tmp_path: Path, inits: Inits) -> Clinic:
    made = Clinic(tmp_path, backend)
    inits.init(made, "--site", "main", "--timezone", "America/New_York")
    return made


def write_csv(
    path: Path, rows: list[str], header: str = "code,name,track,phase,admitted_on,medications"
) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def sample_rows(count: int) -> list[str]:
    """Synthetic clients: codes C-001..., no real names."""
    tracks = ["morning", "evening"]
    return [
        f"C-{i:03d},Test Client {i},{tracks[i % 2]},{1 + i % 3},2026-11-0{1 + i % 9},"
        + ("buprenorphine" if i % 5 == 0 else "")
        for i in range(1, count + 1)
    ]


def forge(clinic: Clinic, seq: int, edit) -> None:  # type: ignore[no-untyped-def]
    """Rewrite entry ``seq`` with ``edit(document)`` and re-chain every later entry, as
    someone rewriting history wholesale would: the hash chain alone then looks intact."""
    import json as _json

    import sqlalchemy as sa

    from screening.core.canonical import canonical_text, sha256_hex

    clinic.drop_ledger_guard()
    engine = clinic.engine()
    try:
        # One transaction: a rewrite of an early entry re-chains every later one.
        with engine.begin() as connection:
            rows = connection.execute(
                sa.text("SELECT seq, canonical FROM ledger WHERE seq >= :s ORDER BY seq"),
                {"s": seq},
            ).all()
            prev = (
                connection.execute(
                    sa.text("SELECT hash FROM ledger WHERE seq = :s"), {"s": seq - 1}
                ).scalar_one()
                if seq > 1
                else "0" * 64
            )
            changed = []
            for number, text in rows:
                document = _json.loads(text)
                if number == seq:
                    edit(document)
                document["prev"] = prev
                text = canonical_text(document)
                prev = sha256_hex(text.encode())
                changed.append({"c": text, "h": prev, "s": number})
            connection.execute(
                sa.text("UPDATE ledger SET canonical = :c, hash = :h WHERE seq = :s"), changed
            )
    finally:
        engine.dispose()

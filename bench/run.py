"""Benchmarks against their floors (DESIGN §9, issue 8), printed as one table.

    python bench/run.py [--quick] [--backend sqlite|postgresql] [--runs N]

Each figure is measured beside its floor, at three sizes where size matters. Commands run
as child processes, so that peak memory is the operating system's figure for that child
alone (``os.wait4``). Times are medians of ``--runs`` runs; each ratio is the median of
the ratios of runs measured back to back, pair by pair. Generated clinics are kept under
``bench/.data`` (ignored by git) and reused by later runs.

``--quick`` uses small sizes and one run: a smoke test that every benchmark still runs
(CI prints its figures and asserts none of them). PostgreSQL runs read the server's URL
from ``SCREENING_BENCH_DATABASE_URL`` (default: the local ``test`` database).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
PYTHON = sys.executable
SCREENING = [PYTHON, "-m", "screening"]
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass
class Run:
    seconds: float
    peak_mib: float
    output: str = ""


@dataclass
class Row:
    figure: str
    size: str
    product: list[Run] = field(default_factory=list)
    floor: list[Run] = field(default_factory=list)
    target: float | None = None
    note: str = ""

    @property
    def seconds(self) -> float:
        return statistics.median(run.seconds for run in self.product)

    @property
    def floor_seconds(self) -> float | None:
        return statistics.median(run.seconds for run in self.floor) if self.floor else None

    @property
    def ratio(self) -> float | None:
        if not self.floor:
            return None
        return statistics.median(
            p.seconds / f.seconds for p, f in zip(self.product, self.floor, strict=True)
        )

    @property
    def peak(self) -> float:
        return max(run.peak_mib for run in self.product)

    def cells(self) -> list[str]:
        ratio = self.ratio
        verdict = ""
        if ratio is not None and self.target is not None:
            verdict = "meets" if ratio <= self.target else "misses"
        return [
            self.figure,
            self.size,
            f"{self.seconds:.3f}",
            "" if self.floor_seconds is None else f"{self.floor_seconds:.3f}",
            "" if ratio is None else f"{ratio:.2f}x",
            "" if self.target is None else f"≤ {self.target}x {verdict}",
            f"{self.peak:.0f}",
            self.note,
        ]


LONG_LEDGER = 300_000  # entries; verify's longer ledgers are measured once
IMPORT_ROWS = 100_000  # the lab file `results import` is measured with
FIGURES = ("startup", "selection", "verify", "select", "import", "reads", "beacon", "fixed")
HEADINGS = ["figure", "size", "seconds", "floor s", "ratio", "target", "peak MiB", "note"]


def child(argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """One command, started from bench/measure.py: its wall time, its own peak resident
    memory (as the kernel counts it for that process), its stdout."""
    with tempfile.NamedTemporaryFile("r", suffix=".measure") as measured:
        done = subprocess.run(
            [PYTHON, "-I", "-S", str(HERE / "measure.py"), measured.name, *argv],
            capture_output=True,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(
                f"benchmark child failed ({' '.join(argv)}): {done.stderr.strip()[-800:]}"
            )
        seconds, peak_kib = measured.read().split()
    return Run(float(seconds), int(peak_kib) / 1024, done.stdout)


# --- the clinics measured ----------------------------------------------------------


@dataclass
class Clinic:
    folder: Path
    url: str | None  # None: the SQLite file beside the config
    entries: int

    @property
    def clients(self) -> int:
        """The clients kept in the program: the CLIENTS of its name, BACKEND-CLIENTSxDAYS."""
        return int(self.folder.name.rsplit("-", 1)[1].split("x")[0])

    @property
    def days(self) -> int:
        """The DAYS of its name: how long a history it was generated with."""
        return int(self.folder.name.rsplit("x", 1)[1])

    @property
    def config(self) -> Path:
        return self.folder / "screening.toml"

    def env(self) -> dict[str, str]:
        return {"SCREENING_DATABASE_URL": self.url} if self.url else {}

    def screening(self, *args: str) -> list[str]:
        return [*SCREENING, "--config", str(self.config), *args]


def clinic(backend: str, clients: int, days: int, beacon: bool = False) -> Clinic:
    """A generated clinic, made once and reused (bench/generate.py); ``beacon``: its days
    drawn with the beacon (bench/beacon.py)."""
    name = f"{backend}-{'beacon-' if beacon else ''}{clients}x{days}"
    folder = DATA / name
    marker = folder / "entries"
    url = _schema_url(name) if backend == "postgresql" else None
    if marker.exists():
        return Clinic(folder, url, int(marker.read_text()))
    shutil.rmtree(folder, ignore_errors=True)
    if url:
        _fresh_schema(name)
    print(f"generating {name} (once) ...", file=sys.stderr, flush=True)
    run = child(
        [
            PYTHON,
            str(HERE / "generate.py"),
            str(folder),
            "--clients",
            str(clients),
            "--days",
            str(days),
            *(["--db", url] if url else []),
            *(["--beacon"] if beacon else []),
        ]
    )
    entries = int(run.output.strip())
    marker.write_text(str(entries))
    print(f"  {entries} entries in {run.seconds:.0f} s", file=sys.stderr, flush=True)
    return Clinic(folder, url, entries)


def _pg_base() -> str:
    return os.environ.get("SCREENING_BENCH_DATABASE_URL", PG_DEFAULT)


def _schema_url(name: str) -> str:
    schema = "bench_" + name.replace("-", "_").replace("x", "_")
    return f"{_pg_base()}?options=-csearch_path%3D{schema}"


def _fresh_schema(name: str) -> None:
    import sqlalchemy as sa

    schema = "bench_" + name.replace("-", "_").replace("x", "_")
    engine = sa.create_engine(_pg_base())
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine.dispose()


# --- the figures -------------------------------------------------------------------


def selection(sizes: Sequence[int], runs: int) -> list[Row]:
    rows = []
    for size in sizes:
        row = Row("selection maths", f"{size:,} clients", target=1.5)
        for _ in range(runs):
            out = child([PYTHON, str(HERE / "run.py"), "--child", "selection", str(size)])
            product, floor = json.loads(out.output)
            row.product.append(Run(product, out.peak_mib))
            row.floor.append(Run(floor, out.peak_mib))
        rows.append(row)
    return rows


def _selection_child(size: int) -> None:
    """compose() for ``size`` clients against a bare HMAC-SHA256 loop over the same uids."""
    import hmac
    import uuid

    from screening.core.canonical import lp
    from screening.core.selection import Candidate, DrawPolicy, compose, day_seed

    day = date(2026, 11, 23)  # a Monday
    policy = DrawPolicy.from_body(_policy_body())
    uids = [str(uuid.UUID(int=n * 7919 + 1, version=4)) for n in range(size)]
    candidates = [
        Candidate(uid, ("morning", "evening")[n % 2], str(1 + n % 3), date(2026, 9, 1), False, None)
        for n, uid in enumerate(uids)
    ]
    seed = day_seed(b"k" * 32, "main", day)
    tag = lp("screening/v1/client")
    started = time.perf_counter()
    compose(seed, day, policy, candidates)
    product = time.perf_counter() - started
    started = time.perf_counter()
    for uid in uids:
        int.from_bytes(hmac.digest(seed, tag + lp(uid), "sha256"), "big")
    floor = time.perf_counter() - started
    print(json.dumps([product, floor]))


def _policy_body() -> dict[str, object]:
    import screening
    from screening import config
    from screening.core.policy import policy_body

    example = Path(screening.__file__).parent / "data" / "config.example.toml"
    settings, _ = config.parse(config.read_toml(example), example)
    return policy_body(settings)  # type: ignore[arg-type]


def verify(clinics: Sequence[Clinic], runs: int) -> list[Row]:
    rows = []
    for made in clinics:
        row = Row("audit verify", f"{made.entries:,} entries", target=5.0)  # issue 21
        # A verify of a million entries takes minutes: one run of it (and its floor).
        for _ in range(runs if made.entries < LONG_LEDGER else 1):
            row.product.append(child(made.screening("audit", "verify"), env=made.env()))
            row.floor.append(
                child(
                    [PYTHON, str(HERE / "run.py"), "--child", "read-and-hash", str(made.config)],
                    env=made.env(),
                )
            )
        row.note = f"floor peak {max(r.peak_mib for r in row.floor):.0f} MiB"
        if len(row.product) == 1 and runs > 1:
            row.note += "; 1 run"
        rows.append(row)
    return rows


def beacon_verify(backend: str, clients: int, days: int, runs: int) -> list[Row]:
    """`audit verify` of a year drawn with the beacon, against the same year (same seed,
    same clients) drawn without it: what checking each day's round costs. Both run through
    bench/beacon.py, which puts the bench's chain in quicknet's place."""
    plain = clinic(backend, clients, days)
    drawn = clinic(backend, clients, days, beacon=True)
    row = Row("audit verify, beacon", f"{drawn.entries:,} entries, {days} days")
    command = [PYTHON, str(HERE / "beacon.py"), "screening", "--config"]
    for _ in range(runs):
        row.product.append(child([*command, str(drawn.config), "audit", "verify"], drawn.env()))
        row.floor.append(child([*command, str(plain.config), "audit", "verify"], plain.env()))
    row.note = f"floor: the year without the beacon, {plain.entries:,} entries"
    return [row]


# Tables `audit verify` reads, in the order it reads them, each by the key it reads in.
VERIFY_TABLES = (
    ("ledger", "seq"),
    ("sites", "name"),
    ("clients", "ledger_seq"),
    ("holds", "ledger_seq"),
    ("closures", "ledger_seq"),
    ("draws", "created_seq"),
    ("screenings", "created_seq"),
    ("results", "created_seq"),
    ("result_versions", "seq"),
    ("analyte_results", "version_id"),
    ("draw_amendments", "ledger_seq"),
    ("site_zones", "ledger_seq"),
    ("staff_names", "id"),
    ("access_grants", "granted_seq"),
    ("consents", "added_seq"),
    ("restrictions", "added_seq"),
    ("disclosures", "seq"),
)


def _hash_rows(rows: Any) -> int:
    """SHA-256 of each row's bytes (its values as text, joined), one update a row."""
    count = 0
    for row in rows:
        hashlib.sha256("\x1f".join(map(str, row)).encode()).hexdigest()
        count += 1
    return count


def _psycopg(url: str):  # type: ignore[no-untyped-def]
    """The bare driver's connection to a SQLAlchemy PostgreSQL URL (its schema option
    kept)."""
    from urllib.parse import parse_qs, urlsplit

    import psycopg

    parts = urlsplit(url.replace("postgresql+psycopg", "postgresql"))
    options = parse_qs(parts.query).get("options", [None])[0]
    return psycopg.connect(
        host=parts.hostname,
        port=parts.port,
        user=parts.username,
        dbname=parts.path.lstrip("/"),
        options=options,
    )


def _read_and_hash_child(config_file: str) -> None:
    """The floor of verify: read every row verify reads (the ledger, then every table it
    compares with it, in the same order) with the bare driver and SHA-256 each row's
    bytes; nothing of screening, SQLAlchemy or SQLModel is imported."""
    import tomllib

    path = Path(config_file)
    url = (
        os.environ.get("SCREENING_DATABASE_URL")
        or tomllib.loads(path.read_text())["database"]["url"]
    )
    queries = [f"SELECT * FROM {table} ORDER BY {key}" for table, key in VERIFY_TABLES]
    count = 0
    if url.startswith("sqlite"):
        import sqlite3

        file = Path(url.removeprefix("sqlite:///"))
        connection = sqlite3.connect(file if file.is_absolute() else path.parent / file)
        for query in queries:
            count += _hash_rows(connection.execute(query))
    else:
        with _psycopg(url) as connection:
            for number, query in enumerate(queries):
                with connection.cursor(name=f"bench{number}") as cursor:
                    cursor.itersize = 2000
                    cursor.execute(query)
                    count += _hash_rows(cursor)
    print(count)


def _verify_curve_child(config_file: str) -> None:
    """Resident memory as verify walks the ledger: (entries read, MiB) every 2,000."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from screening import config
    from screening.db.engine import Database, resolve_url
    from screening.services.audit.walk import verify as run_verify
    from screening.services.plumbing.context import Actor, Context

    settings = config.load(Path(config_file))
    url = os.environ.get("SCREENING_DATABASE_URL") or settings.database_url
    now = datetime.now(UTC)
    ctx = Context(
        settings, Database(resolve_url(url, settings.folder)), Actor("bench"), now, now.date()
    )
    page = os.sysconf("SC_PAGE_SIZE")
    curve: list[tuple[int, float]] = []

    def resident() -> float:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * page / 2**20

    report = run_verify(replace(ctx), progress=lambda seq: curve.append((seq, resident())))
    curve.append((report.entries, resident()))
    print(json.dumps({"ok": report.ok, "curve": curve}))


def startup(runs: int) -> list[Row]:
    row = Row("screening --help", "", target=1.5)
    bare = HERE / "bare_typer.py"
    for _ in range(runs):
        row.product.append(child([*SCREENING, "--help"]))
        row.floor.append(child([PYTHON, str(bare), "--help"]))
    return [row]


def select(backend: str, clients: int, days: int, runs: int) -> list[Row]:
    """`select --late DAY` (a whole draw: pool, scores, screenings, reveal) at a site of
    ``clients`` clients, each run a day the generator left undrawn, against
    `python -c "import sqlmodel"`."""
    made = clinic(backend, clients, days)
    free = _undrawn(made)
    if len(free) < runs + 1:  # earlier benchmark runs drew them: make the clinic again
        (made.folder / "entries").unlink()
        made = clinic(backend, clients, days)
        free = _undrawn(made)
    if len(free) < runs + 1:
        raise SystemExit(
            f"{made.folder.name} has {len(free)} weekdays without a draw, {runs + 1} are "
            "needed: give the site more days, or fewer --runs"
        )
    row = Row("select (a late draw)", f"{clients:,} clients", target=1.5)
    for day in free[:runs]:
        row.product.append(
            child(made.screening("select", "--late", day, "--reason", "benchmark"), env=made.env())
        )
        row.floor.append(child([PYTHON, "-c", "import sqlmodel"]))
    # One more draw in-process, timing the statements it sends: the target allows the
    # command's own queries on top of 1.5x the import.
    late = ["select", "--late", free[runs], "--reason", "benchmark"]
    timed = child(
        [PYTHON, str(HERE / "run.py"), "--child", "db-time", str(made.config), *late],
        env=made.env(),
    )
    statements, in_database = timed.output.split()
    beyond = statistics.median(
        (p.seconds - float(in_database)) / f.seconds
        for p, f in zip(row.product, row.floor, strict=True)
    )
    row.note = (
        f"{statements} SQL statements taking {float(in_database):.3f} s; without them {beyond:.2f}x"
    )
    return [row]


def fixed_cost(runs: int) -> list[Row]:
    """`clients list` on 20 clients against `import sqlmodel`, and the parts of its time
    (bench/fixed.py): the fixed cost that `select` and `results import` pay too."""
    import fixed

    config = fixed.clinic(DATA / "fixed-20", PYTHON)
    row = Row("clients list", f"{fixed.CLIENTS} clients", target=1.5)
    for _ in range(runs):
        row.product.append(child([*SCREENING, "--config", str(config), "clients", "list"]))
        row.floor.append(child([PYTHON, "-c", "import sqlmodel"]))
    rows = [row]
    measured = child([PYTHON, str(HERE / "run.py"), "--child", "fixed-parts", str(config)])
    for part, seconds in json.loads(measured.output).items():
        rows.append(Row(f"  {part}", "", product=[Run(seconds, measured.peak_mib)]))
    return rows


def _undrawn(made: Clinic) -> list[str]:
    out = child(
        [PYTHON, str(HERE / "run.py"), "--child", "undrawn", str(made.config)], env=made.env()
    )
    return out.output.split()


def _undrawn_child(config_file: str) -> None:
    """Weekdays inside the generated history that have no draw yet (a weekend has no
    meeting day: its draw would select nobody)."""
    import sqlalchemy as sa

    from screening import config
    from screening.db.engine import resolve_url

    settings = config.load(Path(config_file))
    url = resolve_url(
        os.environ.get("SCREENING_DATABASE_URL") or settings.database_url, settings.folder
    )
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        drawn = {str(d)[:10] for (d,) in connection.execute(sa.text("SELECT date FROM draws"))}
    engine.dispose()
    if not drawn:
        return
    day, last = date.fromisoformat(min(drawn)), date.fromisoformat(max(drawn))
    while day < last:
        if day.isoformat() not in drawn and day.weekday() < 5:
            print(day.isoformat())
        day += timedelta(days=1)


def results_import(made: Clinic, runs: int) -> list[Row]:
    """`results import --dry-run` of a lab file of up to IMPORT_ROWS rows, the reports on
    specimens still awaiting them (all the work, rolled back), against the driver's bare
    executemany of the same rows into a scratch table."""
    report = made.folder / "lab-report.csv"
    rows = child(
        [
            PYTHON,
            str(HERE / "run.py"),
            "--child",
            "lab-csv",
            str(made.config),
            str(report),
            str(IMPORT_ROWS),
        ],
        env=made.env(),
    ).output.strip()
    row = Row(
        "results import (dry run)", f"{int(rows):,} rows; {made.entries:,} entries", target=3.0
    )
    for _ in range(runs):
        row.product.append(
            child(made.screening("results", "import", str(report), "--dry-run"), env=made.env())
        )
        row.floor.append(
            child(
                [
                    PYTHON,
                    str(HERE / "run.py"),
                    "--child",
                    "bare-insert",
                    str(made.config),
                    str(report),
                ],
                env=made.env(),
            )
        )
    return [row]


def _before_today(made: Sequence[Clinic]) -> Clinic:
    """The largest clinic whose history ends before today: `results import` writes, and a
    writing command refuses a clock behind the ledger's last entry (a clinic of 5,300
    days from 2024 ends in 2038)."""
    start = date(2024, 1, 1)  # bench/generate.py's START
    today = datetime.now(UTC).date()
    ended = [m for m in made if start + timedelta(days=m.days) < today]
    return max(ended or made[:1], key=lambda m: m.entries)


def _lab_csv_child(config_file: str, out: str, limit: str) -> None:
    """A lab report for specimens still awaiting one, a row per analyte, whole specimens
    up to ``limit`` rows."""
    import csv

    import sqlalchemy as sa

    from screening import config
    from screening.db.engine import Database, resolve_url
    from screening.db.models import Result
    from screening.services.results.lab_import import COLUMNS

    settings = config.load(Path(config_file))
    url = os.environ.get("SCREENING_DATABASE_URL") or settings.database_url
    database = Database(resolve_url(url, settings.folder))
    count = 0
    with database.read() as session, open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        waiting = session.execute(
            sa.select(Result.specimen_id, Result.collected_at, Result.panel)
            .where(
                Result.specimen_id.is_not(None)  # type: ignore[union-attr]
            )
            .order_by(Result.id)
        ).all()
        for specimen, collected, panel in waiting:
            if count + len(settings.panels[panel].analytes) > int(limit):
                break
            local = collected.astimezone(settings.zone).strftime("%Y-%m-%dT%H:%M")
            for code in settings.panels[panel].analytes:
                writer.writerow(
                    [specimen, local, code, "negative", "", "", "LC-MS/MS", f"R-{specimen}"]
                )
                count += 1
    database.dispose()
    print(count)


def _bare_insert_child(config_file: str, report: str) -> None:
    """The floor of `results import`: the same rows, read with csv, inserted with the
    driver's executemany into a scratch table; no screening, SQLAlchemy or SQLModel."""
    import csv
    import tomllib

    with open(report, newline="", encoding="utf-8") as handle:
        rows = [tuple(line) for line in csv.reader(handle)][1:]
    path = Path(config_file)
    url = (
        os.environ.get("SCREENING_DATABASE_URL")
        or tomllib.loads(path.read_text())["database"]["url"]
    )
    create = (
        "CREATE TEMPORARY TABLE lab_rows (specimen_id TEXT, collected_at TEXT, analyte TEXT, "
        "outcome TEXT, level TEXT, cutoff TEXT, method TEXT, lab_report_id TEXT)"
    )
    if url.startswith("sqlite"):
        import sqlite3

        file = Path(url.removeprefix("sqlite:///"))
        connection = sqlite3.connect(file if file.is_absolute() else path.parent / file)
        connection.execute(create)
        connection.executemany("INSERT INTO lab_rows VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        connection.rollback()
    else:
        with _psycopg(url) as connection:
            connection.execute(create)
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO lab_rows VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows
                )
            connection.rollback()
    print(len(rows))


def reads(made: Clinic, runs: int) -> list[Row]:
    """`timeline` of one client and `report team`: time and SQL statements."""
    rows = []
    for figure, argv in (
        ("timeline (one client)", ["timeline", "C-000001", "--format", "json"]),
        ("report team", ["report", "team", "--format", "json"]),
    ):
        row = Row(figure, f"{made.clients:,} clients; {made.entries:,} entries")
        for _ in range(runs):
            row.product.append(
                child(
                    [PYTHON, str(HERE / "run.py"), "--child", "count", str(made.config), *argv],
                    env=made.env(),
                )
            )
        row.note = f"{row.product[-1].output.strip()} SQL statements"
        rows.append(row)
    return rows


def _db_time_child(config_file: str, *argv: str) -> None:
    """Run a command in-process: how many statements it sends, and the seconds they take
    (from before each execute to after it, commits aside)."""
    import contextlib
    import io

    import sqlalchemy as sa
    from sqlalchemy import event

    from screening.cli import app

    started: list[float] = []
    spent = [0.0, 0]

    def before(*_: object) -> None:
        started.append(time.perf_counter())

    def after(*_: object) -> None:
        spent[0] += time.perf_counter() - started.pop()
        spent[1] += 1

    event.listen(sa.engine.Engine, "before_cursor_execute", before)
    event.listen(sa.engine.Engine, "after_cursor_execute", after)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        app(["--config", config_file, *argv], standalone_mode=False)
    print(spent[1], spent[0])


def _count_child(config_file: str, *argv: str, plans: bool = False) -> None:
    """Run a command in-process, counting the SQL statements it sends; with ``plans``,
    print each SELECT's query plan instead (SQLite's EXPLAIN QUERY PLAN, PostgreSQL's
    EXPLAIN), to show which indexes it uses."""
    import contextlib
    import io

    import sqlalchemy as sa
    from sqlalchemy import event

    from screening import config
    from screening.cli import app
    from screening.db.engine import resolve_url

    sent: list[tuple[str, object]] = []

    def counted(
        _conn: object, _cursor: object, statement: str, parameters: object, *_: object
    ) -> None:
        sent.append((statement, parameters))

    event.listen(sa.engine.Engine, "before_cursor_execute", counted)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        app(["--config", config_file, *argv], standalone_mode=False)
    if not plans:
        print(len(sent))
        return
    event.remove(sa.engine.Engine, "before_cursor_execute", counted)
    settings = config.load(Path(config_file))
    url = resolve_url(
        os.environ.get("SCREENING_DATABASE_URL") or settings.database_url, settings.folder
    )
    engine = sa.create_engine(url)
    explain = "EXPLAIN QUERY PLAN " if url.get_backend_name() == "sqlite" else "EXPLAIN "
    with engine.connect() as connection:
        for statement, parameters in sent:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            plan = connection.exec_driver_sql(explain + statement, parameters).all()  # type: ignore[arg-type]
            print(" ".join(statement.split())[:110])
            for row in plan:
                print("    " + str(row[-1]))
    engine.dispose()


# --- the table ---------------------------------------------------------------------


def table(rows: Sequence[Row]) -> str:
    cells = [HEADINGS, *[row.cells() for row in rows]]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADINGS))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |"
        for line in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (default 5)")
    parser.add_argument("--only", default=None, help=f"some figures: {','.join(FIGURES)}")
    parser.add_argument(
        "--clinics",
        default=None,
        help="clinics for verify, CLIENTSxDAYS,... (default 1000x40,1000x500,1000x5300); "
        "the last is also the one of import and reads",
    )
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:  # one measurement, in its own process
        name, *args = argv[1:]
        {
            "selection": lambda: _selection_child(int(args[0])),
            "read-and-hash": lambda: _read_and_hash_child(args[0]),
            "undrawn": lambda: _undrawn_child(args[0]),
            "count": lambda: _count_child(*args),
            "db-time": lambda: _db_time_child(*args),
            "plans": lambda: _count_child(*args, plans=True),
            "lab-csv": lambda: _lab_csv_child(*args),
            "bare-insert": lambda: _bare_insert_child(*args),
            "verify-curve": lambda: _verify_curve_child(args[0]),
            "fixed-parts": lambda: __import__("fixed").parts_child(args[0], "clients", "list"),
        }[name]()
        return 0
    options = parser.parse_args(argv)
    runs = options.runs or (1 if options.quick else 5)
    DATA.mkdir(exist_ok=True)
    # --quick is CI's smoke test: every figure runs, on clinics as small as still make
    # each one mean something (the whole CI run has 10 minutes on 2 cores).
    if options.quick:
        selection_sizes, clinics, site = (200, 2_000, 20_000), ((20, 10), (20, 20)), (50, 90)
    else:
        selection_sizes = (2_000, 20_000, 200_000)
        clinics, site = ((1000, 40), (1000, 500), (1000, 5300)), (2_000, 90)
    if options.clinics:
        clinics = tuple(
            (int(clients), int(days))
            for clients, days in (size.split("x") for size in options.clinics.split(","))
        )
    started = time.perf_counter()
    __import__("fixed").compile_package()  # every command runs from bytecode, as installed
    wanted = set(options.only.split(",")) if options.only else set(FIGURES)
    unknown = wanted - set(FIGURES)
    if unknown:
        parser.error(
            f"--only: no figure {', '.join(sorted(unknown))}; figures: {', '.join(FIGURES)}"
        )
    made = (
        [clinic(options.backend, clients, days) for clients, days in clinics]
        if wanted & {"verify", "reads", "import"}
        else []
    )
    rows: list[Row] = []
    if "startup" in wanted:
        rows += startup(runs)
    if "selection" in wanted:
        rows += selection(selection_sizes, runs)
    if "verify" in wanted:
        rows += verify(made, runs)
    if "select" in wanted:
        rows += select(options.backend, *site, runs)
    if "import" in wanted:
        rows += results_import(_before_today(made), runs)
    if "reads" in wanted:
        rows += reads(made[-1], runs)
    if "fixed" in wanted:
        rows += fixed_cost(runs)
    if "beacon" in wanted:
        rows += beacon_verify(options.backend, *((20, 20) if options.quick else (300, 365)), runs)
    print(f"backend {options.backend}; {runs} run(s) per figure; {os.cpu_count()} cores")
    print(table(rows))
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

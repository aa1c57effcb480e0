"""A synthetic clinic's history, written through the services layer with a simulated clock.

Every entry is made the way staff would make it (admissions, discharges, phase changes,
holds, closures, the daily draw, results, no-shows swept at their deadline, for-cause
screenings and lab amendments), so the ledger it leaves is one `audit verify` accepts.
One specimen in five is sent to the lab and its report never comes: bench/run.py imports
those reports (as a dry run) to measure `results import`.
The draw is missed on four days a month (the 7th, 13th, 20th and 27th), as if the server
had been down: `report reconcile` shows them as "no draw", and the benchmark of
`select` draws them late.
All names and codes are synthetic.

Each simulated day is one transaction (``Database.batch``), and the day's specimens are
entered together (``results.record_many``), as a clinic entering the day's cups at once
would: on this project's 2-core machine that writes about 1,000 entries a second on
SQLite, so a ledger of 10^6 entries (1,000 clients for 4,000 days) takes about 17 minutes
(docs/benchmarks.md, "The generator").

    python bench/generate.py DIR [--clients 300] [--days 365] [--db URL] [--seed 1] [--more]
        [--beacon] [--entries N]

``--entries N`` stops after the first day that leaves at least N entries in the ledger
(with no ``--days``, however many days that takes).

``--beacon`` draws each day with the beacon (bench/beacon.py: a chain of the bench's own
and a relay on 127.0.0.1), from the day after the first; the draw is made at 06:31, once
the day's round (the first after run_at, 06:30) is out.

prints the number of ledger entries written. ``DIR`` receives the config, the key file
and (without ``--db``) the SQLite database.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import random
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

TIMEZONE = "America/New_York"
ZONE = ZoneInfo(TIMEZONE)
START = date(2024, 1, 1)
STAY_DAYS = 90  # an IOP stay, admission to discharge
MISSED = (7, 13, 20, 27)  # days of the month the draw is missed (drawn late, or never)
LAB_SHARE = 0.2  # specimens sent to the lab, whose report bench/run.py imports
DRUGS = ("THC", "COC", "OPI", "AMP", "MAMP", "BZO", "FEN", "BUP")


@dataclasses.dataclass
class Clinic:
    folder: Path
    url: str | None
    rng: random.Random
    active: dict[str, date] = dataclasses.field(default_factory=dict)  # code -> admitted
    admitted: int = 0
    settings: object = None
    # The database login on PostgreSQL (the user whose roles count there), read once.
    login: str | None = None
    login_read: bool = False
    beacon: bool = False  # draws wait for the beacon (bench/beacon.py)

    def context(self, day: date, hour: int, minute: int = 0):  # type: ignore[no-untyped-def]
        from screening import config
        from screening.services.plumbing.context import Actor, Context

        if self.settings is None:
            self.settings = config.load(self.folder / "screening.toml")
        settings = self.settings
        database = _database(self.url or settings.database_url, settings.folder)
        now = datetime.combine(day, time(hour, minute), ZONE).astimezone(UTC)
        if not self.login_read:
            from screening.services.access import login_of

            self.login, self.login_read = login_of(database), True
        return Context(settings, database, Actor(_me(), "Staff A", self.login), now, day)


_DATABASES: dict[str, object] = {}


def _database(url: str, folder: Path):  # type: ignore[no-untyped-def]
    """One engine per URL for the whole run, as a long-running process would keep."""
    from screening.db.engine import Database, resolve_url

    if url not in _DATABASES:
        database = _DATABASES[url] = Database(resolve_url(url, folder))
        if database.is_sqlite:
            _bulk_settings(database.engine)
    return _DATABASES[url]


def _bulk_settings(engine) -> None:  # type: ignore[no-untyped-def]
    """This bench tool's own SQLite settings, never the program's: commits that wait for
    the disk once per checkpoint rather than once per transaction (synchronous=NORMAL:
    a crash of the computer may lose the last days written, never break the file), and a
    page cache of 256 MiB for the indexes of a ledger of 10^7 entries. The commands the
    benchmarks time open their own engines, with the program's settings."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _bulk(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA cache_size=-262144")
        cursor.close()


@functools.cache
def _me() -> str:
    """The OS user running the benchmarks: the clinic is theirs (init makes them its
    admin) and the commands it times run as them."""
    import os
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def initialise(folder: Path, url: str | None, day: date) -> None:
    from screening.services import access
    from screening.services.plumbing.context import Actor
    from screening.services.site.setup import initialise as init

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.combine(day, time(5), ZONE).astimezone(UTC)
    made = init(folder / "screening.toml", "main", TIMEZONE, url, Actor(_me(), "Staff A"), now)
    # The user (the database login on PostgreSQL) draws, records, reads and audits.
    clinic = Clinic(folder, url, None)  # type: ignore[arg-type]
    access.grant(clinic.context(day, 5, 10), made.admin, ["staff", "clinician", "auditor"])


def days(start: date, count: int) -> Iterator[date]:
    for offset in range(count):
        yield start + timedelta(days=offset)


def admit(clinic: Clinic, day: date, admitted_on: date, hour: int = 17, minute: int = 30) -> None:
    from screening.services import clients

    clinic.admitted += 1
    code = f"C-{clinic.admitted:06d}"
    track = clinic.rng.choice(("morning", "evening"))
    clients.add(
        clinic.context(day, hour, minute),
        code,
        track,
        "1",
        name=f"Synthetic Client {clinic.admitted}",
        admitted=admitted_on.isoformat(),
    )
    clinic.active[code] = admitted_on


def one_day(clinic: Clinic, day: date, target: int) -> None:
    from screening.services import clients, draws
    from screening.services.results import for_cause
    from screening.services.results.checks import Collection
    from screening.services.results.findings import Findings
    from screening.services.results.recording import record_many

    rng = clinic.rng
    if day.month == 12 and day.day == 20:  # the year's holidays, announced ahead
        for holiday in (date(day.year, 12, 25), date(day.year + 1, 1, 1)):
            draws.close(clinic.context(day, 6), holiday.isoformat(), "holiday")
    # On MISSED days the server was down: no draw (bench/run.py draws some late).
    at = (6, 31) if clinic.beacon else (6, 30)  # the round is out a few seconds after 06:30
    view = None if day.day in MISSED else draws.select_day(clinic.context(day, *at))
    # The day's specimens, entered together in the afternoon; about one in twenty is
    # missed and swept as a no-show.
    collections: list[Collection] = []
    for row in view.rows if view else ():
        if row["status"] != "pending" or rng.random() < 0.05:
            continue
        code = row["code"]
        collected = f"{day.isoformat()}T{rng.randint(8, 12):02d}:{rng.randint(0, 59):02d}"
        if rng.random() < LAB_SHARE:  # awaiting the lab's report
            collections.append(
                Collection(
                    code,
                    Findings(),
                    collected_at=collected,
                    sent_to_lab=True,
                    specimen_id=f"S{day:%Y%m%d}{code}",
                    method="lab",
                )
            )
            continue
        positive = [rng.choice(DRUGS)] if rng.random() < 0.15 else []
        # The rest of the panel: negative.
        collections.append(Collection(code, Findings(positive=positive), collected_at=collected))
    recorded = record_many(clinic.context(day, 14), collections) if collections else []
    confirmed = [
        (answer["result"], collection.code, collection.findings.positive)
        for collection, answer in zip(collections, recorded, strict=True)
        if collection.findings.positive and rng.random() < 0.5
    ]
    if confirmed:
        confirm(clinic.context(day, 16), day, confirmed)
    if rng.random() < 0.05 and clinic.active:  # a for-cause screening, collected at once
        code = rng.choice(sorted(clinic.active))
        (asked,) = for_cause(clinic.context(day, 16, 30), [code], "observed behaviour")
        # Named by its number: a screening drawn today may still be open beside it.
        at = f"{day.isoformat()}T16:40"
        given = Collection(code, Findings(), screening_id=asked["screening"], collected_at=at)
        record_many(clinic.context(day, 16, 45), [given])
    for code, admitted_on in sorted(clinic.active.items()):
        stay = (day - admitted_on).days
        if stay >= STAY_DAYS and rng.random() < 0.1:
            clients.discharge(clinic.context(day, 17), code, reason="completed")
            del clinic.active[code]
        elif stay in (30, 60):
            clients.update(clinic.context(day, 17), code, phase=str(stay // 30 + 1))
        elif rng.random() < 0.002:
            end = day + timedelta(days=rng.randint(1, 7))
            clients.hold(clinic.context(day, 17), code, day.isoformat(), end.isoformat(), "travel")
    while len(clinic.active) < target:
        admit(clinic, day, day)


def confirm(ctx, day: date, confirmed: list[tuple[int, str, list[str]]]) -> None:  # type: ignore[no-untyped-def]
    """The lab's confirmations of the day's positive screens, come back together: one
    amendment each (its own version and ledger entry), written in one transaction the
    way `results import` writes a lab's file (apply_amendment with the current versions
    read once, the new versions stored together), not one command each."""
    from screening.db.models import Result
    from screening.services.records.upkeep import writing
    from screening.services.results.amendments import apply_amendment
    from screening.services.results.findings import Findings
    from screening.services.results.versions import current_versions, store_versions

    with writing(ctx) as (session, writer):
        results = {number: session.get_one(Result, number) for number, _, _ in confirmed}
        now = current_versions(session, list(results.values()))
        later: list[object] = []
        for number, code, positive in confirmed:
            now[number] = apply_amendment(
                session,
                writer,
                ctx,
                results[number],
                "lab_confirmation",
                Findings(positive=positive, confirmed=True),
                None,
                f"R-{day:%Y%m%d}-{code}",
                now=now[number],
                later=later,  # type: ignore[arg-type]
            )
        store_versions(session, later)  # type: ignore[arg-type]


def generate(
    folder: Path,
    clients: int,
    days_count: int,
    url: str | None = None,
    seed: int = 1,
    more: bool = False,
    beacon: bool = False,
    entries: int | None = None,
) -> int:
    clinic = Clinic(folder, url, random.Random(seed))  # noqa: S311 (synthetic data, not keys)
    clinic.beacon = beacon
    relay = None
    if beacon:
        import beacon as bench_beacon  # bench/beacon.py, beside this file

        relay = bench_beacon.Relay(bench_beacon.install().chain_hash)
    if more:
        if relay is not None:
            bench_beacon.configure(folder / "screening.toml", relay)
        database = clinic.context(START, 6).database
        first = resume(clinic, database)
    else:
        initialise(folder, url, START)
        if relay is not None:
            bench_beacon.configure(folder / "screening.toml", relay)
        database = clinic.context(START, 6).database
        first = START
        # Each simulated day is one transaction (Database.batch): the services run as
        # they do for staff, but commit once a day, not once a command.
        with database.batch():
            for n in range(clients):  # the first cohort, admitted over the months before
                admitted_on = START - timedelta(days=n * STAY_DAYS // max(clients, 1))
                admit(clinic, START, admitted_on, hour=5, minute=30)
    from screening.services.plumbing.ledger import head

    for number, day in enumerate(days(first, days_count), 1):
        with database.batch():
            one_day(clinic, day, clients)
        if not database.is_sqlite and number % 30 == 0:
            _analyze(database)
        if entries is not None:
            with database.read() as session:
                if (head(session) or (0, ""))[0] >= entries:
                    break
    if relay is not None:
        relay.close()
    with database.read() as session:
        last = head(session)
    if not database.is_sqlite:
        _analyze(database)
    return last[0] if last else 0


def _analyze(database) -> None:  # type: ignore[no-untyped-def]
    """The planner's statistics, as autovacuum gathers them on a server that runs for
    years (this project's CI server runs with autovacuum off). Written in one go, the
    tables would have none: the planner then reads a million analyte rows where an index
    would take a few, and the overdue sweep's earliest deadline (clients joined to their
    pending screenings) took seconds a query by 60,000 entries."""
    with database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


def resume(clinic: Clinic, database) -> date:  # type: ignore[no-untyped-def]
    """Pick up a generated clinic where it stopped: its clients still in the program, and
    the day after the last one simulated."""
    import sqlalchemy as sa

    from screening.db.models import Client, LedgerRow

    with database.read() as session:
        enrolled = session.execute(sa.select(Client.code, Client.admitted_on, Client.status)).all()
        last = session.execute(sa.select(sa.func.max(LedgerRow.at))).scalar_one()
    clinic.active = {code: on for code, on, status in enrolled if status == "active"}
    clinic.admitted = max(int(code.removeprefix("C-")) for code, _, _ in enrolled)
    if last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    return last.astimezone(ZONE).date() + timedelta(days=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--days", type=int, default=None, help="365, or no limit with --entries")
    parser.add_argument(
        "--entries",
        type=int,
        default=None,
        help="stop after the first day that leaves the ledger with at least N entries",
    )
    parser.add_argument("--db", default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--more", action="store_true", help="go on with the clinic in DIR for --days more days"
    )
    parser.add_argument(
        "--beacon", action="store_true", help="each day drawn with the beacon (bench/beacon.py)"
    )
    options = parser.parse_args(argv)
    if options.days is None:
        options.days = 365 if options.entries is None else 10**6
    entries = generate(
        options.folder,
        options.clients,
        options.days,
        options.db,
        options.seed,
        options.more,
        options.beacon,
        options.entries,
    )
    print(entries)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The daily draw over time: a simulated year, two `select`s at once, calendar edges.

Issue 3, "done when": (a) over a simulated year of 300 clients in 3 phases on 2 tracks,
random selection runs at the policy's rate per phase and per weekday (within 3 standard
errors), the interval floor holds exactly as DESIGN §5 defines it, and closures and holds
keep clients out of the pool; (b) two `select` processes started together record one
draw and both print it; (c) a month end, both DST changes and 29 February each get
exactly one draw, made with the key of the right period.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import math
import os
import subprocess
import sys
import time as wall
import uuid
from calendar import monthrange
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from screening.core.selection import hash_times, key_matches_anchor
from tests.conftest import Clinic, write_csv

TIMEZONE = "America/New_York"
ZONE = ZoneInfo(TIMEZONE)
SITE = "main"

# The example config's policy (screening/data/config.example.toml), restated here so the
# expectations below do not take the product's own reading of the config on trust.
MEETS = {"morning": frozenset({0, 2, 4}), "evening": frozenset({1, 3})}  # Monday = 0
TESTS_PER_WEEK = {"1": Fraction(2), "2": Fraction(1), "3": Fraction(1, 2)}
MAX_GAP: dict[str, int | None] = {"1": 14, "2": 21, "3": None}
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def policy_p(phase: str, track: str, calendar: bool = False) -> Fraction:
    """DESIGN §5: tests a week over the days that count in a week, capped at 1."""
    days = 7 if calendar else len(MEETS[track])
    return min(TESTS_PER_WEEK[phase] / days, Fraction(1))


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ZONE)


def as_date(value: Any) -> date:
    """SQLite hands dates back as text through a raw query, PostgreSQL as dates."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def period(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def use_calendar_days(clinic: Clinic) -> None:
    """Every day counts (treatment-court style), so weekend dates have a pool too."""
    config = clinic.folder / "screening.toml"
    text = config.read_text(encoding="utf-8")
    assert '\ndays = "meeting"\n' in text
    config.write_text(text.replace('\ndays = "meeting"\n', '\ndays = "calendar"\n'), "utf-8")


def ledger_documents(clinic: Clinic, kind: str) -> list[dict[str, Any]]:
    return [
        json.loads(text)
        for (text,) in clinic.sql(
            "SELECT canonical FROM ledger WHERE kind = :kind ORDER BY seq", kind=kind
        )
    ]


def lp(value: str | bytes) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return len(data).to_bytes(4, "big") + data


def drawn_at_random(key: bytes, day: date, uid: str, p: Fraction) -> bool:
    """DESIGN §5 written out again from the text: day seed, score, ``X * den < num * 2^256``."""
    seed = hmac.digest(
        key,
        lp("screening/v1/day") + lp(SITE) + lp(day.isoformat()) + lp("none") + lp(b""),
        "sha256",
    )
    x = int.from_bytes(hmac.digest(seed, lp("screening/v1/client") + lp(uid), "sha256"), "big")
    return x * p.denominator < p.numerator * (1 << 256)


# --- (a) a simulated year -----------------------------------------------------------

YEAR_START = date(2027, 1, 1)  # a Friday; 2027 has both DST changes and no leap day
SETUP_DAY = date(2026, 12, 31)
CLIENTS = 300
DAYS = 365


@dataclass(frozen=True)
class SimClient:
    code: str
    name: str
    track: str
    phase: str
    admitted_on: date


def roster() -> list[SimClient]:
    """300 synthetic clients, 50 in each phase and track, admitted in the fortnight before
    the year (so first interval selections fall in its first weeks, not all on day one)."""
    return [
        SimClient(
            code=f"S-{i:03d}",
            name=f"Sim {i:03d}",
            track=("morning", "evening")[i % 2],
            phase=str(1 + (i // 2) % 3),
            admitted_on=SETUP_DAY - timedelta(days=1 + i % 14),
        )
        for i in range(1, CLIENTS + 1)
    ]


# Holds recorded before the year: longer than the cap, across the new year, a month end,
# a closure, and one single day. (code, from, to); phase and track follow roster().
HOLDS = [
    ("S-006", date(2027, 2, 1), date(2027, 3, 2)),  # phase 1 morning, 30 days > 14
    ("S-006", date(2027, 10, 1), date(2027, 10, 1)),
    ("S-002", date(2027, 4, 1), date(2027, 4, 30)),  # phase 2 morning, 30 days > 21
    ("S-003", date(2026, 12, 28), date(2027, 1, 10)),  # phase 2 evening, over new year
    ("S-007", date(2027, 6, 7), date(2027, 6, 30)),  # phase 1 evening (p = 1)
    ("S-012", date(2027, 7, 1), date(2027, 7, 7)),  # phase 1 morning, over a closure
    ("S-018", date(2027, 11, 22), date(2027, 12, 3)),  # phase 1 morning, over month end
    ("S-008", date(2027, 9, 1), date(2027, 9, 3)),  # phase 2 morning
    ("S-004", date(2027, 5, 10), date(2027, 5, 20)),  # phase 3 morning (no cap)
    ("S-014", date(2027, 10, 10), date(2027, 10, 31)),  # phase 2 morning, 22 days
]
CLOSURES = [
    date(2027, 1, 1),
    date(2027, 1, 18),
    date(2027, 2, 17),  # the second day of a two-day storm (the first is recorded that day)
    date(2027, 5, 31),
    date(2027, 7, 5),
    date(2027, 9, 6),
    date(2027, 11, 25),
    date(2027, 11, 26),
    date(2027, 12, 24),
]
# Recorded during the year, on the morning of the given day before its draw.
LATE_CLOSURE = date(2027, 2, 16)
LATE_HOLD_ON = date(2027, 3, 15)
LATE_HOLD = ("S-024", date(2027, 3, 16), date(2027, 3, 26))  # phase 1 morning


def fix_randomness(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed master key and fixed client uids: the statistical checks then give the
    same answer on every run instead of failing one run in a few dozen by chance."""
    from screening.services.clients import changes as client_service
    from screening.services.site import setup as setup_service

    def fixed_key(path: Path) -> bytes:
        key = hashlib.sha256(b"screening draw simulation").digest()
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(key.hex() + "\n")
        return key

    numbers = itertools.count(1)

    def uuid4() -> uuid.UUID:
        digest = hashlib.sha256(f"sim client {next(numbers)}".encode()).digest()
        return uuid.UUID(bytes=digest[:16], version=4)

    monkeypatch.setattr(setup_service, "create_key", fixed_key)
    monkeypatch.setattr(client_service, "uuid", SimpleNamespace(uuid4=uuid4))


def set_up_year(clinic: Clinic) -> None:
    with freeze_time(local(SETUP_DAY, 12)):
        clinic.ok("init", "--site", SITE, "--timezone", TIMEZONE)
        rows = [f"{c.code},{c.name},{c.track},{c.phase},{c.admitted_on}," for c in roster()]
        clinic.ok("clients", "import", str(write_csv(clinic.folder / "sim.csv", rows)))
        for code, start, end in HOLDS:
            clinic.ok(
                "clients", "hold", code, "--from", str(start), "--to", str(end), "--reason", "leave"
            )
        for day in CLOSURES:
            clinic.ok("close", str(day), "--reason", "holiday")


def run_days(clinic: Clinic, days: int) -> None:
    """Each day at 07:00 in New York: the services' draw, with the clock frozen."""
    from screening import config
    from screening.db.engine import Database, resolve_url
    from screening.services import clients, draws
    from screening.services.plumbing.context import Actor, Context

    settings = config.load(clinic.folder / "screening.toml")
    database = Database(resolve_url(clinic.url, clinic.folder))

    def context() -> Context:
        now = datetime.now(UTC)
        return Context(settings, database, Actor("staff1"), now, now.astimezone(ZONE).date())

    code, start, end = LATE_HOLD
    mornings: dict[date, Callable[[Context], object]] = {
        LATE_CLOSURE: lambda ctx: draws.close(ctx, str(LATE_CLOSURE), "snow"),
        LATE_HOLD_ON: lambda ctx: clients.hold(ctx, code, str(start), str(end), "hospital"),
    }
    try:
        with freeze_time(local(YEAR_START, 7)) as clock:
            for offset in range(days):
                day = YEAR_START + timedelta(days=offset)
                if day in mornings:
                    clock.move_to(local(day, 6, 30))
                    mornings[day](context())
                clock.move_to(local(day, 7))
                view = draws.select_day(context())
                assert view.created and view.day == day
    finally:
        database.dispose()


@dataclass
class Tally:
    """Random selections against the policy: E = sum p, Var = sum p(1 - p) (independent
    Bernoulli draws, one per client per pool-day)."""

    pool_days: int = 0
    expected: float = 0.0
    variance: float = 0.0
    observed: int = 0

    def add(self, p: Fraction, drawn: bool) -> None:
        self.pool_days += 1
        self.expected += float(p)
        self.variance += float(p * (1 - p))
        self.observed += drawn

    @property
    def z(self) -> float:
        if self.variance == 0:
            return 0.0 if self.observed == self.expected else math.inf
        return (self.observed - self.expected) / math.sqrt(self.variance)

    def __str__(self) -> str:
        n = self.pool_days or 1
        return (
            f"{self.observed}/{self.pool_days} = {self.observed / n:.4f} vs "
            f"{self.expected / n:.4f} (SE {math.sqrt(self.variance) / n:.4f}, z {self.z:+.2f})"
        )


def left_out_reasons(client: SimClient, day: date, holds: dict[str, list], closed: set) -> set:
    """Why DESIGN §5 keeps a client out of the day's pool (empty: they are eligible)."""
    reasons = set()
    if day in closed:
        reasons.add("closure")
    if any(start <= day <= end for start, end in holds.get(client.code, ())):
        reasons.add("hold")
    if day.weekday() not in MEETS[client.track]:
        reasons.add("not_a_meeting_day")
    return reasons


@dataclass
class YearRecord:
    """What the database holds after the year, read back with plain SQL."""

    clients: dict[str, SimClient]  # by uid
    bodies: dict[date, dict[str, Any]]  # each day's `draw` entry body
    screened: dict[date, dict[str, str]]  # day -> uid -> reason, from the screenings table


def read_year(clinic: Clinic, calendar: list[date]) -> YearRecord:
    """Exactly one draw a day, each recorded by one `draw` entry, never amended, made at
    07:00 local with that day's period; its screenings are what the entry selected."""
    draws = {
        as_date(day): (draw_id, seq)
        for draw_id, day, seq in clinic.sql("SELECT id, date, created_seq FROM draws")
    }
    assert sorted(draws) == calendar
    entries = ledger_documents(clinic, "draw")
    assert [e["body"]["date"] for e in entries] == [str(d) for d in calendar]
    assert ledger_documents(clinic, "draw_amend") == []
    bodies = {}
    for entry in entries:
        day = date.fromisoformat(entry["body"]["date"])
        assert entry["seq"] == draws[day][1]
        assert entry["body"]["period"] == period(day)
        assert entry["at"] == local(day, 7).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        bodies[day] = entry["body"]

    people = {c.code: c for c in roster()}
    clients = {}
    for uid, code, admitted in clinic.sql("SELECT uid, code, admitted_on FROM clients"):
        assert as_date(admitted) == people[code].admitted_on
        clients[uid] = people[code]
    assert len(clients) == CLIENTS

    screened: dict[date, dict[str, str]] = defaultdict(dict)
    draw_days = {draw_id: day for day, (draw_id, _) in draws.items()}
    for draw_id, day, uid, reason, status in clinic.sql(
        "SELECT s.draw_id, s.date, c.uid, s.reason, s.status FROM screenings s "
        "JOIN clients c ON c.id = s.client_id"
    ):
        # Nobody records a specimen in this simulation: each screening stays pending until
        # its deadline passes, then the next write turns it into a no-show.
        assert as_date(day) == draw_days[draw_id] and status in ("pending", "no_show")
        screened[as_date(day)][uid] = reason
    for day, body in bodies.items():
        assert screened.get(day, {}) == {item["uid"]: item["why"] for item in body["selected"]}
    return YearRecord(clients, bodies, screened)


def year_holds() -> dict[str, list[tuple[date, date]]]:
    holds: dict[str, list[tuple[date, date]]] = defaultdict(list)
    for code, start, end in [*HOLDS, LATE_HOLD]:
        holds[code].append((start, end))
    return holds


def check_pools_and_floor(
    record: YearRecord, calendar: list[date]
) -> tuple[dict[str, Tally], dict[int, Tally], int]:
    """Day by day: the pool is exactly the eligible clients at the policy's p; nobody
    else is drawn; the interval floor selects exactly whom DESIGN §5 says (counted from
    the last collection, docs/ledger-format.md `interval_from`). Returns the
    random selections tallied by phase and by weekday, and the interval count."""
    holds, closed = year_holds(), {*CLOSURES, LATE_CLOSURE}
    by_phase: dict[str, Tally] = defaultdict(Tally)
    by_weekday: dict[int, Tally] = defaultdict(Tally)
    last = {uid: client.admitted_on for uid, client in record.clients.items()}
    interval = held = 0
    for day in calendar:
        body = record.bodies[day]
        selected = {item["uid"]: item["why"] for item in body["selected"]}
        pool = {item["uid"]: item["p"] for item in body["pool"]}
        left_out = {item["uid"]: item["reason"] for item in body["left_out"]}
        assert not set(pool) & set(left_out)
        assert set(pool) | set(left_out) == set(record.clients)
        for uid, client in record.clients.items():
            why_out = left_out_reasons(client, day, holds, closed)
            why = selected.get(uid)
            if why_out:
                # Nobody is in the pool, or drawn, on a closure day, on hold, or off-track.
                assert uid not in pool and why is None, (day, client.code, why_out)
                assert left_out[uid] in why_out, (day, client.code, left_out[uid], why_out)
                held += "hold" in why_out
                continue
            p = policy_p(client.phase, client.track)
            assert pool.get(uid) == f"{p.numerator}/{p.denominator}", (day, client.code)
            by_phase[client.phase].add(p, why == "random")
            by_weekday[day.weekday()].add(p, why == "random")
            # Interval floor: an eligible client not drawn at random is selected for
            # "interval" when D - last >= G, and nobody else is.
            cap = MAX_GAP[client.phase]
            due = cap is not None and (day - last[uid]).days >= cap
            assert (why == "interval") == (due and why != "random"), (
                day,
                client.code,
                why,
                last[uid],
            )
            interval += why == "interval"
        # The floor counts from the last collection (policy interval_from = "collection";
        # issue 13), or a screening still open at the draw. Nobody gives a specimen in
        # this simulation and each day's screenings are overdue by the next morning's
        # draw, so the clock never moves past admission: once due, a client is drawn for
        # "interval" on every day they are eligible and not drawn at random.
    assert held > 0
    return by_phase, by_weekday, interval


def check_gaps(record: YearRecord, calendar: list[date]) -> dict[str, tuple[int, int]]:
    """No gap between screenings (or from admission) exceeds the phase's cap, except by
    days on which the client could not be drawn (hold, closure, not a meeting day).
    Returns, per capped phase, the longest gap and how many gaps went past the cap."""
    holds, closed = year_holds(), {*CLOSURES, LATE_CLOSURE}
    end = calendar[-1] + timedelta(days=1)
    longest: dict[str, tuple[int, int]] = {}
    for uid, client in record.clients.items():
        cap = MAX_GAP[client.phase]
        if cap is None:
            continue
        dates = [
            client.admitted_on,
            *sorted(d for d in record.screened if uid in record.screened[d]),
        ]
        most, over = longest.get(client.phase, (0, 0))
        for earlier, later in [*itertools.pairwise(dates), (dates[-1], end)]:
            for gap in range(cap, (later - earlier).days):
                late = earlier + timedelta(days=gap)
                if late >= YEAR_START:
                    assert left_out_reasons(client, late, holds, closed), (
                        f"{client.code} (phase {client.phase}, {client.track}) was eligible on "
                        f"{late}, {gap} days after {earlier}, and not screened until {later}"
                    )
            if later != end:
                most = max(most, (later - earlier).days)
                over += (later - earlier).days > cap
        longest[client.phase] = (most, over)
    return longest


def test_a_simulated_year_draws_at_the_policys_rates(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every day of 2027 drawn through the services at 07:00 with the clock frozen (about
    30 s on SQLite); on PostgreSQL its first half (January to June: the spring clock
    change, holds of both phases past their caps), which costs as much again."""
    fix_randomness(monkeypatch)
    clinic = Clinic(tmp_path, backend)
    set_up_year(clinic)
    days = DAYS if backend == "sqlite" else 181
    run_days(clinic, days)
    calendar = [YEAR_START + timedelta(days=n) for n in range(days)]

    record = read_year(clinic, calendar)
    by_phase, by_weekday, interval = check_pools_and_floor(record, calendar)
    longest = check_gaps(record, calendar)
    assert interval > 0
    assert longest["1"][1] > 0 and longest["2"][1] > 0, "holds and closures stretch some gaps"

    report = [f"{days} days, {interval} interval selections"]
    report += [f"phase {phase}: {tally}" for phase, tally in sorted(by_phase.items())]
    report += [f"{WEEKDAY_NAMES[w]}: {tally}" for w, tally in sorted(by_weekday.items())]
    report += [
        f"phase {phase} longest gap {most} days, {over} gaps past the cap (all explained)"
        for phase, (most, over) in sorted(longest.items())
    ]
    print("\n".join(report))
    # Per phase and per weekday, random selections within 3 standard errors of the
    # policy (E = sum p over the pool-days, SE = sqrt(sum p(1 - p))).
    assert sorted(by_phase) == ["1", "2", "3"]
    assert sorted(by_weekday) == [0, 1, 2, 3, 4], "weekends have no pool on meeting days"
    for name, tally in [*by_phase.items(), *by_weekday.items()]:
        assert abs(tally.z) <= 3, (name, str(tally))

    with freeze_time(local(calendar[-1], 20)):
        result = clinic.ok("audit", "verify")
    assert f"{days} draws" in result.stdout
    assert (
        f"draws replayed from revealed keys: {days - 1}; with the local key (not yet revealed): 1"
    ) in result.stdout


# --- (b) two `select` processes at once ----------------------------------------------

# `python -m screening select --json` held at a start line: each process imports first,
# says it is ready, and waits for the gate file, so the two reach the database together
# rather than an interpreter start-up apart.
GATED_SELECT = """
import os, pathlib, runpy, sys, time
import screening.cli, screening.services.draws
gate = pathlib.Path(sys.argv.pop(1))
(gate.parent / f"ready-{os.getpid()}").touch()
while not gate.exists():
    time.sleep(0.001)
sys.argv[0] = "screening"
runpy.run_module("screening", run_name="__main__", alter_sys=True)
"""


def open_gate(gate: Path, waiting: int, processes: list[subprocess.Popen]) -> None:
    deadline = wall.monotonic() + 60
    while len(list(gate.parent.glob("ready-*"))) < waiting:
        assert all(p.poll() is None for p in processes), "a select exited before the start"
        assert wall.monotonic() < deadline, "the selects never got ready"
        wall.sleep(0.005)
    gate.touch()


def test_two_selects_at_once_record_one_draw_and_print_it(clinic: Clinic) -> None:
    use_calendar_days(clinic)
    today = datetime.now(ZONE).date()
    for n in range(12):
        # The first four were admitted long enough ago that the interval floor draws them.
        admitted = today - timedelta(days=30 if n < 4 else 0)
        clinic.ok(
            "clients",
            "add",
            f"P-{n:02d}",
            "--track",
            ("morning", "evening")[n % 2],
            "--phase",
            str(1 + n % 3),
            "--admitted",
            str(admitted),
        )
    environment = {**os.environ, "SCREENING_DATABASE_URL": clinic.url}
    gate = clinic.folder / "start" / "gate"
    gate.parent.mkdir()
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", GATED_SELECT, str(gate), "select", "--json"],
            cwd=clinic.folder,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        open_gate(gate, 2, processes)
    finally:
        gate.touch()  # never leave a process waiting, even when the start failed
        outputs = [process.communicate(timeout=120) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
    assert outputs[0][0] == outputs[1][0]
    shown = json.loads(outputs[0][0])
    assert shown["date"] == str(today)
    assert shown["pool"] == 12
    codes = sorted(row["code"] for row in shown["selected"])
    assert {"P-00", "P-01", "P-03"} <= set(codes)  # phases 1 and 2, admitted 30 days ago

    assert clinic.sql("SELECT count(*) FROM draws") == [(1,)]
    assert len(ledger_documents(clinic, "draw")) == 1
    stored = clinic.sql(
        "SELECT c.code FROM screenings s JOIN clients c ON c.id = s.client_id ORDER BY c.code"
    )
    assert [code for (code,) in stored] == codes
    assert "1 draw," in clinic.ok("audit", "verify").stdout


# --- (c) calendar edges --------------------------------------------------------------

EDGES = [
    pytest.param(
        date(2026, 11, 30),
        # 23:30 and 23:59:59 EST on the 30th: already 1 December in UTC.
        ["2026-12-01T04:30:00Z", "2026-12-01T04:59:59Z"],
        "2026-12-01T05:00:30Z",
        id="month-end",
    ),
    pytest.param(
        date(2026, 11, 1),
        # 01:30 EDT, then 01:30 EST an hour later (the repeated hour), then 23:59 EST.
        ["2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-02T04:59:00Z"],
        "2026-11-02T05:01:00Z",
        id="fall-back",
    ),
    pytest.param(
        date(2027, 3, 14),
        # 01:59 EST, then 03:00 EDT a minute later (02:xx never happens), then 23:59 EDT.
        ["2027-03-14T06:59:00Z", "2027-03-14T07:00:00Z", "2027-03-15T03:59:00Z"],
        "2027-03-15T04:01:00Z",
        id="spring-forward",
    ),
    pytest.param(
        date(2028, 2, 29),
        # 00:00 EST on the leap day, then 23:59 EST (1 March in UTC).
        ["2028-02-29T05:00:00Z", "2028-03-01T04:59:00Z"],
        "2028-03-01T05:00:00Z",
        id="leap-day",
    ),
]


@pytest.mark.parametrize(("day", "times", "next_time"), EDGES)
def test_calendar_edge_gets_one_draw_with_its_periods_key(
    backend: str, tmp_path: Path, day: date, times: list[str], next_time: str
) -> None:
    clinic = Clinic(tmp_path, backend)
    with freeze_time(local(day - timedelta(days=3), 12)):
        clinic.ok("init", "--site", SITE, "--timezone", TIMEZONE)
        use_calendar_days(clinic)
        for n in range(6):
            clinic.ok(
                "clients",
                "add",
                f"E-{n}",
                "--track",
                ("morning", "evening")[n % 2],
                "--phase",
                str(1 + n % 3),
                "--admitted",
                str(day - timedelta(days=20)),
            )
    outputs = []
    for moment in times:
        with freeze_time(moment):
            outputs.append(clinic.ok("select", "--json").stdout)
    # The same draw each time; by 23:59 its screenings read "overdue" (due 12 hours after
    # the draw, nobody collected), which is the only difference allowed.
    same = [json.loads(output) for output in outputs]
    for shown in same:
        for row in shown["selected"]:
            row["status"] = row["status"].replace("overdue", "pending")
    assert all(shown == same[0] for shown in same), "select again shows the same draw"
    shown = json.loads(outputs[0])
    assert shown["date"] == str(day) and shown["pool"] == 6
    with freeze_time(next_time):
        following = json.loads(clinic.ok("select", "--json").stdout)
    next_day = day + timedelta(days=1)
    assert following["date"] == str(next_day)

    assert sorted(as_date(d) for (d,) in clinic.sql("SELECT date FROM draws")) == [day, next_day]
    entries = ledger_documents(clinic, "draw")
    assert [(e["body"]["date"], e["body"]["period"]) for e in entries] == [
        (str(day), period(day)),
        (str(next_day), period(next_day)),
    ]
    assert [e["at"] for e in entries] == [times[0], next_time]

    # The next day's write revealed this day's key, and the key opens this period's anchor
    # at exactly this day-of-month: H^i(K) == A, and not one step more.
    anchors = {e["body"]["period"]: e["body"] for e in ledger_documents(clinic, "commitment")}
    committed = anchors[period(day)]
    assert committed["length"] == monthrange(day.year, day.month)[1] + 1
    reveals = ledger_documents(clinic, "reveal")
    assert [(r["body"]["date"], r["at"]) for r in reveals] == [(str(day), next_time)]
    key = bytes.fromhex(reveals[0]["body"]["key"])
    anchor = bytes.fromhex(committed["anchor"])
    assert key_matches_anchor(key, day, anchor)
    assert hash_times(key, day.day + 1) != anchor
    if period(next_day) != period(day):
        assert not key_matches_anchor(key, day, bytes.fromhex(anchors[period(next_day)]["anchor"]))

    # The revealed key is the one the draw used: its random selections follow from it.
    body = entries[0]["body"]
    random = {item["uid"] for item in body["selected"] if item["why"] == "random"}
    pool = {item["uid"]: Fraction(item["p"]) for item in body["pool"]}
    assert set(pool.values()) == {policy_p(ph, "morning", calendar=True) for ph in "123"}
    assert random == {uid for uid, p in pool.items() if drawn_at_random(key, day, uid, p)}

    with freeze_time(next_time):
        result = clinic.ok("audit", "verify")
    assert "draws replayed from revealed keys: 1; with the local key (not yet revealed): 1" in (
        result.stdout
    )

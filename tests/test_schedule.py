"""The daily job: fire times across DST, year ends and leap days; one draw per local day;
catch-up after downtime; delivery by files and command; `schedule next` and `unit`."""

from __future__ import annotations

import json
import stat
import sys
import tomllib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from screening import config
from screening.render.day_list import list_files
from screening.services.daily.job import DailyJob, next_fire_times
from tests.conftest import Clinic, Inits, write_csv

EXAMPLE = Path(__file__).parents[1] / "screening" / "data" / "config.example.toml"


@pytest.fixture
def clinic(backend: str, tmp_path: Path, inits: Inits) -> Clinic:
    """A clinic set up on 2026-11-22, before the days these tests live through: the clock
    only moves forward (a write behind the ledger's clock is refused)."""
    made = Clinic(tmp_path, backend)
    inits.prepare(made, "test_schedule: clinic", _clinic)
    return made


def _clinic(clinic: Clinic) -> None:
    with freeze_time("2026-11-22T12:00:00Z"):
        clinic.ok("init", "--site", "main", "--timezone", "America/New_York")


def settings_for(zone: str, run_at: str = "06:30") -> config.Settings:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('timezone = "America/New_York"', f'timezone = "{zone}"')
    text = text.replace('run_at = "06:30"', f'run_at = "{run_at}"')
    settings, problems = config.parse(tomllib.loads(text), Path("/x/screening.toml"))
    assert settings is not None, problems
    return settings


@pytest.mark.parametrize(
    ("zone", "start", "what"),
    [
        ("America/New_York", "2026-03-05", "spring forward, 8 March"),
        ("America/New_York", "2026-10-29", "fall back, 1 November"),
        ("Europe/London", "2026-03-26", "spring forward, 29 March"),
        ("Europe/London", "2026-10-22", "fall back, 25 October"),
        ("America/New_York", "2026-12-29", "a year end"),
        ("Europe/London", "2028-02-26", "29 February"),
    ],
)
def test_the_trigger_fires_once_a_local_day_at_run_at(zone: str, start: str, what: str) -> None:
    settings = settings_for(zone)
    first = datetime.fromisoformat(f"{start}T12:00:00+00:00")
    fires = next_fire_times(settings, first, 8)
    local_days = [fire.astimezone(settings.zone).date() for fire in fires]
    begin = date.fromisoformat(start) + timedelta(days=1)
    assert local_days == [begin + timedelta(days=n) for n in range(8)], what
    assert {fire.astimezone(settings.zone).strftime("%H:%M") for fire in fires} == {"06:30"}
    offsets = {fire.astimezone(settings.zone).utcoffset() for fire in fires}
    expected_offsets = 1 if what in ("a year end", "29 February") else 2
    assert len(offsets) == expected_offsets, what


@pytest.mark.parametrize(
    ("run_at", "ok"),
    [("00:59", True), ("03:00", True), ("6:30", True), ("24:00", False), ("6.30", False)],
)
def test_run_at_outside_the_window_is_accepted(clinic: Clinic, run_at: str, ok: bool) -> None:
    path = clinic.folder / "screening.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('run_at = "06:30"', f'run_at = "{run_at}"'), encoding="utf-8")
    result = clinic.run("config", "check")
    assert (result.exit_code == 0) is ok, result.stderr
    if not ok:
        assert 'is not a time of day; write it as "HH:MM"' in result.stderr
    else:  # "6:30" as people write it, shown as every time is
        assert f"daily job at {run_at.zfill(5)} " in result.stdout


def _enrol(clinic: Clinic, tmp_path: Path, count: int = 20) -> None:
    rows = [
        f"C-{i:02d},Client {i},{('morning', 'evening')[i % 2]},1,2025-10-01," for i in range(count)
    ]
    clinic.ok("clients", "import", str(write_csv(tmp_path / "c.csv", rows)))


def _calendar_days(clinic: Clinic) -> None:
    path = clinic.folder / "screening.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('days = "meeting"', 'days = "calendar"'), encoding="utf-8")


def _edit(clinic: Clinic, old: str, new: str) -> None:
    path = clinic.folder / "screening.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def _job(clinic: Clinic, scheduler: Any = None) -> tuple[DailyJob, Any]:
    from screening.db.engine import Database, resolve_url
    from screening.services.plumbing.context import Actor, Context

    settings = config.load(clinic.folder / "screening.toml")
    database = Database(resolve_url(clinic.url, settings.folder))

    def contexts() -> Context:
        now = datetime.now(UTC)
        return Context(
            settings, database, Actor("scheduler"), now, now.astimezone(settings.zone).date()
        )

    return DailyJob(contexts, list_files, scheduler), database


@contextmanager
def _running(clinic: Clinic, scheduler: Any = None) -> Iterator[DailyJob]:
    job, database = _job(clinic, scheduler)
    try:
        yield job
    finally:
        database.dispose()


def _draw_days(clinic: Clinic) -> Counter[str]:
    return Counter(str(day)[:10] for (day,) in clinic.sql("SELECT date FROM draws"))


@pytest.mark.parametrize(
    ("zone", "start", "days"),
    [
        ("America/New_York", "2026-03-06", 5),
        ("America/New_York", "2026-10-30", 5),
        ("Europe/London", "2026-03-27", 5),
        ("Europe/London", "2026-10-23", 5),
        ("America/New_York", "2026-12-30", 4),
        ("Europe/London", "2028-02-27", 4),
    ],
)
def test_one_draw_per_local_day_whatever_the_clocks_do(
    backend: str, tmp_path: Path, zone: str, start: str, days: int
) -> None:
    clinic = Clinic(tmp_path, backend)
    with freeze_time(f"{start}T12:00:00Z"):
        clinic.ok("init", "--timezone", zone)
        _calendar_days(clinic)
        _enrol(clinic, tmp_path)
    with _running(clinic) as job:
        settings = job.contexts().settings
        fires = next_fire_times(settings, datetime.fromisoformat(f"{start}T12:00:00+00:00"), days)
        for fire in fires:
            with freeze_time(fire - timedelta(minutes=1)):
                job.upkeep()  # a minute early: nothing is drawn
            with freeze_time(fire):
                job.draw()
                job.draw()  # a second fire (or a second instance) changes nothing
            with freeze_time(fire + timedelta(hours=13)):
                job.upkeep()  # deadlines pass, no-shows swept, no second draw
    drawn = _draw_days(clinic)
    expected = [str(fire.astimezone(settings.zone).date()) for fire in fires]
    assert sorted(drawn) == expected and set(drawn.values()) == {1}
    times = {_local_time(at, settings.zone) for (at,) in clinic.sql("SELECT drawn_at FROM draws")}
    assert times == {"06:30"}
    with freeze_time(fires[-1] + timedelta(days=1, hours=1)):
        clinic.ok("audit", "verify")


def _local_time(at: Any, zone: Any) -> str:
    """SQLite hands the UTC time back as text, PostgreSQL as a datetime."""
    moment = datetime.fromisoformat(str(at)) if isinstance(at, str) else at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).strftime("%H:%M")


def test_after_three_days_down_a_restart_draws_today_only(backend: str, tmp_path: Path) -> None:
    clinic = Clinic(tmp_path, backend)
    with freeze_time("2026-11-02T11:00:00Z"):  # 06:00 in New York
        clinic.ok("init", "--timezone", "America/New_York")
        _calendar_days(clinic)
        _enrol(clinic, tmp_path)
    with _running(clinic) as job:
        with freeze_time("2026-11-02T11:30:00Z"):  # 06:30 in New York
            job.draw()
        # Down from the 3rd to the 5th; started again at 09:10 on the 6th.
        with freeze_time("2026-11-06T14:10:00Z"):
            job.upkeep()  # what `schedule run` does first
    assert sorted(_draw_days(clinic)) == ["2026-11-02", "2026-11-06"]
    (at,) = clinic.sql("SELECT drawn_at FROM draws WHERE date = '2026-11-06'")[0]
    assert str(at).startswith("2026-11-06 14:10")  # its real time, not 06:30
    with freeze_time("2026-11-06T15:00:00Z"):
        report = json.loads(
            clinic.ok(
                "report",
                "reconcile",
                "--from",
                "2026-11-02",
                "--to",
                "2026-11-06",
                "--format",
                "json",
            ).stdout
        )
    by_day = {row["date"]: row["draw"] for row in report}
    assert by_day == {
        "2026-11-02": "drawn",
        "2026-11-03": "no draw (missed)",
        "2026-11-04": "no draw (missed)",
        "2026-11-05": "no draw (missed)",
        "2026-11-06": "drawn",
    }


class _Scheduler:
    """Records the retries the job asks for instead of waiting for them."""

    def __init__(self) -> None:
        self.jobs: list[tuple[Any, dict[str, Any]]] = []

    def add_job(self, function: Any, trigger: str, **options: Any) -> None:
        self.jobs.append((function, options))


def test_the_list_is_delivered_to_files_and_a_command(
    clinic: Clinic, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    received = tmp_path / "received.json"
    script = tmp_path / "receive.py"
    script.write_text(
        f"import sys, pathlib\npathlib.Path({str(received)!r}).write_text(sys.stdin.read())\n",
        encoding="utf-8",
    )
    _calendar_days(clinic)
    _edit(
        clinic,
        '# directory = "lists"',
        f'directory = "lists"\ncommand = [{json.dumps(sys.executable)}, {json.dumps(str(script))}]',
    )
    with freeze_time("2026-11-23T12:00:00Z"):
        _enrol(clinic, tmp_path)
    with _running(clinic) as job, freeze_time("2026-11-23T12:00:00Z"):
        job.draw()
    folder = clinic.folder / "lists"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["screening-main-2026-11-23.csv", "screening-main-2026-11-23.html"]
    assert all(stat.S_IMODE((folder / name).stat().st_mode) == 0o600 for name in files)
    codes = {row["code"] for row in json.loads(received.read_text())["selected"]}
    csv_text = (folder / files[0]).read_text()
    assert codes and all(code in csv_text for code in codes)
    drawn = {
        code
        for (code,) in clinic.sql(
            "SELECT c.code FROM screenings s JOIN clients c ON c.id = s.client_id"
        )
    }
    assert codes == drawn
    # The list delivered is recorded as read by the job's user, once for both channels.
    (text,) = clinic.sql("SELECT canonical FROM ledger WHERE kind = 'viewed'")[0]
    (scheduler,) = clinic.sql("SELECT digest FROM staff_names WHERE name = 'scheduler'")[0]
    entry = json.loads(text)
    uids = sorted(
        uid
        for (uid,) in clinic.sql(
            "SELECT c.uid FROM screenings s JOIN clients c ON c.id = s.client_id"
        )
    )
    assert entry["body"]["command"] == "schedule run" and entry["body"]["clients"] == uids
    assert entry["actor"]["os_digest"] == scheduler
    log = capsys.readouterr().err
    assert "delivered the list of 2026-11-23: files" in log
    assert "delivered the list of 2026-11-23: the command" in log
    assert "Client" not in log, "the log names nobody"


def test_a_failed_delivery_is_retried_and_never_undoes_the_draw(
    clinic: Clinic, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _calendar_days(clinic)
    _edit(
        clinic,
        "# command = [",
        f'command = [{json.dumps(sys.executable)}, "-c", "raise SystemExit(3)"]\n# x = [',
    )
    with freeze_time("2026-11-23T12:00:00Z"):
        _enrol(clinic, tmp_path)
    scheduler = _Scheduler()
    with _running(clinic, scheduler) as job:
        with freeze_time("2026-11-23T12:00:00Z"):
            job.draw()
        retry = [options for _, options in scheduler.jobs if options.get("id") == "retry"]
        assert retry[-1]["run_date"] == datetime(2026, 11, 23, 12, 10, tzinfo=UTC)
        assert retry[-1]["misfire_grace_time"] is None  # a late retry still runs
        for minutes in range(10, 80, 10):  # 6 retries, then no more
            with freeze_time(datetime(2026, 11, 23, 12, tzinfo=UTC) + timedelta(minutes=minutes)):
                job.deliver_due()
    log = capsys.readouterr().err
    assert log.count("by command failed: the command") == 7 and "exited with status 3" in log
    assert log.count("no attempts left: hand the list over with `screening today`") == 1
    assert clinic.sql("SELECT count(*) FROM draws")[0][0] == 1
    clinic.ok("audit", "verify")


def test_a_restart_resumes_delivery_and_never_sends_twice(
    clinic: Clinic, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Retries live in a file beside the config, not in the process: after a restart the
    list still goes out, rebuilt with today's amendments, and what was sent is not resent."""
    received = tmp_path / "received.jsonl"
    script = tmp_path / "receive.py"
    script.write_text(
        "import sys, pathlib\n"
        f"with pathlib.Path({str(received)!r}).open('a') as out:\n"
        "    out.write(sys.stdin.read() + '\\n')\n",
        encoding="utf-8",
    )
    _calendar_days(clinic)
    _edit(clinic, '# directory = "lists"', 'directory = "lists"')
    _edit(clinic, "# command = [", 'command = ["/nonexistent/notify-script"]\n# x = [')
    with freeze_time("2026-11-23T12:00:00Z"):
        _enrol(clinic, tmp_path)
    with _running(clinic) as first, freeze_time("2026-11-23T12:00:00Z"):
        first.draw()
    # The administrator fixes the command and restarts the job; a client is added to the
    # pool by an amendment meanwhile.
    _edit(
        clinic,
        'command = ["/nonexistent/notify-script"]',
        f"command = [{json.dumps(sys.executable)}, {json.dumps(str(script))}]",
    )
    with freeze_time("2026-11-23T12:05:00Z"):
        clinic.ok("clients", "add", "C-99", "--track", "morning", "--phase", "1")
        clinic.ok("select", "--amend", "--reason", "admitted this morning")
    with _running(clinic) as second:
        with freeze_time("2026-11-23T12:06:00Z"):
            second.upkeep()  # not yet: the next attempt is at 12:10
        with freeze_time("2026-11-23T12:11:00Z"):
            second.upkeep()
            second.upkeep()
    log = capsys.readouterr().err
    assert "was not found" in log
    assert log.count("delivered the list of 2026-11-23: files") == 1
    assert log.count("delivered the list of 2026-11-23: the command") == 1
    (line,) = received.read_text().splitlines()
    codes = {row["code"] for row in json.loads(line)["selected"]}
    drawn = {
        code
        for (code,) in clinic.sql(
            "SELECT c.code FROM screenings s JOIN clients c ON c.id = s.client_id"
        )
    }
    assert codes == drawn and "C-99" in {c for (c,) in clinic.sql("SELECT code FROM clients")}
    book = clinic.folder / "screening-deliveries.json"
    assert stat.S_IMODE(book.stat().st_mode) == 0o600
    assert "Client" not in book.read_text() and "C-" not in book.read_text()


def test_a_command_that_cannot_run_fails_alone_and_never_sees_the_mail_password(
    clinic: Clinic,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    no_shebang = tmp_path / "notify"
    no_shebang.write_text("echo hello\n", encoding="utf-8")
    no_shebang.chmod(0o700)
    seen = tmp_path / "environment.json"
    script = tmp_path / "env.py"
    script.write_text(
        "import json, os, pathlib\n"
        f"pathlib.Path({str(seen)!r}).write_text(json.dumps(dict(os.environ)))\n",
        encoding="utf-8",
    )
    _calendar_days(clinic)
    _edit(clinic, '# directory = "lists"', 'directory = "lists"')
    _edit(clinic, "# command = [", f"command = [{json.dumps(str(no_shebang))}]\n# x = [")
    monkeypatch.setenv("SCREENING_SMTP_PASSWORD", "s3cret")
    with freeze_time("2026-11-23T12:00:00Z"):
        _enrol(clinic, tmp_path)
    with _running(clinic) as job, freeze_time("2026-11-23T12:00:00Z"):
        job.draw()
    log = capsys.readouterr().err
    assert "by command failed: the command" in log and "cannot be run" in log
    assert "delivered the list of 2026-11-23: files" in log  # the other channel went out
    _edit(
        clinic,
        f"command = [{json.dumps(str(no_shebang))}]",
        f"command = [{json.dumps(sys.executable)}, {json.dumps(str(script))}]",
    )
    with _running(clinic) as job, freeze_time("2026-11-23T12:10:00Z"):
        job.deliver_due()
    environment = json.loads(seen.read_text())
    assert not [name for name in environment if name.startswith("SCREENING_SMTP_")]


def test_schedule_next_prints_local_and_utc_times_and_days_without_a_draw(
    clinic: Clinic,
) -> None:
    """Each local day once (00:30 on 15 March, the day after the clocks spring forward,
    included), with its weekday and zone as staff read them, and the days nobody can be
    drawn say why; --json keeps the ISO instants."""
    _edit(clinic, 'run_at = "06:30"', 'run_at = "00:30"')
    with freeze_time("2026-12-06T12:00:00Z"):
        clinic.ok("close", "2027-03-16", "--reason", "holiday")
    with freeze_time("2027-03-12T12:00:00Z"):  # a Friday
        result = clinic.ok("schedule", "next", "--count", "5")
        as_json = json.loads(clinic.ok("schedule", "next", "--count", "5", "--json").stdout)
    assert result.stdout.splitlines() == [
        "Sat 2027-03-13 00:30 EST  05:30 UTC  no draw: no track meets on Saturdays",
        "Sun 2027-03-14 00:30 EST  05:30 UTC  no draw: no track meets on Sundays",
        "Mon 2027-03-15 00:30 EDT  04:30 UTC  draw",
        "Tue 2027-03-16 00:30 EDT  04:30 UTC  no draw: clinic closed (holiday)",
        "Wed 2027-03-17 00:30 EDT  04:30 UTC  draw",
    ]
    assert [(d["local"], d["utc"], d["draw"], d["no_draw"]) for d in as_json] == [
        ("2027-03-13T00:30:00-05:00", "2027-03-13T05:30:00Z", False, "no_meeting"),
        ("2027-03-14T00:30:00-05:00", "2027-03-14T05:30:00Z", False, "no_meeting"),
        ("2027-03-15T00:30:00-04:00", "2027-03-15T04:30:00Z", True, None),
        ("2027-03-16T00:30:00-04:00", "2027-03-16T04:30:00Z", False, "closed"),
        ("2027-03-17T00:30:00-04:00", "2027-03-17T04:30:00Z", True, None),
    ]
    assert as_json[3]["why"] == "clinic closed (holiday)"
    assert as_json[2]["date"] == "2027-03-15"


def test_schedule_next_gives_the_utc_date_when_it_is_another_day(
    clinic: Clinic, tmp_path: Path
) -> None:
    """21:00 in New York is 02:00 UTC the next day; --out writes the same lines."""
    _edit(clinic, 'run_at = "06:30"', 'run_at = "21:00"')
    out = tmp_path / "times.txt"
    with freeze_time("2027-03-12T12:00:00Z"):
        text = clinic.ok("schedule", "next", "--count", "2").stdout
        written = clinic.run("schedule", "next", "--count", "2", "--out", str(out))
    assert text.splitlines() == [
        "Fri 2027-03-12 21:00 EST  2027-03-13 02:00 UTC  draw",
        "Sat 2027-03-13 21:00 EST  2027-03-14 02:00 UTC  no draw: no track meets on Saturdays",
    ]
    assert written.exit_code == 0 and written.stdout == ""
    assert out.read_text() == text and stat.S_IMODE(out.stat().st_mode) == 0o600


def test_schedule_unit_runs_this_config(clinic: Clinic) -> None:
    text = clinic.ok("schedule", "unit").stdout
    config_file = str((clinic.folder / "screening.toml").absolute())
    exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert f"--config {config_file} schedule run" in exec_start
    assert "UMask=0077" in text and f"ReadWritePaths={clinic.folder.absolute()}" in text
    assert "# @reboot cd " in text and "schedule run >> " in text


def test_overdue_screenings_are_swept_just_after_their_deadline(
    clinic: Clinic, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _calendar_days(clinic)
    with freeze_time("2026-11-23T12:00:00Z"):
        _enrol(clinic, tmp_path)
    scheduler = _Scheduler()
    with _running(clinic, scheduler) as job:
        with freeze_time("2026-11-23T12:00:00Z"):
            job.draw()
        (function, options), *_ = [j for j in scheduler.jobs if j[1].get("id") == "deadline"]
        # collect_within_hours = 12 in the example config: due at 00:00 UTC, 19:00 local.
        assert options["run_date"] == datetime(2026, 11, 24, 0, 0, 1, tzinfo=UTC)
        pending = clinic.sql("SELECT count(*) FROM screenings WHERE status = 'pending'")[0][0]
        assert pending > 0
        with freeze_time(options["run_date"]):
            function()
    assert clinic.sql("SELECT count(*) FROM screenings WHERE status = 'pending'")[0][0] == 0
    assert clinic.sql("SELECT count(*) FROM screenings WHERE status = 'no_show'")[0][0] == pending
    assert f"{pending} overdue screening(s) became no-shows" in capsys.readouterr().err


def test_the_unit_may_write_a_sqlite_database_kept_elsewhere(
    clinic: Clinic, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "var" / "lib" / "screening"
    url = f"sqlite:///{elsewhere}/screening.db"
    result = clinic.run("schedule", "unit", env={"SCREENING_DATABASE_URL": url})
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    paths = next(line for line in text.splitlines() if line.startswith("ReadWritePaths="))
    assert str(elsewhere) in paths.split("=", 1)[1].split()


def test_the_unit_may_write_the_lab_drop_folder_and_witness_folders_kept_elsewhere(
    clinic: Clinic, tmp_path: Path
) -> None:
    srv = tmp_path.parent / f"{tmp_path.name}-srv"  # outside the clinic's folder
    drop, acks, witness = (srv / name for name in ("lab-drop", "acks", "w"))
    config = clinic.folder / "screening.toml"
    text = config.read_text().replace("folders = []", f'folders = ["{witness}"]', 1)
    config.write_text(text + f'\n[labs]\ndrop_folder = "{drop}"\nack_folder = "{acks}"\n')
    result = clinic.run("schedule", "unit")
    assert result.exit_code == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("ReadWritePaths="))
    assert {str(drop), str(acks), str(witness)} <= set(line.split("=", 1)[1].split())

"""The lab's drop folder (issue 19): `results watch` and `schedule run` import each new
file once and move it to done/ or refused/ (with its reason beside it), one sweeper at a
time, and never lose a file: a process killed mid-import leaves the file where it was
and the database as it was."""

from __future__ import annotations

import logging
import os
import signal
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from screening import config
from screening.services.plumbing.context import Actor, Context
from tests.conftest import Clinic, write_csv

ROOT = Path(__file__).resolve().parent.parent
LAB_HEADER = "specimen_id,collected_at,analyte,outcome,level,cutoff,method,lab_report_id"


def _context(clinic: Clinic) -> Context:
    """What the CLI hands the services, the clock read now."""
    from screening.db.engine import Database, resolve_url

    settings = config.load(clinic.folder / "screening.toml")
    now = datetime.now(UTC)
    database = Database(resolve_url(clinic.url, settings.folder))
    return Context(settings, database, Actor("staff1"), now, now.astimezone(settings.zone).date())


def _lab_file(path: Path, specimens: list[str], report: str = "R") -> Path:
    """The lab's report: buprenorphine negative for each specimen (a partial report)."""
    rows = [f"{s},,BUP,negative,,,lc-ms/ms,{report}-{s[4:]}" for s in specimens]
    write_csv(path, rows, header=LAB_HEADER)
    _aged(path)
    return path


def _aged(path: Path, seconds: float = 60) -> None:
    """As a lab's file that was complete a while ago (a younger one waits a sweep)."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def _ledger(clinic: Clinic) -> int:
    return int(clinic.sql("SELECT count(*) FROM ledger")[0][0])


def _lab_versions(clinic: Clinic) -> list[int]:
    """How many lab versions each result has (0 for one the lab has not reported on)."""
    return [
        int(n)
        for (n,) in clinic.sql(
            "SELECT count(v.id) FROM results r LEFT JOIN result_versions v "
            "ON v.result_id = r.id AND v.lab_report_id IS NOT NULL GROUP BY r.id ORDER BY r.id"
        )
    ]


MORNING = "2026-11-23T12:00:00Z"  # a Monday, 07:00 in New York: the draw
LATER = "2026-11-23T15:00:00Z"


@pytest.fixture
def specimens() -> int:
    return 3


@pytest.fixture
def lab(backend: str, tmp_path: Path, specimens: int) -> Clinic:
    """``specimens`` phase-1 clients all drawn (3 tests a week on 3 days is p = 1) on a
    past Monday, each specimen sent to the lab (LAB-0001...): what a lab's file reports
    on. The sweeps then run at the real clock, later."""
    import json

    from freezegun import freeze_time

    from screening.services.results.checks import Collection
    from screening.services.results.findings import Findings
    from screening.services.results.recording import record_many

    clinic = Clinic(tmp_path, backend)
    codes = [f"C-{i:04d}" for i in range(1, specimens + 1)]
    with freeze_time(MORNING):
        clinic.ok("init", "--timezone", "America/New_York")
        path = clinic.folder / "screening.toml"
        path.write_text(path.read_text().replace("tests_per_week = 2\n", "tests_per_week = 3\n"))
        rows = [f"{code},Client {code},morning,1,2026-11-02," for code in codes]
        clinic.ok("clients", "import", str(write_csv(tmp_path / "clients.csv", rows)))
        assert len(json.loads(clinic.ok("select", "--json").stdout)["selected"]) == specimens
    with freeze_time(LATER):
        ctx = _context(clinic)
        try:
            record_many(
                ctx,
                [
                    Collection(code, Findings(), sent_to_lab=True, specimen_id=_specimen(code))
                    for code in codes
                ],
            )
        finally:
            ctx.database.dispose()
    (tmp_path / "drop").mkdir()
    return clinic


def _specimen(code: str) -> str:
    return f"LAB-{code[2:]}"


def _all(count: int) -> list[str]:
    return [_specimen(f"C-{i:04d}") for i in range(1, count + 1)]


def _sweep(clinic: Clinic, folder: Path | None = None, **options: Any) -> list[Any]:
    from screening.services.results import sweep

    ctx = _context(clinic)
    try:
        return sweep(ctx, folder or clinic.folder / "drop", **options)
    finally:
        ctx.database.dispose()


def _names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


BAD_ROWS = ["LAB-9999,,BUP,negative,,,lc-ms/ms,R-9"]  # no such specimen


# --- one sweep ---------------------------------------------------------------------------


def test_a_lab_file_is_imported_once_and_moved_to_done(lab: Clinic) -> None:
    drop = lab.folder / "drop"
    _lab_file(drop / "lab.csv", _all(3))
    swept = _sweep(lab)
    assert [s.line() for s in swept] == ["imported lab.csv: 3 rows; amended 3 results"]
    assert _names(drop) == [".screening-watch.lock", "done"]
    assert _names(drop / "done") == ["lab.csv"]
    assert _lab_versions(lab) == [1, 1, 1]
    shown = lab.ok("results", "show", "LAB-0002").stdout
    assert "lab confirmation" in shown
    # Nothing left: the next sweep does nothing, and amends nothing again.
    assert _sweep(lab) == []
    assert _lab_versions(lab) == [1, 1, 1]


def test_a_refused_file_goes_to_refused_with_its_reason_and_changes_nothing(lab: Clinic) -> None:
    drop = lab.folder / "drop"
    os.chmod(drop, 0o700)
    rows = [
        "LAB-0001,,BUP,negative,,,lc-ms/ms,R-1",
        *BAD_ROWS,
        "LAB-0002,,XYZ,negative,,,gc-ms,R-2",
    ]
    _aged(write_csv(drop / "bad.csv", rows, header=LAB_HEADER))
    before = _ledger(lab)
    swept = _sweep(lab)
    assert [(s.name, s.outcome, s.moved_to) for s in swept] == [
        ("bad.csv", "refused", "refused/bad.csv")
    ]
    line = swept[0].line()
    assert line.startswith("refused bad.csv: ") and line.endswith(" (moved to refused/)")
    # What is printed names no result: the reason stays in the reason file.
    assert "2 problems, nothing recorded; see bad.csv.reason.txt" in line
    assert _ledger(lab) == before and _lab_versions(lab) == [0, 0, 0]
    assert _names(drop / "refused") == ["bad.csv", "bad.csv.reason.txt"]
    reason = (drop / "refused" / "bad.csv.reason.txt").read_text(encoding="utf-8").splitlines()
    assert "2 problems; nothing was imported" in reason[0]
    assert reason[1:] == [
        "line 3, column specimen_id: no result has specimen id 'LAB-9999' (record the "
        "collection first)",
        reason[2],
    ]
    assert "unknown analyte 'XYZ'" in reason[2]
    assert stat.S_IMODE((drop / "refused" / "bad.csv.reason.txt").stat().st_mode) == 0o600
    assert stat.S_IMODE((drop / "refused").stat().st_mode) == 0o700


def test_done_and_refused_keep_a_group_shared_folder_shared(lab: Clinic) -> None:
    """`init --group` clinics: the folders made keep the drop folder's g+rwxs, and the
    reason file is the group's to read."""
    drop = lab.folder / "drop"
    os.chmod(drop, 0o2770)
    _lab_file(drop / "good.csv", _all(2))
    _aged(write_csv(drop / "bad.csv", BAD_ROWS, header=LAB_HEADER), 30)
    assert [s.outcome for s in _sweep(lab)] == ["imported", "refused"]
    for made in ("done", "refused"):
        status = (drop / made).stat()
        assert stat.S_IMODE(status.st_mode) == 0o2770
        assert status.st_gid == drop.stat().st_gid
    reason = (drop / "refused" / "bad.csv.reason.txt").stat()
    assert stat.S_IMODE(reason.st_mode) == 0o660


def test_a_name_taken_in_done_gets_a_number_and_nothing_is_overwritten(lab: Clinic) -> None:
    drop = lab.folder / "drop"
    (drop / "done").mkdir()
    (drop / "done" / "lab.csv").write_text("yesterday's\n")
    (drop / "done" / "lab-2.csv").write_text("the day before\n")
    _lab_file(drop / "lab.csv", _all(1))
    swept = _sweep(lab)
    assert [s.line() for s in swept] == [
        "imported lab.csv: 1 row; amended 1 result (moved to done/lab-3.csv)"
    ]
    assert (drop / "done" / "lab.csv").read_text() == "yesterday's\n"
    assert (drop / "done" / "lab-2.csv").read_text() == "the day before\n"
    assert "LAB-0001" in (drop / "done" / "lab-3.csv").read_text()
    # The same in refused/, and a reason beside the file it describes.
    (drop / "refused").mkdir()
    (drop / "refused" / "lab").write_text("kept\n")
    _aged(write_csv(drop / "lab", BAD_ROWS, header=LAB_HEADER))
    assert [s.moved_to for s in _sweep(lab)] == ["refused/lab-2"]
    assert _names(drop / "refused") == ["lab", "lab-2", "lab-2.reason.txt"]


def test_files_being_written_are_left_alone(lab: Clinic) -> None:
    drop = lab.folder / "drop"
    waiting = [".lab.csv", "lab.csv.tmp", "lab.csv.part", "lab.csv~"]
    for name in waiting:
        _lab_file(drop / name, _all(1))
    (drop / "sub").mkdir()
    _lab_file(drop / "sub" / "lab.csv", _all(1))
    os.symlink(drop / "sub" / "lab.csv", drop / "link.csv")
    before = _ledger(lab)
    assert _sweep(lab) == []
    # Written just now: maybe not complete yet, so taken by the next sweep.
    write_csv(drop / "new.csv", [f"{s},,BUP,negative,,,lc-ms/ms,R-{s}" for s in _all(1)],
              header=LAB_HEADER)  # fmt: skip
    assert [s.line() for s in _sweep(lab)] == [
        "left new.csv: still being written; taken next sweep"
    ]
    assert _ledger(lab) == before
    assert sorted([*waiting, ".screening-watch.lock", "link.csv", "new.csv", "sub"]) == _names(drop)
    _aged(drop / "new.csv")
    assert [s.outcome for s in _sweep(lab)] == ["imported"]


def test_files_are_taken_oldest_first(lab: Clinic) -> None:
    drop = lab.folder / "drop"
    _lab_file(drop / "a.csv", _all(1), report="A")
    _lab_file(drop / "b.csv", _all(1), report="B")
    _aged(drop / "b.csv", 120)
    assert [s.name for s in _sweep(lab)] == ["b.csv", "a.csv"]


def test_one_sweeper_at_a_time(lab: Clinic) -> None:
    import fcntl

    drop = lab.folder / "drop"
    _lab_file(drop / "lab.csv", _all(1))
    handle = os.open(drop / ".screening-watch.lock", os.O_RDONLY | os.O_CREAT)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)  # another sweeper, working
        swept = _sweep(lab)
        assert [s.line() for s in swept] == [
            f"another sweep of {drop} is under way; this one skipped"
        ]
        assert _names(drop) == [".screening-watch.lock", "lab.csv"]
    finally:
        os.close(handle)
    assert [s.outcome for s in _sweep(lab)] == ["imported"]


def test_with_the_database_away_files_stay_and_the_sweep_stops(lab: Clinic) -> None:
    from screening.errors import EnvironmentProblem
    from screening.services.results import sweep

    drop = lab.folder / "drop"
    _lab_file(drop / "a.csv", _all(1), report="A")
    _lab_file(drop / "b.csv", _all(1), report="B")

    def away() -> Context:
        raise EnvironmentProblem("the database could not be used (connection refused)")

    swept = sweep(away, drop)
    assert [s.line() for s in swept] == [
        "left a.csv: the database could not be used (connection refused); tried again next sweep"
    ]
    assert _names(drop) == [".screening-watch.lock", "a.csv", "b.csv"]
    assert _lab_versions(lab) == [0, 0, 0]


def test_a_file_written_again_during_its_import_is_left_not_moved_unread(
    lab: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    from screening.services.results import drop_folder

    drop = lab.folder / "drop"
    first = _lab_file(drop / "a.csv", _all(1), report="A")
    _aged(first)
    real = drop_folder.import_file

    def rewritten_meanwhile(ctx: Context, path: Path, **options: Any) -> dict[str, Any]:
        done = real(ctx, path, **options)
        _lab_file(path, _all(2)[1:], report="B")  # the lab's next file, same name
        return done

    monkeypatch.setattr(drop_folder, "import_file", rewritten_meanwhile)
    swept = _sweep(lab)
    assert [s.outcome for s in swept] == ["left"] and "changed while" in swept[0].said
    assert _names(drop) == [".screening-watch.lock", "a.csv"]  # the new content waits
    monkeypatch.setattr(drop_folder, "import_file", real)
    _aged(drop / "a.csv")
    assert [s.outcome for s in _sweep(lab)] == ["imported"]
    assert _lab_versions(lab)[:2] == [1, 1]  # each report recorded once


def test_an_unexpected_error_in_one_file_does_not_stop_the_others(
    lab: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    from screening.services.results import drop_folder

    drop = lab.folder / "drop"
    _aged(_lab_file(drop / "a.csv", _all(1), report="A"), seconds=120)
    _aged(_lab_file(drop / "b.csv", _all(2)[1:], report="B"))
    real = drop_folder.import_file

    def broken_on_a(ctx: Context, path: Path, **options: Any) -> dict[str, Any]:
        if path.name == "a.csv":
            raise ZeroDivisionError("a bug")
        return real(ctx, path, **options)

    monkeypatch.setattr(drop_folder, "import_file", broken_on_a)
    swept = _sweep(lab)
    assert [(s.name, s.outcome) for s in swept] == [("a.csv", "left"), ("b.csv", "imported")]
    assert "unexpected ZeroDivisionError" in swept[0].said


# --- the command line --------------------------------------------------------------------


def test_watch_once_says_a_line_a_file_and_exits_2_when_one_was_refused(lab: Clinic) -> None:
    drop = lab.folder / "drop"
    _lab_file(drop / "good.csv", _all(2))
    _aged(write_csv(drop / "bad.csv", BAD_ROWS, header=LAB_HEADER), 30)
    result = lab.run("results", "watch", str(drop), "--once")
    assert result.exit_code == 2, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "imported good.csv: 2 rows; amended 2 results"
    assert lines[1].startswith("refused bad.csv: ") and lines[1].endswith("(moved to refused/)")
    assert len(lines) == 2
    # Nothing refused this time: exit 0, and nothing to say.
    _lab_file(drop / "more.csv", _all(3)[2:])
    again = lab.run("results", "watch", str(drop), "--once")
    assert (again.exit_code, again.stdout) == (0, "imported more.csv: 1 row; amended 1 result\n")
    assert _lab_versions(lab) == [1, 1, 1]


def test_watch_takes_its_folder_from_the_config(lab: Clinic) -> None:
    none = lab.run("results", "watch", "--once")
    assert none.exit_code == 2
    assert none.stderr == (
        "error: no drop folder: give DIR or set [labs] drop_folder in the config\n"
    )
    not_a_folder = lab.run("results", "watch", str(lab.folder / "screening.toml"), "--once")
    assert not_a_folder.exit_code == 2
    assert "is not a folder" in not_a_folder.stderr and len(not_a_folder.stderr.splitlines()) == 1
    with (lab.folder / "screening.toml").open("a", encoding="utf-8") as config_file:
        config_file.write('\n[labs]\ndrop_folder = "drop"\n')
    _lab_file(lab.folder / "drop" / "lab.csv", _all(1))
    result = lab.run("results", "watch", "--once")
    assert (result.exit_code, result.stdout) == (0, "imported lab.csv: 1 row; amended 1 result\n")


def test_watch_needs_the_role_that_imports(lab: Clinic) -> None:
    _lab_file(lab.folder / "drop" / "lab.csv", _all(1))
    lab.ok("access", "revoke", lab.user, "staff")
    refused = lab.run("results", "watch", str(lab.folder / "drop"), "--once")
    assert refused.exit_code == 4 and "`screening results watch` needs" in refused.stderr
    assert _names(lab.folder / "drop") == ["lab.csv"]


# --- the daily job -----------------------------------------------------------------------


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_the_daily_job_sweeps_the_drop_folder_and_logs_no_names_or_results(lab: Clinic) -> None:
    from screening.render.day_list import list_files
    from screening.services.daily.job import DailyJob

    with (lab.folder / "screening.toml").open("a", encoding="utf-8") as config_file:
        config_file.write('\n[labs]\ndrop_folder = "drop"\n')
    drop = lab.folder / "drop"
    _lab_file(drop / "good.csv", _all(2))
    _aged(write_csv(drop / "bad.csv", BAD_ROWS, header=LAB_HEADER), 30)
    contexts: list[Context] = []

    def context() -> Context:
        contexts.append(_context(lab))
        return contexts[-1]

    lines = _Lines()
    log = logging.getLogger("screening.schedule")
    log.addHandler(lines)
    try:
        DailyJob(context, list_files).lab_files()
    finally:
        log.removeHandler(lines)
        for made in contexts:
            made.database.dispose()
    assert lines.lines == [
        "imported lab file good.csv: 2 rows; amended 2 results",
        "refused lab file bad.csv: see refused/bad.csv.reason.txt",
    ]
    assert "LAB-9999" in (drop / "refused" / "bad.csv.reason.txt").read_text()
    assert _lab_versions(lab) == [1, 1, 0]


def _child_env(clinic: Clinic) -> dict[str, str]:
    """The environment of a child `screening`: this test's (its HOME, no SCREENING_*
    but the database), importing this checkout."""
    path = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        "SCREENING_DATABASE_URL": clinic.url,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT),
    }


def test_schedule_run_sweeps_the_drop_folder_at_start(lab: Clinic) -> None:
    with (lab.folder / "screening.toml").open("a", encoding="utf-8") as config_file:
        config_file.write('\n[labs]\ndrop_folder = "drop"\n')
    _lab_file(lab.folder / "drop" / "lab.csv", _all(3))
    child = subprocess.Popen(
        [sys.executable, "-m", "screening", "schedule", "run"],
        env=_child_env(lab),
        cwd=lab.folder,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (lab.folder / "drop" / "done").is_dir():
            time.sleep(0.2)
    finally:
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=30)
    assert child.returncode == 0, stderr
    assert "info: imported lab file lab.csv: 3 rows; amended 3 results" in stderr
    assert "LAB-" not in stderr
    assert _names(lab.folder / "drop" / "done") == ["lab.csv"]


def test_watch_keeps_sweeping_until_sigterm(lab: Clinic) -> None:
    drop = lab.folder / "drop"
    child = subprocess.Popen(
        [sys.executable, "-m", "screening", "results", "watch", str(drop), "--every", "5"],
        env=_child_env(lab),
        cwd=lab.folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _lab_file(drop / "lab.csv", _all(3))  # comes while it watches
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (drop / "done").is_dir():
            time.sleep(0.2)
    finally:
        child.send_signal(signal.SIGTERM)
        stdout, stderr = child.communicate(timeout=30)
    assert child.returncode == 0, stderr
    assert stdout == "imported lab.csv: 3 rows; amended 3 results\n"


# --- kill -9 -----------------------------------------------------------------------------

LARGE = 2000


@pytest.mark.parametrize("specimens", [LARGE])
def test_a_sweep_killed_mid_import_loses_no_file_and_writes_nothing_half(lab: Clinic) -> None:
    """The issue's test: `results watch --once` importing a large lab file, killed with
    SIGKILL at several moments. After each kill the file is where it was with the
    database as it was, or in done/ with every row recorded; never missing, never
    half-recorded; then a sweep finishes the job."""
    drop = lab.folder / "drop"
    _lab_file(drop / "lab.csv", _all(LARGE))
    before = _ledger(lab)
    unchanged = [0] * LARGE
    command = [sys.executable, "-m", "screening", "results", "watch", str(drop), "--once"]
    kills, in_place, committed = 0, 0, False
    # Before the import, and (the child's start takes about a second) during it.
    for delay in (0.3, 1.2, 1.9, 2.6):
        child = subprocess.Popen(command, env=_child_env(lab), cwd=lab.folder,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(delay)
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            kills += 1
        child.wait()
        assert (drop / "lab.csv").exists() or (drop / "done" / "lab.csv").exists(), "lost"
        if (drop / "lab.csv").exists():
            assert not (drop / "done" / "lab.csv").exists()
            if _ledger(lab) == before:
                assert _lab_versions(lab) == unchanged  # nothing half-recorded
                in_place += 1
            else:  # killed after the commit, before the move: everything recorded
                assert _lab_versions(lab) == [1] * LARGE
                committed = True
                break
        else:
            assert _lab_versions(lab) == [1] * LARGE
            break
        if delay in (1.2, 2.6):  # checked whole, as an auditor would
            lab.ok("audit", "verify")
    assert kills >= 2 and in_place >= 2, (kills, in_place)
    finish = subprocess.run(command, env=_child_env(lab), cwd=lab.folder, capture_output=True,
                            text=True, check=False)  # fmt: skip
    if committed:
        # A CSV report already imported is refused when it comes again (an HL7 message
        # is recognised and skipped): the reason says so, and nothing is recorded twice.
        assert finish.returncode == 2
        reason = (drop / "refused" / "lab.csv.reason.txt").read_text(encoding="utf-8")
        assert "is already imported" in reason
    else:
        assert finish.returncode == 0, finish.stderr
        assert _names(drop / "done") == ["lab.csv"]
    assert not (drop / "lab.csv").exists()
    assert _lab_versions(lab) == [1] * LARGE  # each result amended exactly once
    lab.ok("audit", "verify")


def test_an_unreadable_file_waits_unrefused(lab: Clinic, monkeypatch: pytest.MonkeyPatch) -> None:
    drop = lab.folder / "drop"
    _lab_file(drop / "lab.csv", _all(1))
    opened = Path.open

    def refused(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == "lab.csv":  # as a file the lab left 0600 under its own user
            raise PermissionError(13, "Permission denied", str(self))
        return opened(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refused)
    assert [s.line() for s in _sweep(lab)] == ["left lab.csv: cannot be read (Permission denied)"]
    assert _names(drop) == [".screening-watch.lock", "lab.csv"]


# --- HL7 ---------------------------------------------------------------------------------


def test_an_hl7_message_dropped_twice_is_recognised_the_second_time(lab: Clinic) -> None:
    from tests.hl7_messages import THC_POSITIVE, oru

    drop = lab.folder / "drop"
    # Collected at 10:00 in New York the day the fixture records it.
    message = oru(
        specimen="LAB-0001", collected="20261123100000-0500", observations=(THC_POSITIVE,)
    )
    for name in ("oru.hl7", "oru-resent.hl7"):
        (drop / name).write_bytes(message.encode("utf-8"))
        _aged(drop / name)
        swept = _sweep(lab)
        assert [(s.name, s.outcome, s.moved_to) for s in swept] == [
            (name, "imported", f"done/{name}")
        ], swept
    assert "already imported, skipped" in swept[0].said
    assert _lab_versions(lab) == [1, 0, 0]
    assert _names(drop / "done") == ["oru-resent.hl7", "oru.hl7"]

"""`screening demo`: a sample clinic made through the real services on a simulated
clock, which `audit verify` accepts, holding what the README and its own closing lines
promise, whatever day (or time of day) it is made on."""

from __future__ import annotations

import shlex
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time
from typer.testing import CliRunner

from screening.cli import app
from tests.conftest import isolate

runner = CliRunner()


def _demo(at: datetime, *args: str):  # type: ignore[no-untyped-def]
    with freeze_time(at):
        return runner.invoke(app, ["demo", *args])


def _tried(stdout: str) -> list[list[str]]:
    """The `screening ...` commands the demo ends with, as argument lists."""
    return [
        shlex.split(line.strip(), comments=True)[1:]
        for line in stdout.splitlines()
        if line.strip().startswith("screening ")
    ]


def _in(folder: Path, at: datetime, *args: str):  # type: ignore[no-untyped-def]
    with freeze_time(at), pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        return runner.invoke(app, list(args))


def _rows(folder: Path, query: str) -> list[tuple]:
    with sqlite3.connect(folder / "screening.db") as connection:
        return connection.execute(query).fetchall()


# A Tuesday afternoon in New York, when the evening track meets.
TUESDAY = datetime(2026, 12, 8, 20, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def tuesday(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo made once for the module, in its default folder: (folder, stdout)."""
    where = tmp_path_factory.mktemp("tuesday")
    with pytest.MonkeyPatch.context() as patch:
        isolate(where, patch)
        made = _demo(TUESDAY)
    assert made.exit_code == 0, made.stdout + made.stderr
    return where / "screening-demo", made.stdout


def test_the_demo_makes_a_verifiable_clinic_and_its_seven_commands_work(
    tuesday: tuple[Path, str],
) -> None:
    folder, stdout = tuesday
    assert f"cd {Path('screening-demo')}" in stdout
    commands = _tried(stdout)
    assert [c[:2] for c in commands] == [
        ["today"],
        ["timeline", "C-113"],
        ["report", "team"],
        ["report", "reconcile"],
        ["report", "progress"],
        ["audit", "disclosures"],
        ["audit", "verify"],
    ]
    later = TUESDAY + timedelta(minutes=1)
    for command in commands:
        result = _in(folder, later, *command)
        assert result.exit_code == 0, (command, result.stdout, result.stderr)
    verified = _in(folder, later, "audit", "verify").stdout
    assert "ledger intact" in verified and "records match the ledger: 20 clients" in verified
    # Today's list has something still to do.
    assert "pending" in _in(folder, later, "today").stdout
    timeline = _in(folder, later, "timeline", "C-113").stdout
    assert "dilute" in timeline and "observed recollection ordered" in timeline
    assert "no-show" in timeline and "phase 1 → 2" in timeline
    # The drug court's letters are in the accounting; the suggested preview is not.
    accounting = _in(folder, later, "audit", "disclosures").stdout
    assert accounting.count("to Example County Drug Court") == 2, accounting
    assert "PREVIEW" in _in(folder, later, *commands[4]).stdout


def test_the_demo_holds_every_kind_of_event_it_promises(tuesday: tuple[Path, str]) -> None:
    folder, _ = tuesday
    statuses = {status for (status,) in _rows(folder, "SELECT DISTINCT status FROM screenings")}
    assert {"collected", "no_show", "refused", "excused", "pending"} <= statuses
    # A dilute specimen, and its observed recollection collected under observation.
    [(observed,)] = _rows(
        folder,
        "SELECT r.observed FROM screenings s JOIN results r ON r.screening_id = s.id "
        "JOIN clients c ON c.id = s.client_id WHERE s.reason = 'recollection' "
        "AND c.code = 'C-113'",
    )
    assert observed == 1
    assert _rows(folder, "SELECT count(*) FROM result_versions WHERE validity = 'dilute'") >= [(1,)]
    # Lab confirmations: an amendment and an imported report.
    reasons = {r for (r,) in _rows(folder, "SELECT DISTINCT reason FROM result_versions")}
    assert {"lab_confirmation", "lab_report"} <= reasons
    assert _rows(folder, "SELECT count(*) FROM holds") == [(1,)]
    assert _rows(folder, "SELECT count(*) FROM closures") == [(1,)]
    assert _rows(folder, "SELECT count(*) FROM clients WHERE status = 'discharged'") == [(1,)]
    assert _rows(folder, "SELECT count(*) FROM screenings WHERE reason = 'for_cause'") >= [(2,)]
    # Two prescriptions: buprenorphine and methadone.
    medications = " ".join(m for (m,) in _rows(folder, "SELECT medications FROM clients"))
    assert "buprenorphine" in medications and "methadone" in medications
    # Every day's key but today's is revealed; the last write is not after the real now.
    assert _rows(folder, "SELECT count(*) FROM draws WHERE revealed_seq IS NULL") == [(1,)]
    # (The demo's own writes: the commands other tests try record their reads later.)
    [(last,)] = _rows(folder, "SELECT max(at) FROM ledger WHERE kind <> 'viewed'")
    assert datetime.fromisoformat(last).replace(tzinfo=UTC) <= TUESDAY
    # The files the README's examples read.
    assert "LAB-7731" in (folder / "lab-report.csv").read_text(encoding="utf-8")
    assert "C-122" in (folder / "new-clients.csv").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "at",
    [
        datetime(2027, 3, 15, 4, 2, tzinfo=UTC),  # 00:02 in New York, the day after spring forward
        datetime(2026, 11, 2, 1, 0, tzinfo=UTC),  # 20:00, the day after clocks fell back
        datetime(2028, 2, 29, 17, 0, tzinfo=UTC),  # noon on a leap day
    ],
    ids=["just-after-midnight-after-spring-forward", "evening-after-fall-back", "leap-day"],
)
def test_the_demo_works_whatever_the_day_and_time(tmp_path: Path, at: datetime) -> None:
    made = _demo(at)
    assert made.exit_code == 0, made.stdout + made.stderr
    folder = tmp_path / "screening-demo"
    later = at + timedelta(minutes=1)
    assert _in(folder, later, "audit", "verify").exit_code == 0
    pending = _in(folder, later, "results", "pending").stdout
    for code in ("C-101", "C-107", "C-110", "C-111", "C-114", "C-119"):
        assert code in pending


def test_the_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    folder = tmp_path / "busy"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n", encoding="utf-8")
    result = _demo(TUESDAY, "busy")
    assert result.exit_code == 2
    assert "not an empty folder" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    assert _demo(TUESDAY, "afile").exit_code == 2


def test_the_demo_never_writes_to_another_database(tmp_path: Path) -> None:
    with freeze_time(TUESDAY):
        result = runner.invoke(
            app, ["demo"], env={"SCREENING_DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"}
        )
    assert result.exit_code == 2
    assert "never writes to another database" in result.stderr
    assert not (tmp_path / "screening-demo").exists() and not (tmp_path / "other.db").exists()


def test_a_demo_that_fails_half_way_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from screening.errors import EnvironmentProblem
    from screening.services.demo.story import Story

    def broken(self: Story, offset: int) -> None:
        raise EnvironmentProblem("the disk is full")

    monkeypatch.setattr(Story, "day", broken)
    result = _demo(TUESDAY)
    assert result.exit_code == 3
    assert result.stderr.strip() == "error: the disk is full"
    assert not (tmp_path / "screening-demo").exists()

"""The daily job fires once every local day, whatever the clocks do: fire times against
`systemd-analyze calendar` across both 2027 changes, and what `config check` says."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from screening.core.run_times import fire_time
from screening.services.daily.job import next_fire_times, trigger
from tests.conftest import Clinic, Inits
from tests.test_schedule import settings_for

ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",  # southern hemisphere: spring in October, fall in April
    "America/Havana",  # clocks change at midnight
    "America/St_Johns",  # a half-hour offset
]
RUN_ATS = ["00:00", "00:30", "01:30", "02:30", "06:30"]
# Both 2027 changes of every zone above lie in these windows.
WINDOWS = [("2027-03-10", 40), ("2027-09-28", 45)]


def _days(start: str, count: int) -> list[date]:
    return [date.fromisoformat(start) + timedelta(days=n) for n in range(count)]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("run_at", RUN_ATS)
def test_every_local_day_fires_once(zone: str, run_at: str) -> None:
    """`schedule next` lists each local date once, at run_at or (in a spring gap) at the
    first instant after the gap; the APScheduler trigger of `schedule run` agrees."""
    settings = settings_for(zone, run_at)
    tz = ZoneInfo(zone)
    for start, count in WINDOWS:
        begin = datetime.combine(date.fromisoformat(start), time(), tz).astimezone(UTC)
        fires = next_fire_times(settings, begin, count)
        assert [fire.astimezone(tz).date() for fire in fires] == _days(start, count)
        for fire in fires:
            local = fire.astimezone(tz)
            wall = datetime.combine(local.date(), time.fromisoformat(run_at))
            exists = (
                wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall
            )
            if exists:  # the first of two, when repeated
                assert fire == wall.replace(tzinfo=tz, fold=0)
            else:  # the gap's end: a second earlier was still before the change
                assert local.replace(tzinfo=None) > wall
                before = (fire - timedelta(seconds=1)).astimezone(tz)
                assert before.utcoffset() != local.utcoffset()
        cron = trigger(settings)
        previous, ran = None, []
        for _ in range(count):
            previous = cron.get_next_fire_time(previous, previous or begin)
            ran.append(previous)
        assert ran == fires


def test_new_york_after_the_spring_change_at_half_past_midnight() -> None:
    """The day APScheduler's cron trigger left out."""
    settings = settings_for("America/New_York", "00:30")
    fires = next_fire_times(settings, datetime(2027, 3, 13, 12, tzinfo=UTC), 3)
    assert [f.isoformat() for f in fires] == [
        "2027-03-14T00:30:00-05:00",
        "2027-03-15T00:30:00-04:00",
        "2027-03-16T00:30:00-04:00",
    ]
    assert fire_time(date(2027, 3, 14), time(2, 30), ZoneInfo("America/New_York")) == (
        datetime(2027, 3, 14, 7, tzinfo=UTC)  # 03:00 EDT, when the clocks jump
    )


def _systemd(run_at: str, zone: str, base: datetime, count: int) -> list[datetime]:
    out = subprocess.run(
        [
            "systemd-analyze",
            "calendar",
            f"--base-time={base.strftime('%Y-%m-%d %H:%M:%S')} UTC",
            f"--iterations={count}",
            f"{run_at} {zone}",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"TZ": "UTC", "PATH": "/usr/bin:/bin"},
    ).stdout
    found = re.findall(r"(?:Next elapse|Iter\. #\d+): \w+ (\S+ \S+) UTC", out)
    return [datetime.fromisoformat(f"{text}+00:00") for text in found]


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)
@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("run_at", RUN_ATS)
def test_fire_times_agree_with_systemd(zone: str, run_at: str) -> None:
    """Where run_at exists (once or twice), systemd fires when we do. On a day run_at
    does not exist systemd does not fire at all; we fire at the end of the gap."""
    settings = settings_for(zone, run_at)
    tz = ZoneInfo(zone)
    for start, count in WINDOWS:
        begin = datetime.combine(date.fromisoformat(start), time(), tz).astimezone(UTC)
        # In UTC: aware times of different zones compare unequal when one is repeated.
        ours = [f.astimezone(UTC) for f in next_fire_times(settings, begin, count)]
        theirs = _systemd(run_at, zone, begin - timedelta(seconds=1), count + 1)
        theirs = [
            t
            for t in theirs
            if t.astimezone(tz).date() <= date.fromisoformat(start) + timedelta(days=count - 1)
        ]
        by_day = {t.astimezone(tz).date(): t for t in theirs}
        assert len(by_day) == len(theirs)  # systemd never fires twice a day either
        gaps = [f for f in ours if f.astimezone(tz).date() not in by_day]
        assert [f for f in ours if f not in gaps] == theirs
        for fire in gaps:  # the days systemd leaves out: run_at is in the spring gap
            wall = datetime.combine(fire.astimezone(tz).date(), time.fromisoformat(run_at))
            assert (
                wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall
            )
        assert len(gaps) <= 1


@pytest.fixture
def clinic(backend: str, tmp_path: Path, inits: Inits) -> Clinic:
    made = Clinic(tmp_path, backend)
    inits.prepare(made, "test_schedule_days: clinic", _clinic)
    return made


def _clinic(clinic: Clinic) -> None:
    with freeze_time("2026-11-22T12:00:00Z"):
        clinic.ok("init", "--site", "main", "--timezone", "America/New_York")


def _edit(clinic: Clinic, old: str, new: str) -> None:
    path = clinic.folder / "screening.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize("run_at", ["01:00", "02:30", "02:59"])
def test_config_check_says_when_the_job_fires_on_the_change_days(
    clinic: Clinic, run_at: str
) -> None:
    """A run_at in the clocks' change hour is accepted, and config check says what the
    job does on the two days the clocks change."""
    _edit(clinic, 'run_at = "06:30"', f'run_at = "{run_at}"')
    with freeze_time("2026-12-06T12:00:00Z"):
        result = clinic.run("config", "check")
    assert result.exit_code == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if "schedule.run_at" in line]
    assert len(notes) == 1  # the next change day it concerns, not every year's
    if run_at == "01:00":  # 01:00 exists every day, and happens twice in the fall
        assert "does not exist" not in result.stderr
    else:
        assert (
            f"warning: schedule.run_at: {run_at} does not exist in America/New_York on "
            "2027-03-14 (clocks spring forward): the draw fires at 03:00 that day"
        ) in result.stderr
    if run_at in ("01:00",):
        assert (
            f"warning: schedule.run_at: {run_at} happens twice in America/New_York on "
            f"2027-11-07 (clocks fall back): the draw fires once, at the first {run_at} "
            "(01:00 EDT)"
        ) in result.stderr


def test_config_check_names_the_sites_own_change_hour(clinic: Clinic) -> None:
    """Helsinki moves its clocks at 03:00-04:00."""
    _edit(clinic, 'timezone = "America/New_York"', 'timezone = "Europe/Helsinki"')
    _edit(clinic, 'run_at = "06:30"', 'run_at = "03:30"')
    with freeze_time("2026-12-06T12:00:00Z"):
        result = clinic.run("config", "check")
    assert result.exit_code == 0, result.stderr
    assert (
        "warning: schedule.run_at: 03:30 does not exist in Europe/Helsinki on 2027-03-28 "
        "(clocks spring forward): the draw fires at 04:00 that day"
    ) in result.stderr
    assert "happens twice in Europe/Helsinki on 2027-10-31" in result.stderr


def test_config_check_is_quiet_for_a_time_the_clocks_leave_alone(clinic: Clinic) -> None:
    result = clinic.run("config", "check")
    assert result.exit_code == 0
    assert "schedule.run_at" not in result.stderr


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)
@pytest.mark.parametrize("run_at", ["00:30", "01:30"])
def test_schedule_next_json_agrees_with_systemd_across_the_fall_change(
    clinic: Clinic, run_at: str
) -> None:
    """What `schedule next --json` prints, read back: one draw a local day at run_at, the
    instants systemd gives for the same calendar (01:30 happens twice on 7 November: the
    first), and the text form names the same days with their zones."""
    _edit(clinic, 'run_at = "06:30"', f'run_at = "{run_at}"')
    with freeze_time("2027-11-04T12:00:00Z"):
        fires = json.loads(clinic.ok("schedule", "next", "--count", "6", "--json").stdout)
        text = clinic.ok("schedule", "next", "--count", "6").stdout.splitlines()
    utc = [datetime.fromisoformat(f["utc"].replace("Z", "+00:00")) for f in fires]
    theirs = _systemd(run_at, "America/New_York", datetime(2027, 11, 4, 12, tzinfo=UTC), 6)
    assert utc == theirs
    assert [f["date"] for f in fires] == [d.isoformat() for d in _days("2027-11-05", 6)]
    assert [datetime.fromisoformat(f["local"]) for f in fires] == utc
    assert [line.split("  ")[0] for line in text] == [
        f"{datetime.fromisoformat(f['local']):%a %Y-%m-%d %H:%M} {zone}"
        for f, zone in zip(fires, ["EDT", "EDT", "EDT", "EST", "EST", "EST"], strict=True)
    ]

"""Progress letters (`screening report progress`), walking the issue's stories: a drug
court's monthly letter under a criminal-justice consent, the consent expiring, a parent
who may know of attendance only, a revocation and a restriction that stop the next
letter at once, a preview that records nothing, and a proceeding against the client that
no consent here allows. The HTML letter is printed in headless Chromium: one page.

One client's November is made once through the CLI (every meeting day drawn), and each
test starts from a copy of it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from tests.conftest import Clinic, isolate

ZONE = ZoneInfo("America/New_York")
CODE = "C-101"
COURT = "Example County Drug Court"
PARENT = "Pat Parent"
NOVEMBER = ("--from", "2026-11-01", "--to", "2026-11-30")
# Words only a letter that shares results may hold.
RESULT_WORDS = ("negative", "positive", "dilute", "confirmed", "THC", "tampering")


def at(day: date, clock: str) -> datetime:
    hours, minutes = map(int, clock.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=ZONE).astimezone(UTC)


def _every_day_drawn(config: Path) -> None:
    """Phase 1 at 3 tests a week on the 3-day morning track: drawn every meeting day."""
    config.write_text(config.read_text().replace("tests_per_week = 2\n", "tests_per_week = 3\n", 1))


# What happens on each of November's meeting days after the draw; the rest are clean.
PLAN = {
    date(2026, 11, 4): "dilute",
    date(2026, 11, 6): "THC",
    date(2026, 11, 9): "no-show",
    date(2026, 11, 11): "refused",
    date(2026, 11, 13): "unable",
}


def _november(clinic: Clinic) -> None:
    with freeze_time(at(date(2026, 10, 30), "07:00")):
        clinic.ok("init", "--site", "main", "--timezone", "America/New_York")
        _every_day_drawn(clinic.folder / "screening.toml")
        clinic.ok(
            "clients", "add", CODE, "--track", "morning", "--phase", "1", "--name", "Test Client",
            "--admitted", "2026-10-30",
        )  # fmt: skip
    day = date(2026, 11, 2)
    while day <= date(2026, 11, 30):
        if day.weekday() in (0, 2, 4):
            with freeze_time(at(day, "07:00")):
                clinic.ok("select")
            what = PLAN.get(day, "clean")
            with freeze_time(at(day, "10:00")):
                if what == "clean":
                    clinic.ok("results", "record", CODE, "--temperature-ok")
                elif what == "dilute":
                    clinic.ok("results", "record", CODE, "--creatinine", "3", "--sg", "1.0020")
                elif what == "THC":
                    clinic.ok(
                        "results", "record", CODE, "--positive", "THC", "--confirmed",
                        "--level", "THC=80", "--method", "lab",
                    )  # fmt: skip
                elif what == "no-show":
                    clinic.ok("results", "no-show", CODE)
                elif what == "refused":
                    clinic.ok("results", "refused", CODE, "--reason", "declined")
                else:
                    clinic.ok("results", "unable", CODE)
        day += timedelta(days=1)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("november")
    with pytest.MonkeyPatch.context() as patch:
        isolate(folder, patch)
        _november(Clinic(folder, f"sqlite:///{folder / 'screening.db'}"))
    yield folder


@pytest.fixture
def clinic(made: Path, tmp_path: Path) -> Clinic:
    """A copy of the November clinic, in the test's own folder."""
    for item in made.iterdir():
        if item.is_dir():
            shutil.copytree(item, tmp_path / item.name, dirs_exist_ok=True)
        else:
            shutil.copy2(item, tmp_path / item.name)
    return Clinic(tmp_path, f"sqlite:///{tmp_path / 'screening.db'}")


def test_history_is_there(clinic: Clinic) -> None:
    with freeze_time(at(date(2026, 12, 1), "09:00")):
        print(clinic.ok("timeline", CODE, *NOVEMBER).stdout)

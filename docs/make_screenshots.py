"""Make the screenshots in docs/ of the printed pages: the front desk's sheet
(`screening today --format html`) and a timeline printed on two pages, each page as
Chromium prints it (`--print-to-pdf`, with its own header and footer on, as a person
printing would have them) turned into PNG by poppler's `pdftoppm`.

    python docs/make_screenshots.py FOLDER [--code C-104] [--at 2026-12-04T15:30:00Z]
    python docs/make_screenshots.py FOLDER --sample    # makes a sample clinic first

FOLDER is a clinic (its screening.toml); the commands run there as a user types them,
at ``--at`` (a frozen clock, UTC) or now. ``--sample`` first fills an empty FOLDER with
a synthetic clinic (names made up, seven weeks of draws and results through the real
commands) and takes its last day as ``--at``. ``--code`` is the client whose timeline is
printed (the sample's: C-104). Needs /usr/bin/chromium and pdftoppm (poppler-utils), and
the dev dependencies (freezegun).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

DOCS = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
ZONE = ZoneInfo("America/New_York")
SAMPLE_FIRST = date(2026, 10, 19)  # a Monday
SAMPLE_LAST = date(2026, 12, 4)  # a Friday: the sheet's day
SAMPLE_CODE = "C-104"
# Made-up names for a made-up clinic.
NAMES = [
    "Avery Lindqvist", "Jordan Okafor", "Riley Marchetti", "Casey Abernathy",
    "Morgan Delacroix", "Quinn Haverford", "Rowan Castellanos", "Skyler Nakamura",
    "Emerson Vasquez", "Harper Oyelaran", "Reese Kowalczyk", "Dakota Ferreira",
    "Finley Ashworth", "Sawyer Mbeki", "Parker Solberg", "Hayden Iwasaki",
    "Blake Thorvaldsen", "Cameron Adeyemi", "Drew Pellegrino", "Elliot Szabo",
    "Frankie Muldoon", "Gray Okonkwo", "Jamie Rasmussen", "Kendall Ibarra",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--code", help="the client whose timeline is printed")
    parser.add_argument("--at", help="the moment the commands run, UTC (default: now)")
    parser.add_argument("--sample", action="store_true", help="make a sample clinic first")
    args = parser.parse_args()
    folder = args.folder.resolve()
    os.environ.pop("SCREENING_DATABASE_URL", None)
    at = datetime.fromisoformat(args.at) if args.at else None
    if args.sample:
        folder.mkdir(parents=True, exist_ok=True)
        os.chdir(folder)
        at = make_sample()
    os.chdir(folder)
    code = args.code or SAMPLE_CODE
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        with frozen(at):
            run("today", "--format", "html", "--out", str(work / "today.html"))
            run("timeline", code, "--format", "html", "--out", str(work / "timeline.html"))
        pages = shoot(work / "today.html", work, "today")
        _keep(pages[:1], ["today.png"])
        pages = shoot(work / "timeline.html", work, "timeline")
        if len(pages) < 2:
            sys.exit(f"the timeline of {code} prints on {len(pages)} page; pick a longer one")
        _keep(pages[:2], ["timeline-print-1.png", "timeline-print-2.png"])


def run(*args: str) -> str:
    """A command as a user types it, in this process (so that a frozen clock holds)."""
    from typer.testing import CliRunner

    from screening.cli import app

    result = CliRunner().invoke(app, list(args))
    if result.exit_code != 0:
        sys.exit(f"screening {' '.join(args)}: {result.stderr or result.stdout}")
    return str(result.stdout)


@contextmanager
def frozen(moment: datetime | None) -> Iterator[None]:
    if moment is None:
        with nullcontext():
            yield
        return
    from freezegun import freeze_time

    import screening.db.models  # noqa: F401  imported before the clock stops (tests/conftest.py)

    with freeze_time(moment):
        yield


def shoot(page: Path, work: Path, name: str) -> list[Path]:
    """``page`` printed by Chromium as a person would, each page a small PNG."""
    pdf = work / f"{name}.pdf"
    subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update",
            f"--user-data-dir={work / 'profile'}", f"--print-to-pdf={pdf}", page.as_uri(),
        ],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    subprocess.run(["pdftoppm", "-r", "64", "-png", str(pdf), str(work / name)], check=True)
    return sorted(work.glob(f"{name}-*.png"))


def _keep(pages: list[Path], names: list[str]) -> None:
    for page, name in zip(pages, names, strict=True):
        (DOCS / name).write_bytes(page.read_bytes())
        print(f"wrote docs/{name}")


# --- the sample clinic ----------------------------------------------------------------


def local(day: date, clock: str) -> datetime:
    hours, minutes = map(int, clock.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=ZONE).astimezone(UTC)


def make_sample() -> datetime:
    """Twenty-four made-up clients on two tracks over seven weeks, through the real commands:
    daily draws, clean screens, a few positives and no-shows, a dilute recollected under
    observation; on the last day some collected, a for-cause test and the rest pending.
    Returns the moment (the last day, mid-afternoon) the screenshots are taken at."""
    if Path("screening.toml").exists():
        sys.exit("--sample needs an empty folder: this one has a clinic")
    with frozen(local(SAMPLE_FIRST, "06:00")):
        run("init", "--site", "main", "--timezone", "America/New_York")
        rows = [
            f"C-{101 + i},{name},{('morning', 'evening')[i % 2]},{1 + i % 3},2026-10-12,"
            + ("buprenorphine" if i == 3 else "")
            for i, name in enumerate(NAMES)
        ]
        header = "code,name,track,phase,admitted_on,medications"
        Path("clients.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
        run("clients", "import", "clients.csv")
        Path("clients.csv").unlink()
    day = SAMPLE_FIRST
    while day <= SAMPLE_LAST:
        if day.weekday() < 5:
            with frozen(local(day, "07:00")):
                drawn = json.loads(run("select", "--json"))
            codes = [row["code"] for row in drawn["selected"]]
            if day < SAMPLE_LAST:
                _ordinary_day(day, codes)
            else:
                _last_day(day, codes)
        day += timedelta(days=1)
    return local(SAMPLE_LAST, "15:30")


def _meds(code: str) -> list[str]:
    return ["--positive", "BUP,NORBUP"] if code == "C-104" else []


def _ordinary_day(day: date, codes: list[str]) -> None:
    """Most screens clean; by a fixed hash of the day and code, now and then a positive,
    a no-show or a dilute specimen (recollected at once, observed)."""
    for n, code in enumerate(codes):
        roll = hashlib.sha256(f"{day}{code}".encode()).digest()[0]
        with frozen(local(day, f"{9 + n // 6}:{(n % 6) * 10:02d}")):
            if roll < 14:
                run("results", "no-show", code)
            elif roll < 30:
                run("results", "record", code, *_positive(code, "THC"), "--temperature-ok")
            elif roll < 38:
                run("results", "record", code, *_meds(code), "--creatinine", "4", "--sg", "1.002")
                run("results", "record", code, *_meds(code), "--observed", "--temperature-ok")
            else:
                run("results", "record", code, *_meds(code), "--temperature-ok")


def _positive(code: str, analyte: str) -> list[str]:
    meds = _meds(code)
    return ["--positive", ",".join([*meds[1:], analyte])] if meds else ["--positive", analyte]


def _last_day(day: date, codes: list[str]) -> None:
    """The sheet's day: the first few collected (one dilute, so recollected under
    observation), a for-cause test asked for, the rest still to come."""
    for n, code in enumerate(codes[:3]):
        with frozen(local(day, f"09:{n * 15:02d}")):
            if n == 1:
                run("results", "record", code, *_meds(code), "--creatinine", "4", "--sg", "1.002")
            else:
                run("results", "record", code, *_meds(code), "--temperature-ok")
    with frozen(local(day, "11:20")):
        spare = next(f"C-{101 + i}" for i in range(len(NAMES)) if f"C-{101 + i}" not in codes)
        run("results", "for-cause", spare, "--reason", "staff concern")


if __name__ == "__main__":
    main()

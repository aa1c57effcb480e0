"""Makes tests/data/clinic-0005/: a SQLite clinic written by screening at schema 0005
(commit e8a0b55, before issue 13), kept so that tests prove old clinics upgrade and keep
verifying. It cannot be made again with today's code (the point of keeping it): this
script is its provenance.

Three weeks of a New York clinic (2026-11-02 to 2026-11-20): eight synthetic clients, a
brand-name and a misspelt medication as the old code accepted them, daily draws, negative
and positive results, a staff-recorded no-show, a sweep no-show, a refusal, an excusal
with its approver, a hold, a closure, a lab confirmation and a discharge.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from freezegun import freeze_time
from typer.testing import CliRunner

from screening.cli import app

ZONE = ZoneInfo("America/New_York")
runner = CliRunner()


def at(day: date, clock: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(clock), ZONE).astimezone(UTC)


def run(day: date, clock: str, *args: str) -> str:
    with freeze_time(at(day, clock)):
        result = runner.invoke(app, list(args), env={"USER": "staff1"})
    if result.exit_code != 0:
        sys.exit(f"{args}: {result.exit_code} {result.stdout} {result.stderr}")
    return result.stdout


def main(folder: Path) -> None:
    folder.mkdir(parents=True)
    os.chdir(folder)
    start = date(2026, 11, 2)
    run(start, "06:00", "init", "--site", "main", "--timezone", "America/New_York")
    config = folder / "screening.toml"
    config.write_text(config.read_text().replace("tests_per_week = 2\n", "tests_per_week = 3\n", 1))
    (folder / "clients.csv").write_text(
        "code,name,track,phase,admitted_on,medications\n"
        "C-301,Old Client One,morning,1,2026-11-02,suboxone\n"
        "C-302,Old Client Two,morning,1,2026-11-02,buprenorphin\n"
        "C-303,Old Client Three,morning,1,2026-11-02,methadone\n"
        "C-304,Old Client Four,morning,1,2026-11-02,\n"
        "C-305,Old Client Five,morning,2,2026-11-02,\n"
        "C-306,Old Client Six,evening,1,2026-11-02,\n"
        "C-307,Old Client Seven,evening,2,2026-11-02,\n"
        "C-308,Old Client Eight,morning,1,2026-11-02,\n"
    )
    run(start, "06:10", "clients", "import", "clients.csv")
    run(start, "06:20", "close", "2026-11-11", "--reason", "Veterans Day")
    run(
        start,
        "06:25",
        "clients",
        "hold",
        "C-308",
        "--from",
        "2026-11-09",
        "--to",
        "2026-11-13",
        "--reason",
        "hospital stay",
    )
    day = start
    while day <= date(2026, 11, 20):
        if day.weekday() < 5 and day != date(2026, 11, 11):
            run(day, "07:00", "select")
            pending = run(day, "07:05", "results", "pending", "--json")
            import json

            for row in json.loads(pending):
                code = row["code"]
                if code == "C-304" and day == date(2026, 11, 4):
                    run(day, "09:00", "results", "no-show", code)
                elif code == "C-304" and day == date(2026, 11, 9):
                    run(day, "09:00", "results", "refused", code, "--reason", "declined")
                elif code == "C-305" and day == date(2026, 11, 6):
                    run(
                        day,
                        "09:00",
                        "results",
                        "excuse",
                        code,
                        "--reason",
                        "medical",
                        "--approved-by",
                        "Dr A. Lee",
                    )
                elif code == "C-306" and day == date(2026, 11, 12):
                    pass  # left to the sweep
                elif code in ("C-301", "C-302"):
                    run(day, "10:00", "results", "record", code, "--positive", "BUP,NORBUP")
                elif code == "C-303":
                    run(day, "10:00", "results", "record", code, "--positive", "MTD,EDDP")
                elif code == "C-308" and day == date(2026, 11, 16):
                    run(
                        day,
                        "10:00",
                        "results",
                        "record",
                        code,
                        "--positive",
                        "THC",
                        "--level",
                        "THC=80",
                        "--specimen-id",
                        "SP-0001",
                    )
                else:
                    run(day, "10:00", "results", "record", code)
        day += timedelta(days=1)
    found = json.loads(run(day, "08:00", "results", "list", "--client", "C-308", "--json"))
    positive = next(r for r in found if r["date"] == "2026-11-16")
    run(
        day,
        "08:10",
        "results",
        "amend",
        str(positive["result"]),
        "--reason",
        "lab_confirmation",
        "--positive",
        "THC",
        "--level",
        "THC=40",
        "--confirmed",
    )
    run(day, "08:20", "clients", "discharge", "C-307", "--reason", "completed program")
    print(run(day, "08:30", "audit", "verify"))


if __name__ == "__main__":
    main(Path(sys.argv[1]))

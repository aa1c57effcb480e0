"""Team report, reconciliation and re-admission, and how much they read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from tests.conftest import Clinic, Inits, write_csv

MONDAY = "2026-11-23T12:00:00Z"
LATER = "2026-11-23T15:00:00Z"


@pytest.fixture
def site(backend: str, tmp_path: Path, inits: Inits) -> Clinic:
    clinic = Clinic(tmp_path, backend)
    inits.prepare(clinic, "test_reports: site", _site)
    return clinic


def _site(clinic: Clinic) -> None:
    with freeze_time(MONDAY):
        clinic.ok("init", "--timezone", "America/New_York")
        config = clinic.folder / "screening.toml"
        config.write_text(
            config.read_text().replace("tests_per_week = 2\n", "tests_per_week = 3\n", 1)
        )
        rows = [f"C-{i:02d},Client {i},morning,1,2026-11-02," for i in range(1, 7)]
        clinic.ok("clients", "import", str(write_csv(clinic.folder / "c.csv", rows)))
        clinic.ok("select")


def _context(clinic: Clinic):  # type: ignore[no-untyped-def]
    from screening import config
    from screening.db.engine import Database, resolve_url
    from screening.services.plumbing.context import Actor, Context

    settings = config.load(clinic.folder / "screening.toml")
    now = datetime(2026, 11, 23, 15, tzinfo=UTC)
    return Context(
        settings,
        Database(resolve_url(clinic.url, clinic.folder)),
        Actor("staff1"),
        now,
        now.astimezone(settings.zone).date(),
    )


def _statements(clinic: Clinic, call) -> int:  # type: ignore[no-untyped-def]
    ctx = _context(clinic)
    count = 0

    def counter(*args) -> None:  # type: ignore[no-untyped-def]
        nonlocal count
        count += 1

    sa.event.listen(ctx.database.engine, "before_cursor_execute", counter)
    try:
        call(ctx)
    finally:
        ctx.database.dispose()
    return count


def test_team_report_flags_and_sorts(site: Clinic) -> None:
    with freeze_time(LATER):
        site.ok("results", "record", "C-01", "--positive", "COC")
        site.ok("results", "record", "C-02")
        site.ok("results", "no-show", "C-03")
        site.ok("results", "record", "C-04", "--creatinine", "1", "--sg", "1.0005")
        rows = json.loads(site.ok("report", "team", "--format", "json", "--sort", "flags").stdout)
    by_code = {r["code"]: r for r in rows}
    assert by_code["C-01"]["flags"] == ["unexpected positive in 7 days"]
    assert by_code["C-02"]["last_result"] == "negative" and by_code["C-02"]["negative_run"] == 1
    assert by_code["C-03"]["misses_30_days"] == 1
    assert "possible tampering" in by_code["C-04"]["flags"]
    counts = [len(r["flags"]) for r in rows]
    assert counts == sorted(counts, reverse=True)
    assert rows[0]["flags"] and not rows[-1]["flags"]


def test_team_report_reads_in_a_fixed_number_of_statements(site: Clinic) -> None:
    from screening.services.progress.reports import team

    # The first read by a user records their name once (staff_names): not counted.
    _statements(site, lambda ctx: team(ctx))
    few = _statements(site, lambda ctx: team(ctx))
    with freeze_time(LATER):
        more = [f"D-{i:03d},Client D{i},morning,1,2026-11-02," for i in range(60)]
        site.ok("clients", "import", str(write_csv(site.folder / "more.csv", more)))
    many = _statements(site, lambda ctx: team(ctx))
    assert few == many, "the team report must not query once per client"


def test_a_timeline_does_not_grow_with_other_clients(site: Clinic) -> None:
    from screening.services.progress.client_timeline import timeline

    _statements(site, lambda ctx: timeline(ctx, "C-01"))  # the user's name recorded
    alone = _statements(site, lambda ctx: timeline(ctx, "C-01"))
    with freeze_time(LATER):
        more = [f"D-{i:03d},Client D{i},morning,1,2026-11-02," for i in range(40)]
        site.ok("clients", "import", str(write_csv(site.folder / "more.csv", more)))
        for i in range(2, 7):
            site.ok("results", "record", f"C-{i:02d}")
    assert _statements(site, lambda ctx: timeline(ctx, "C-01")) == alone


def test_reconcile_counts_each_day_and_shows_days_without_a_draw(site: Clinic) -> None:
    with freeze_time(LATER):
        site.ok("results", "record", "C-01")
        site.ok("results", "refused", "C-02", "--reason", "declined")
        site.ok("results", "excuse", "C-03", "--reason", "court", "--approved-by", "Dr A. Lee")
        site.ok("results", "for-cause", "C-04", "--reason", "smelled of alcohol")
        rows = json.loads(
            site.ok("report", "reconcile", "--from", "2026-11-20", "--format", "json").stdout
        )
    assert [(r["date"], r["draw"]) for r in rows] == [
        ("2026-11-20", "before opening"),
        ("2026-11-21", "before opening"),
        ("2026-11-22", "before opening"),
        ("2026-11-23", "drawn"),
    ]
    today = rows[-1]
    assert (
        today["selected"],
        today["other"],
        today["collected"],
        today["missed"],
        today["excused"],
        today["pending"],
    ) == (6, 1, 1, 1, 1, 4)
    assert today["excusals"] == ["court (Dr A. Lee)"]


def test_bad_report_options(site: Clinic) -> None:
    with freeze_time(LATER):
        assert "--sort 'age' is not one of" in site.run("report", "team", "--sort", "age").stderr
        flag = site.run("report", "team", "--sort", "flag")
        assert flag.exit_code == 2 and flag.stderr.endswith("did you mean flags?\n")
        assert site.run("report", "team", "--sort", "Flags").exit_code == 0
        pdf = site.run("report", "team", "--format", "pdf")
        assert pdf.exit_code == 2 and "'pdf' is not one of" in pdf.stderr
        backwards = site.run("report", "reconcile", "--from", "2026-11-23", "--to", "2026-11-01")
    assert backwards.exit_code == 2 and "is after" in backwards.stderr


def test_readmission_starts_a_new_stay_and_verifies(site: Clinic) -> None:
    with freeze_time(LATER):
        site.ok("results", "record", "C-05")
        early = site.run("clients", "readmit", "C-05")
        site.ok("clients", "discharge", "C-05", "--on", "2026-11-23")
    with freeze_time("2026-11-30T15:00:00Z"):
        same_day = site.run("clients", "readmit", "C-05", "--on", "2026-11-23")
        site.ok("clients", "readmit", "C-05", "--phase", "2")
        shown = json.loads(site.ok("clients", "show", "C-05", "--json").stdout)
        data = json.loads(
            site.ok("timeline", "C-05", "--from", "2026-11-23", "--format", "json").stdout
        )
        site.ok("audit", "verify")
    assert early.exit_code == 2 and "only a discharged client" in early.stderr
    assert same_day.exit_code == 2 and "not after the discharge" in same_day.stderr
    assert (shown["status"], shown["phase"], shown["admitted_on"]) == ("active", "2", "2026-11-30")
    assert [e["text"] for e in data["events"]][-2:] == [
        "discharged on 2026-11-23",
        "re-admitted on 2026-11-30: phase 2",
    ]
    assert data["strip"][0]["days"][0] == "-"  # the screen on the first stay's last day
    assert data["strip"][0]["days"][2] == " "  # Wednesday, between the stays


def test_timeline_of_an_unknown_client_and_plain_text_under_no_color(site: Clinic) -> None:
    with freeze_time(LATER):
        unknown = site.run("timeline", "C-99")
        plain = site.run("timeline", "C-01", env={"NO_COLOR": "1", "TERM": "xterm-256color"})
    assert unknown.exit_code == 2 and "no client with code 'C-99'" in unknown.stderr
    assert plain.exit_code == 0 and "\x1b[" not in plain.stdout
    assert plain.stdout.startswith("C-01  Client 1\n")


def test_the_timeline_of_a_client_admitted_later_says_when_it_starts(clinic: Clinic) -> None:
    clinic.ok("clients", "add", "C-9", "--track", "morning", "--phase", "1",
              "--admitted", "2099-01-04")  # fmt: skip
    result = clinic.run("timeline", "C-9")
    assert result.exit_code == 2
    assert "client C-9 is admitted on 2099-01-04" in result.stderr
    assert "--from" not in result.stderr


def test_reconcile_tells_a_missed_meeting_day_from_days_with_nothing_to_draw(
    backend: str, tmp_path: Path
) -> None:
    """Only a meeting day nobody drew needs attention: days before the clinic existed,
    closures and days no track meets say why there is no draw."""
    clinic = Clinic(tmp_path, backend)
    with freeze_time("2026-11-18T14:00:00Z"):  # Wednesday
        clinic.ok("init", "--timezone", "America/New_York")
        rows = [f"C-{i:02d},Client {i},morning,1,2026-11-02," for i in range(1, 4)]
        clinic.ok("clients", "import", str(write_csv(tmp_path / "c.csv", rows)))
        clinic.ok("select")
        clinic.ok("close", "2026-11-19", "--reason", "holiday")
    # Friday 20 is a meeting day (morning: mon, wed, fri) that nobody drew.
    with freeze_time("2026-11-21T14:00:00Z"):  # Saturday: the daily job draws nobody
        clinic.ok("select")
    with freeze_time("2026-11-23T12:00:00Z"):  # Monday, before anyone draws
        forms = {
            form: clinic.run(
                "report",
                "reconcile",
                "--from",
                "2026-11-16",
                "--format",
                form,
                env={"COLUMNS": "160"},
            ).stdout
            for form in ("json", "csv", "text")
        }
    expected = [
        ("2026-11-16", "before opening", "before_start"),
        ("2026-11-17", "before opening", "before_start"),
        ("2026-11-18", "drawn", None),
        ("2026-11-19", "closed (holiday)", "closed"),
        ("2026-11-20", "no draw (missed)", "missed"),
        ("2026-11-21", "no meetings", "no_meeting"),
        ("2026-11-22", "no meetings", "no_meeting"),
        ("2026-11-23", "not drawn yet", "not_yet"),
    ]
    rows = json.loads(forms["json"])
    assert [(r["date"], r["draw"], r["no_draw"]) for r in rows] == expected
    lines = forms["csv"].splitlines()
    assert lines[0].startswith("date,draw,")
    assert [line.split(",")[1] for line in lines[1:]] == [draw for _, draw, _ in expected]
    lines = forms["text"].splitlines()
    for day, draw, _ in expected:
        assert any(day in line and draw in line for line in lines), (day, draw)

"""When a screening is due: `collect_within_hours` after its list exists, and a deadline
that would fall past the site's midnight runs to the end of that day. One rule for
`select` (late or not), for-cause screenings, `today`, the no-show sweep and verify."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time

from screening.core.policy import collection_deadline
from tests.conftest import Clinic, Inits, write_csv

POLICY = {"collect_within_hours": 12, "timezone": "America/New_York"}
NEW = {**POLICY, "past_midnight": "end_of_day"}


@pytest.fixture
def site(backend: str, tmp_path: Path, inits: Inits) -> Clinic:
    clinic = Clinic(tmp_path, backend)
    inits.prepare(clinic, "test_deadlines: site", _site)
    return clinic


def _site(clinic: Clinic) -> None:
    with freeze_time("2026-11-30T14:00:00Z"):
        clinic.ok("init", "--timezone", "America/New_York")
        # Everyone meets every day and is drawn every day: a full list to look at.
        config = clinic.folder / "screening.toml"
        config.write_text(config.read_text().replace('days = "meeting"', 'days = "calendar"'))
        text = config.read_text()
        config.write_text(text.replace("tests_per_week = 2\n", 'daily_probability = "1/1"\n', 1))
        rows = [f"C-{i:02d},Client {i},morning,1,2026-11-02," for i in range(1, 4)]
        clinic.ok("clients", "import", str(write_csv(clinic.folder / "c.csv", rows)))


def test_a_late_draw_in_the_afternoon_is_due_at_the_end_of_the_next_day(site: Clinic) -> None:
    """The issue's case: `select --late 2026-12-03` at 12-04 15:05 said "collect by
    2026-12-05 03:05", a time nobody collects."""
    with freeze_time("2026-12-04T20:05:00Z"):  # 15:05 in New York
        drawn = json.loads(
            site.ok("select", "--late", "2026-12-03", "--reason", "server down", "--json").stdout
        )
    assert drawn["selected"]
    assert {row["collect_by"] for row in drawn["selected"]} == {"2026-12-05 23:59"}
    assert {row["due_by"] for row in drawn["selected"]} == {"2026-12-05T23:59:59-05:00"}
    with freeze_time("2026-12-06T04:00:00Z"):  # 23:00 on the 5th: still due
        pending = json.loads(site.ok("results", "pending", "--json").stdout)
        assert {row["due_by"] for row in pending if row["date"] == "2026-12-03"} == {
            "2026-12-05 23:59"
        }
        site.ok("results", "record", "C-01")  # in time, late in the evening
    with freeze_time("2026-12-06T05:01:00Z"):  # 00:01 on the 6th: the rest are no-shows
        site.ok("audit", "reveal")  # any write sweeps
        statuses = dict(
            site.sql(
                "SELECT c.code, s.status FROM screenings s JOIN clients c ON c.id = s.client_id"
                " WHERE s.date = '2026-12-03'"
            )
        )
        verified = site.ok("audit", "verify")
    assert statuses == {"C-01": "collected", "C-02": "no_show", "C-03": "no_show"}
    assert "ledger intact" in verified.stdout


def test_a_morning_draw_keeps_its_hours(site: Clinic) -> None:
    with freeze_time("2026-12-04T11:30:00Z"):  # 06:30
        drawn = json.loads(site.ok("select", "--json").stdout)
        today = site.ok("today", "--json").stdout
    assert {row["collect_by"] for row in drawn["selected"]} == {"18:30"}
    assert "18:30" in today


def test_for_cause_in_the_evening_is_due_at_the_end_of_the_next_day(site: Clinic) -> None:
    with freeze_time("2026-12-04T23:00:00Z"):  # 18:00
        site.ok("results", "for-cause", "C-02", "--reason", "smelled of alcohol")
        pending = json.loads(site.ok("results", "pending", "--json").stdout)
        verified = site.ok("audit", "verify")
    assert [row["due_by"] for row in pending] == ["2026-12-05 23:59"]
    assert "ledger intact" in verified.stdout


@pytest.mark.parametrize(
    ("made", "old", "new"),
    [
        # 06:30 EST: within the day under both rules.
        ("2026-12-04T11:30:00Z", "2026-12-04T23:30:00Z", "2026-12-04T23:30:00Z"),
        # 15:05 EST: 03:05 next day, or its end.
        ("2026-12-04T20:05:00Z", "2026-12-05T08:05:00Z", "2026-12-06T04:59:59Z"),
        # 14:00 EST the day before the clocks spring forward: the 14th ends at 23:59 EDT.
        ("2027-03-13T19:00:00Z", "2027-03-14T07:00:00Z", "2027-03-15T03:59:59Z"),
    ],
)
def test_the_rule_and_the_one_old_ledgers_keep(made: str, old: str, new: str) -> None:
    """A policy entry written before the rule (no `past_midnight`) replays as it was."""
    at = datetime.fromisoformat(made)
    assert collection_deadline(at, POLICY) == datetime.fromisoformat(old)
    assert collection_deadline(at, NEW) == datetime.fromisoformat(new)
    assert collection_deadline(at, NEW).tzinfo is not None


def test_havana_ends_its_day_before_a_midnight_change() -> None:
    """Havana springs forward at midnight (14 March 2027 starts at 01:00 CDT); the day a
    deadline lands on still ends at its last second, 23:59:59 CDT."""
    policy = {
        "collect_within_hours": 12,
        "timezone": "America/Havana",
        "past_midnight": "end_of_day",
    }
    due = collection_deadline(datetime(2027, 3, 13, 20, tzinfo=UTC), policy)
    assert due == datetime(2027, 3, 15, 3, 59, 59, tzinfo=UTC)


def test_a_deadline_at_midnight_ends_the_lists_own_day() -> None:
    """12 hours from 12:00 is 00:00, the end of the list's day: it keeps its 12 hours
    instead of running to the end of the next day (36 hours)."""
    noon = datetime(2026, 12, 4, 17, tzinfo=UTC)  # 12:00 EST
    assert collection_deadline(noon, NEW) == datetime(2026, 12, 5, 5, tzinfo=UTC)
    a_second_later = datetime(2026, 12, 4, 17, 0, 1, tzinfo=UTC)
    assert collection_deadline(a_second_later, NEW) == datetime(2026, 12, 6, 4, 59, 59, tzinfo=UTC)


def _exported_verifier() -> object:
    import importlib.util

    path = Path(__file__).parents[1] / "screening" / "data" / "screening_verify.py"
    spec = importlib.util.spec_from_file_location("screening_verify_deadlines", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("zone", ["America/New_York", "America/Havana", "Australia/Lord_Howe"])
@pytest.mark.parametrize("rule", [None, "end_of_day"])
def test_the_auditors_verifier_keeps_the_same_rule(zone: str, rule: str | None) -> None:
    """The exported screening_verify.py (standard library only) computes every deadline
    as the program does, every 37 minutes through a year, under both rules."""
    verifier = _exported_verifier()
    policy = {"collect_within_hours": 12, "timezone": zone}
    if rule is not None:
        policy["past_midnight"] = rule
    at = datetime(2027, 1, 1, tzinfo=UTC)
    while at < datetime(2028, 1, 1, tzinfo=UTC):
        assert verifier.deadline(at, policy) == collection_deadline(at, policy), at  # type: ignore[attr-defined]
        at += timedelta(minutes=37)

"""`policy simulate`: the configured policy's effect, before it is put in force."""

from __future__ import annotations

import json
from pathlib import Path

from freezegun import freeze_time
from typer.testing import CliRunner

from screening.cli import app

runner = CliRunner()


def test_simulation_matches_the_policy_and_writes_nothing(tmp_path: Path) -> None:
    with freeze_time("2026-11-23T12:00:00Z"):
        assert runner.invoke(app, ["init", "--timezone", "America/New_York"]).exit_code == 0
        before = (tmp_path / "screening.db").read_bytes()
        result = runner.invoke(
            app, ["policy", "simulate", "--days", "280", "--runs", "4", "--clients", "24", "--json"]
        )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    rows = {(r["phase"], r["track"]): r for r in data["rows"]}
    # 2 tests a week is about 8.6 a month; 1 a week about 4.3; 0.5 about 2.1.
    assert 7.5 < rows[("1", "morning")]["per_month_mean"] < 9.7
    assert 3.5 < rows[("2", "morning")]["per_month_mean"] < 5.2
    assert rows[("3", "evening")]["per_month_mean"] > 1.4
    assert rows[("3", "evening")]["per_month_mean"] < 2.9
    # The interval cap holds, give or take the days the track does not meet.
    assert rows[("1", "morning")]["longest_gap_days"] <= 14 + 2
    assert rows[("2", "evening")]["longest_gap_days"] <= 21 + 4
    assert data["weekday_share"]["sat"] == 0 and data["weekday_share"]["sun"] == 0
    assert data["busiest_day"] <= 24
    assert (tmp_path / "screening.db").read_bytes() == before


def test_simulation_refuses_silly_sizes(tmp_path: Path) -> None:
    assert runner.invoke(app, ["init", "--timezone", "UTC"]).exit_code == 0
    result = runner.invoke(app, ["policy", "simulate", "--days", "3"])
    assert result.exit_code == 2 and "--days must be from 28 to 3660" in result.stderr

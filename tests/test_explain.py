"""`audit explain CODE`: each day's chance and number, and how usual the total is."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from freezegun import freeze_time

from tests.conftest import Clinic


def test_explain_shows_revealed_numbers_and_the_chance_of_the_total(
    backend: str, tmp_path: Path
) -> None:
    clinic = Clinic(tmp_path, backend)
    start = date(2026, 11, 2)  # a Monday
    with freeze_time("2026-11-02T12:00:00Z"):
        clinic.ok("init", "--timezone", "America/New_York")
        clinic.ok(
            "clients",
            "add",
            "C-1",
            "--track",
            "morning",
            "--phase",
            "3",
            "--admitted",
            "2026-11-01",
        )
    for offset in range(0, 19):
        day = start + timedelta(days=offset)
        with freeze_time(f"{day}T12:00:00Z"):
            clinic.ok("select")
    with freeze_time("2026-11-20T15:00:00Z"):
        data = json.loads(clinic.ok("audit", "explain", "C-1", "--json").stdout)
        text = clinic.ok("audit", "explain", "C-1").stdout
    meeting = [d for d in data["days"] if d["p"] is not None]
    assert len(meeting) == 9  # Mon/Wed/Fri from 2 to 20 November
    assert all(d["p"] == "1/6" for d in meeting)
    revealed = [d for d in meeting if d["number"] is not None]
    assert len(revealed) == 8, "the day not yet over shows no number"
    for d in revealed:
        assert (d["selected"] == "random") == (d["number"] < 1 / 6)
    assert data["expected_random"] == round(9 / 6, 2)
    assert data["observed_random"] == sum(d["selected"] == "random" for d in meeting)
    assert 0 < data["chance_at_least_observed"] <= 1
    assert "every day is drawn afresh" in data["summary"]
    assert "not yet revealed" in text
    assert all(len(line) <= 80 for line in text.splitlines())

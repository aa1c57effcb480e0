"""Four misses in ten screenings, under a policy that counts a miss as a positive.

The clinic's policy is the default, `[results] missed_counts_as = "positive"`.
C-301 (morning track, phase 1) is drawn every meeting day from Monday 2026-11-02 to
Monday 2026-11-23: ten screenings. Staff record six negative specimens and mark four
no-shows (Wednesday 4th, Friday 13th, Wednesday 18th, Friday 20th). C-302 is drawn on
the same days and gives ten negative specimens.

At the team meeting on Tuesday 2026-11-24 at 09:00:
- `timeline C-301` must not say 100 % negative: it says "60% (6 of 10; 4 misses
  counted as positive, per policy)", a current run of 1 and a longest run of 3 (each
  no-show ends a run), and 4 misses in the last 30 days, 2 in the last 7;
- `report team` shows the same run and rate for C-301 and flags "missed 4 screenings in
  the last 30 days (2 in the last 7)"; C-302 has no flag; `--sort flags` and
  `--sort misses` put C-301 first;
- `report reconcile` counts each no-show as missed on its day;
- `audit verify` says the ledger is intact.
"""

from __future__ import annotations

from datetime import date, timedelta

from tests.scenarios.conftest import Story

MEETINGS = [date(2026, 11, 2) + timedelta(days=d) for d in (0, 2, 4, 7, 9, 11, 14, 16, 18, 21)]
NO_SHOWS = {date(2026, 11, 4), date(2026, 11, 13), date(2026, 11, 18), date(2026, 11, 20)}


def test_four_misses_counted_as_positive(story: Story) -> None:
    story.enrol(
        "2026-11-02 06:50",
        "C-301,Ada Example,morning,1,2026-11-02,",
        "C-302,Bo Example,morning,1,2026-11-02,",
    )
    for day in MEETINGS:
        drawn = story.json(f"{day} 07:00", "select")
        assert sorted(s["code"] for s in drawn["selected"]) == ["C-301", "C-302"]
        if day in NO_SHOWS:
            story.ok(f"{day} 10:00", "results", "no-show", "C-301")
        else:
            story.ok(f"{day} 10:00", "results", "record", "C-301")
        story.ok(f"{day} 10:05", "results", "record", "C-302")

    meeting = "2026-11-24 09:00"
    timeline = story.json(meeting, "timeline", "C-301")
    m = timeline["measures"]
    assert m["negative_rate"] != 1.0
    assert (m["negatives"], m["rated"], m["negative_rate"]) == (6, 10, 0.6)
    assert (m["misses"], m["misses_in_rate"]) == (4, 4)
    assert (m["current_negative_run"], m["longest_negative_run"]) == (1, 3)
    assert (m["misses_last_30_days"], m["misses_last_7_days"]) == (4, 2)
    text = story.out(meeting, "timeline", "C-301")
    assert "60% (6 of 10; 4 misses counted as positive, per policy)" in text
    assert "100%" not in text
    assert "1 now, longest 3" in text

    team = {row["code"]: row for row in story.json(meeting, "report", "team")}
    assert team["C-301"]["negative_rate"] == m["negative_rate"]
    assert team["C-301"]["negative_run"] == m["current_negative_run"]
    assert team["C-301"]["misses_30_days"] == 4 and team["C-301"]["misses_7_days"] == 2
    assert "missed 4 screenings in the last 30 days (2 in the last 7)" in team["C-301"]["flags"]
    assert team["C-302"]["flags"] == [] and team["C-302"]["negative_rate"] == 1.0
    for sort in ("flags", "misses"):
        rows = story.json(meeting, "report", "team", "--sort", sort)
        assert [row["code"] for row in rows] == ["C-301", "C-302"]
    wide = story.run(meeting, "report", "team", "--sort", "flags", env={"COLUMNS": "160"})
    table = " ".join(wide.stdout.split())
    assert "C-301 Ada Example 1 2026-11-23 negative 1 60% 4 0 ! missed 4 screenings" in table
    assert "in the last 30 days (2 in the last 7)" in table

    reconcile = story.json(meeting, "report", "reconcile", "--from", "2026-11-02")
    missed = {row["date"]: row["missed"] for row in reconcile}
    assert all(missed[str(day)] == (1 if day in NO_SHOWS else 0) for day in MEETINGS)
    assert "ledger intact" in story.verify("2026-11-24 10:00")

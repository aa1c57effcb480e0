"""Four misses in ten screenings, under a policy that keeps misses apart.

The clinic sets `[results] missed_counts_as = "missed"`. C-311 (morning track, phase 1)
is drawn every meeting day from Monday 2026-11-02 to Monday 2026-11-23: ten screenings.
Staff record six negative specimens and mark four no-shows (Wednesday 4th, Friday 13th,
Wednesday 18th, Friday 20th).

At the team meeting on Tuesday 2026-11-24 at 09:00:
- `timeline C-311` says "100% (6 of 6; 4 misses kept apart, per policy)": the misses
  are out of the rate, but counted and shown (4 in the last 30 days, 2 in the last 7);
  a run of negatives passes over a miss (6 now, longest 6); the completion still counts
  them (6 completed of 10 due);
- `report team` shows the same run and rate and still flags "missed 4 screenings in the
  last 30 days (2 in the last 7)": the policy changes the rate, not the attendance;
- `audit verify` says the ledger is intact.
"""

from __future__ import annotations

from datetime import date, timedelta

from tests.scenarios.conftest import Story

MEETINGS = [date(2026, 11, 2) + timedelta(days=d) for d in (0, 2, 4, 7, 9, 11, 14, 16, 18, 21)]
NO_SHOWS = {date(2026, 11, 4), date(2026, 11, 13), date(2026, 11, 18), date(2026, 11, 20)}


def test_four_misses_kept_apart(story: Story) -> None:
    story.edit_config(
        lambda t: t.replace('missed_counts_as = "positive"', 'missed_counts_as = "missed"')
    )
    story.enrol("2026-11-02 06:50", "C-311,Ada Example,morning,1,2026-11-02,")
    for day in MEETINGS:
        story.ok(f"{day} 07:00", "select")
        if day in NO_SHOWS:
            story.ok(f"{day} 10:00", "results", "no-show", "C-311")
        else:
            story.ok(f"{day} 10:00", "results", "record", "C-311")

    meeting = "2026-11-24 09:00"
    m = story.json(meeting, "timeline", "C-311")["measures"]
    assert m["missed_counts_as"] == "missed"
    assert (m["negatives"], m["rated"], m["negative_rate"]) == (6, 6, 1.0)
    assert (m["misses"], m["misses_in_rate"]) == (4, 0)
    assert (m["current_negative_run"], m["longest_negative_run"]) == (6, 6)
    assert (m["completed"], m["due"]) == (6, 10)
    text = story.out(meeting, "timeline", "C-311")
    assert "100% (6 of 6; 4 misses kept apart, per policy)" in text
    assert "4 in the last 30 days, 2 in 7" in text
    assert "6 completed of 10 due (60%)" in text

    (row,) = story.json(meeting, "report", "team")
    assert (row["negative_rate"], row["negative_run"]) == (1.0, 6)
    assert row["flags"] == ["missed 4 screenings in the last 30 days (2 in the last 7)"]
    assert "ledger intact" in story.verify("2026-11-24 10:00")

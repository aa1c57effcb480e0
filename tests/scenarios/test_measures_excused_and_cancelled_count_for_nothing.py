"""An excused and a cancelled screening count for nothing: never negative, never a miss.

C-341 (morning track, phase 1) gives a negative specimen on Monday 2026-11-02. On
Wednesday 4th the screening is excused (medical, approved by Dr Lee); on Friday 6th it
is cancelled ("cup recalled by the maker"). On Monday 9th the specimen is negative.

At the team meeting on Tuesday 2026-11-10 at 09:00:
- `timeline C-341` says the run is 2 now, longest 2 (the excused and the cancelled days
  neither extend nor end it), the rate 100% (2 of 2), 2 completed of 2 due, no misses;
  the calendar shows E on the 4th and x on the 6th;
- the same under `missed_counts_as = "missed"`;
- `report team` shows the same run and rate and no flag;
- `report reconcile` shows the excusal (medical, Dr Lee) on the 4th and the cancellation
  on the 6th, neither as missed;
- `audit verify` says the ledger is intact.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_excused_and_cancelled_count_for_nothing(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-341,Ada Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-02 10:00", "results", "record", "C-341")
    story.ok("2026-11-04 07:00", "select")
    story.ok(
        "2026-11-04 08:00",
        "results", "excuse", "C-341", "--reason", "medical", "--approved-by", "Dr Lee",
    )  # fmt: skip
    story.ok("2026-11-06 07:00", "select")
    story.ok(
        "2026-11-06 08:00", "results", "cancel", "C-341", "--reason", "cup recalled by the maker"
    )
    story.ok("2026-11-09 07:00", "select")
    story.ok("2026-11-09 10:00", "results", "record", "C-341")

    meeting = "2026-11-10 09:00"
    data = story.json(meeting, "timeline", "C-341")
    m = data["measures"]
    assert (m["current_negative_run"], m["longest_negative_run"]) == (2, 2)
    assert (m["negatives"], m["rated"], m["negative_rate"]) == (2, 2, 1.0)
    assert (m["completed"], m["due"], m["misses"], m["misses_last_30_days"]) == (2, 2, 0, 0)
    week = next(w for w in data["strip"] if w["week_of"] == "2026-11-02")
    assert week["days"][2] == "E" and week["days"][4] == "x"
    by_day = {s["date"]: s["in_measures"] for s in data["screenings"]}
    assert by_day == {
        "2026-11-02": "negative",
        "2026-11-04": None,
        "2026-11-06": None,
        "2026-11-09": "negative",
    }
    text = story.out(meeting, "timeline", "C-341")
    assert "2 now, longest 2" in text and "100% (2 of 2)" in text
    assert "2 completed of 2 due (100%)" in text

    (row,) = story.json(meeting, "report", "team")
    assert (row["negative_run"], row["negative_rate"], row["flags"]) == (2, 1.0, [])
    reconcile = {
        row["date"]: row
        for row in story.json(meeting, "report", "reconcile", "--from", "2026-11-02")
    }
    assert reconcile["2026-11-04"]["excusals"] == ["medical (Dr Lee)"]
    assert (reconcile["2026-11-04"]["excused"], reconcile["2026-11-04"]["missed"]) == (1, 0)
    assert (reconcile["2026-11-06"]["cancelled"], reconcile["2026-11-06"]["missed"]) == (1, 0)

    story.edit_config(
        lambda t: t.replace('missed_counts_as = "positive"', 'missed_counts_as = "missed"')
    )
    apart = story.json("2026-11-10 09:30", "timeline", "C-341")["measures"]
    assert {k: v for k, v in apart.items() if k != "missed_counts_as"} == {
        k: v for k, v in m.items() if k != "missed_counts_as"
    }
    assert "ledger intact" in story.verify("2026-11-10 10:00")

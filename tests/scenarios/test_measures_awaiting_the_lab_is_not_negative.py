"""A specimen waiting for the lab is not a negative, nor is one the cup could not read.

C-351 (morning track, phase 1) gives a negative point-of-care specimen on Monday
2026-11-02. On Wednesday 4th the specimen is collected and sent to the lab (specimen id
LAB-351-1): no outcome yet. On Friday 6th the cup cannot read THC (inconclusive) and the
rest is negative.

At the team meeting on Saturday 2026-11-07 at 09:00:
- `timeline C-351` counts only Monday's specimen: rate 100% (1 of 1), run 1 now, 1
  completed of 1 due, "2 awaiting the lab"; the screenings of the 4th and the 6th add
  nothing to the measures;
- `report team` shows the same run and rate;
- `report reconcile` shows the 4th collected but not resulted;
- `audit verify` says the ledger is intact.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_awaiting_the_lab_is_not_negative(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-351,Ada Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-02 10:00", "results", "record", "C-351")
    story.ok("2026-11-04 07:00", "select")
    story.ok(
        "2026-11-04 10:00",
        "results", "record", "C-351", "--sent-to-lab", "--method", "lab",
        "--specimen-id", "LAB-351-1",
    )  # fmt: skip
    story.ok("2026-11-06 07:00", "select")
    story.ok("2026-11-06 10:00", "results", "record", "C-351", "--inconclusive", "THC")

    meeting = "2026-11-07 09:00"
    data = story.json(meeting, "timeline", "C-351")
    m = data["measures"]
    assert (m["negatives"], m["rated"], m["negative_rate"]) == (1, 1, 1.0)
    assert (m["current_negative_run"], m["completed"], m["due"]) == (1, 1, 1)
    assert m["awaiting_lab"] == 2
    assert {s["date"]: s["in_measures"] for s in data["screenings"]} == {
        "2026-11-02": "negative",
        "2026-11-04": None,
        "2026-11-06": None,
    }
    text = " ".join(story.out(meeting, "timeline", "C-351").split())
    assert "100% (1 of 1)" in text and "2 awaiting the lab" in text

    (row,) = story.json(meeting, "report", "team")
    assert (row["negative_run"], row["negative_rate"]) == (1, 1.0)
    reconcile = {
        row["date"]: row
        for row in story.json(meeting, "report", "reconcile", "--from", "2026-11-02")
    }
    assert (reconcile["2026-11-04"]["collected"], reconcile["2026-11-04"]["resulted"]) == (1, 0)
    assert "ledger intact" in story.verify("2026-11-07 10:00")

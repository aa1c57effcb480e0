"""A plain week: two morning clients in phase 1 are drawn on Monday, both give a
negative specimen by mid-morning, and every view agrees.

Days: Monday 2026-11-02 (the draw at 07:00, collections at 10:00), Tuesday (the team
meeting at 09:00, the auditor at 10:00).
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_a_plain_week(story: Story) -> None:
    story.enrol(
        "2026-11-02 06:50",
        "C-201,Ada Example,morning,1,2026-11-02,",
        "C-202,Bo Example,morning,1,2026-11-02,",
    )
    drawn = story.json("2026-11-02 07:00", "select")
    assert sorted(s["code"] for s in drawn["selected"]) == ["C-201", "C-202"]
    story.ok("2026-11-02 10:00", "results", "record", "C-201")
    story.ok("2026-11-02 10:05", "results", "record", "C-202")

    team = {row["code"]: row for row in story.json("2026-11-03 09:00", "report", "team")}
    assert team["C-201"]["flags"] == []
    timeline = story.json("2026-11-03 09:00", "timeline", "C-201")
    assert timeline["measures"]["completed"] == 1
    reconcile = story.json("2026-11-03 09:00", "report", "reconcile", "--from", "2026-11-02")
    day = next(row for row in reconcile if row["date"] == "2026-11-02")
    assert (day["selected"], day["collected"], day["missed"]) == (2, 2, 0)
    assert "ledger intact" in story.verify("2026-11-03 10:00")

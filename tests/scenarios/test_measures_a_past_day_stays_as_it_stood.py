"""A report of a past day does not change when later entries come in.

Days: Monday 2026-11-02, C-681 and C-682 (morning, phase 1) are drawn at 07:00. Staff
mark C-681 a no-show at 18:00; C-682 gives nothing by 19:00 and Tuesday's draw (07:00)
records the miss. On Tuesday the team reads Monday: one miss each. On Friday the no-show
of C-681 is reversed (the cup turned up) and C-682's specimen, collected Monday at 10:00,
is entered late. The team report and the timeline as of Monday still say what they said
on Tuesday: a miss each, nothing overdue, nothing entered late yet; as of Friday they
show the reversal and the late entry.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def _monday(story: Story, when: str) -> dict[str, dict]:
    rows = story.json(when, "report", "team", "--date", "2026-11-02")
    return {row["code"]: row for row in rows}


def test_a_past_day_stays_as_it_stood(story: Story) -> None:
    story.enrol(
        "2026-11-02 06:50",
        "C-681,Max Example,morning,1,2026-11-02,",
        "C-682,Ned Example,morning,1,2026-11-02,",
    )
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-02 18:00", "results", "no-show", "C-681")
    story.ok("2026-11-03 07:00", "select")
    before = _monday(story, "2026-11-03 09:00")
    timeline_before = story.json("2026-11-03 09:00", "timeline", "C-682", "--to", "2026-11-02")

    [c681] = [r for r in story.json("2026-11-06 09:00", "results", "list", "--client", "C-681")
              if r["date"] == "2026-11-02"]  # fmt: skip
    story.ok("2026-11-06 09:05", "results", "reverse", str(c681["screening"]), "--reason",
             "cup found", "--approved-by", "Dr A. Lee")  # fmt: skip
    story.ok("2026-11-06 09:10", "results", "record", "C-681", "--screening",
             str(c681["screening"]), "--collected-at", "2026-11-02T10:00", "--reason",
             "cup found")  # fmt: skip
    [c682] = [r for r in story.json("2026-11-06 09:15", "results", "list", "--client", "C-682")
              if r["date"] == "2026-11-02"]  # fmt: skip
    story.ok("2026-11-06 09:20", "results", "record", "C-682", "--screening",
             str(c682["screening"]), "--collected-at", "2026-11-02T10:00", "--reason",
             "form found")  # fmt: skip

    after = _monday(story, "2026-11-06 10:00")
    for code in ("C-681", "C-682"):
        assert after[code]["misses_30_days"] == before[code]["misses_30_days"] == 1, code
        assert after[code]["flags"] == before[code]["flags"], code
        assert not any("overdue" in flag or "late" in flag for flag in after[code]["flags"])
    timeline_after = story.json("2026-11-06 10:00", "timeline", "C-682", "--to", "2026-11-02")
    assert timeline_after["measures"] == timeline_before["measures"]
    assert not [e for e in timeline_after["events"] if "entered late" in e["text"]]

    friday = {row["code"]: row for row in story.json("2026-11-06 10:00", "report", "team")}
    assert friday["C-681"]["misses_30_days"] == 0 and friday["C-682"]["misses_30_days"] == 0
    assert "entered late: 1" in friday["C-682"]["flags"]
    assert "ledger intact" in story.verify("2026-11-06 10:30")

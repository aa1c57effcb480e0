"""After a late entry the timeline tells one story: its events and its calendar agree.

Days: Monday 2026-11-30, C-601 (morning, phase 1) is drawn at 07:00 and gives a
negative specimen at 10:00 that is not entered. Wednesday 12-02 the draw's write sweeps
the 11-30 screening into a no-show; C-601 is drawn again and collected on time. Thursday
12-03 at 09:00 the 11-30 specimen is entered late, with its reason.

`timeline C-601` must then show, for 11-30, a collection in the event list (with
"entered late on 2026-12-03 09:00" and the reason) and "-" (negative) in the calendar;
no event says "no-show", and the 12-02 specimen is an event of 12-02 only.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_the_late_entry_timeline_reads_consistently(story: Story) -> None:
    story.enrol("2026-11-30 06:50", "C-601,Ho Example,morning,1,2026-11-30,")
    story.ok("2026-11-30 07:00", "select")
    story.ok("2026-12-02 07:00", "select")
    story.ok("2026-12-02 10:00", "results", "record", "C-601")
    story.ok(
        "2026-12-03 09:00",
        "results",
        "record",
        "C-601",
        "--collected-at",
        "2026-11-30T10:00",
        "--reason",
        "form found in the wrong tray",
    )
    timeline = story.json("2026-12-03 09:30", "timeline", "C-601", "--from", "2026-11-30")
    on_30 = [e["text"] for e in timeline["events"] if e["date"] == "2026-11-30"]
    assert any(
        t.startswith("specimen collected")
        and "entered late on 2026-12-03 09:00: form found in the wrong tray" in t
        for t in on_30
    ), on_30
    assert not any("no-show" in e["text"] for e in timeline["events"])
    on_02 = [e["text"] for e in timeline["events"] if e["date"] == "2026-12-02"]
    assert sum(t.startswith("specimen collected") for t in on_02) == 1
    assert not any("entered late" in t for t in on_02)
    week = next(w for w in timeline["strip"] if w["week_of"] == "2026-11-30")
    assert week["days"][0] == "-" and week["days"][2] == "-"
    assert "N" not in "".join(c for w in timeline["strip"] for c in w["days"])

    text = story.out("2026-12-03 09:30", "timeline", "C-601", "--from", "2026-11-30")
    assert "entered late on 2026-12-03 09:00" in text
    assert "no show" not in text and "no-show" not in text.split("legend")[0]

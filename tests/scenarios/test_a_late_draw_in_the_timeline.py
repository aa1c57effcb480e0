"""A day drawn late reads as such in the client's timeline.

Days: Monday 2026-11-02 the server is down and nobody draws. Tuesday at 08:00 staff draw
Monday late (`select --late 2026-11-02 --reason "server down"`); C-641 (morning, phase
1) is selected. The timeline's event, dated Tuesday when the draw was made, says it was
the late draw for Monday, so the team does not read a selection on a day the track does
not meet; `audit verify` flags the late draw.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_a_late_draw_says_its_day(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-641,Hal Example,morning,1,2026-11-02,")
    story.ok("2026-11-03 08:00", "select", "--late", "2026-11-02", "--reason", "server down")
    timeline = story.json("2026-11-03 09:00", "timeline", "C-641", "--from", "2026-11-02")
    texts = [event["text"] for event in timeline["events"]]
    assert "selected at random in the late draw for 2026-11-02" in texts
    assert "flag: late draw" in story.verify("2026-11-03 09:10")

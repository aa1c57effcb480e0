"""An excusal does not reset the maximum-gap clock: it counts from the last collection.

Phase 2 has no random tests and max_days_between_tests = 7 (the interval floor).
Days: C-801 (morning: mon, wed, fri) is admitted Monday 2026-11-02. Monday 11-09 (7 days
on) C-801 is drawn for "interval"; staff excuse it (medical, approved by Dr A. Lee).
Wednesday 11-11 C-801 is drawn for "interval" again: nine days since the last
collection (none since admission), although only two since the excused screening. The
specimen is collected; Friday 11-13 C-801 is not drawn (two days since a collection).

`timeline` shows both interval selections; `audit verify` and an auditor's own
screening-verify.py (on an export) replay each draw with the policy's rule
(interval_from = "collection") and find it intact.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story, standalone_verifier


def test_an_excusal_does_not_reset_the_interval_clock(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-801,Jo Example,morning,2,2026-11-02,")
    assert story.json("2026-11-02 07:00", "select")["selected"] == []
    nine = story.json("2026-11-09 07:00", "select")["selected"]
    assert [(s["code"], s["why"]) for s in nine] == [("C-801", "interval")]
    story.ok(
        "2026-11-09 08:00",
        "results",
        "excuse",
        "C-801",
        "--reason",
        "medical",
        "--approved-by",
        "Dr A. Lee",
    )
    eleven = story.json("2026-11-11 07:00", "select")["selected"]
    assert [(s["code"], s["why"]) for s in eleven] == [("C-801", "interval")]
    story.ok("2026-11-11 10:00", "results", "record", "C-801")
    assert story.json("2026-11-13 07:00", "select")["selected"] == []

    timeline = story.json("2026-11-13 08:00", "timeline", "C-801", "--from", "2026-11-02")
    texts = [e["text"] for e in timeline["events"]]
    assert texts.count("selected: interval floor reached") == 2
    verified = story.verify("2026-11-14 09:00")
    assert "ledger intact" in verified
    assert "draws replayed" in standalone_verifier(story, "2026-11-14 09:10")

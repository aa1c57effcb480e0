"""An adulterated specimen counts as a refusal (49 CFR 40.191(b)) in every view.

Days: Monday 2026-11-02, C-671 (morning, phase 1) is drawn at 07:00 and at 10:00 gives a
specimen in which an oxidizing adulterant is found. `report reconcile`, `report team`
and `timeline` each count one miss for the day (the specimen was collected, and is a
refusal), so the three views agree.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_an_adulterated_specimen_is_one_miss_in_every_view(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-671,Lou Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-02 10:00", "results", "record", "C-671", "--oxidant")
    reconcile = story.json("2026-11-02 11:00", "report", "reconcile", "--from", "2026-11-02")
    monday = next(r for r in reconcile if r["date"] == "2026-11-02")
    assert (monday["collected"], monday["missed"]) == (1, 1)
    [team] = story.json("2026-11-02 11:00", "report", "team")
    assert team["misses_30_days"] == 1
    timeline = story.json("2026-11-02 11:00", "timeline", "C-671")
    assert timeline["measures"]["misses_last_30_days"] == 1

"""A for-cause screening on a day the client was also drawn: staff say which screening
a specimen is for.

Days: Wednesday 2026-11-11, C-621 (morning, phase 1) is drawn at 07:00. At 10:00 staff
smell alcohol and ask for a for-cause screening. At 10:02 they record a specimen
without saying which screening it is for: refused (exit 2), naming both (random and for
cause, each with its deadline), so the specimen cannot silently settle the random one
and leave the for-cause one to become a miss. With `--screening` the ETG positive goes
to the for-cause screening; the random one stays pending, and `report team` shows the
positive without any miss.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_a_specimen_goes_to_the_screening_staff_name(story: Story) -> None:
    story.enrol("2026-11-11 06:50", "C-621,Fi Example,morning,1,2026-11-02,")
    story.ok("2026-11-11 07:00", "select")
    story.ok("2026-11-11 10:00", "results", "for-cause", "C-621", "--reason", "smelled of alcohol")
    error = story.refused("2026-11-11 10:02", 2, "results", "record", "C-621", "--positive", "ETG")
    assert "C-621 has 2 open screenings" in error
    assert "random of 2026-11-11" in error and "for cause of 2026-11-11" in error
    assert "--screening N" in error
    rows = {r["reason"]: r for r in story.json("2026-11-11 10:03", "results", "list")}
    story.ok("2026-11-11 10:04", "results", "record", "C-621", "--positive", "ETG",
             "--screening", str(rows["for_cause"]["screening"]))  # fmt: skip
    rows = {r["reason"]: r for r in story.json("2026-11-11 10:05", "results", "list")}
    assert rows["for_cause"]["reading"] == "unexpected_positive"
    assert rows["random"]["status"] == "pending"
    team = {r["code"]: r for r in story.json("2026-11-11 10:06", "report", "team")}
    assert team["C-621"]["misses_30_days"] == 0
    assert "ledger intact" in story.verify("2026-11-11 10:10")

"""A client discharged on a day they were drawn owes no specimen.

Days: Monday 2026-11-02, C-611 (morning, phase 1) is drawn at 07:00 and, at 11:00,
discharged having completed the program, before giving a specimen. The screening is
cancelled with the discharge (said by the command), so no miss appears at the 19:00
deadline: the timeline ends on the discharge, not on a no-show, and `report reconcile`
counts no miss for the day. C-612, drawn the same day and discharged on Tuesday after
missing Monday's deadline, keeps that miss: it happened before the discharge.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_a_discharge_cancels_a_screening_not_yet_due(story: Story) -> None:
    story.enrol(
        "2026-11-02 06:50",
        "C-611,Di Example,morning,1,2026-11-02,",
        "C-612,Ed Example,morning,1,2026-11-02,",
    )
    story.ok("2026-11-02 07:00", "select")
    done = story.run("2026-11-02 11:00", "clients", "discharge", "C-611", "--reason", "completed")
    assert done.exit_code == 0, done.stderr
    assert "cancelled: a discharged client owes no specimen" in done.stderr
    story.ok("2026-11-03 08:00", "clients", "discharge", "C-612", "--reason", "moved away")

    rows = {r["code"]: r for r in story.json("2026-11-03 08:10", "results", "list")}
    assert rows["C-611"]["status"] == "cancelled"
    assert rows["C-612"]["status"] == "no_show"
    timeline = story.json("2026-11-03 08:10", "timeline", "C-611", "--from", "2026-11-02")
    assert timeline["measures"]["misses_last_30_days"] == 0
    assert not [e for e in timeline["events"] if "no-show" in e["text"]]
    reconcile = story.json("2026-11-03 08:10", "report", "reconcile", "--from", "2026-11-02")
    monday = next(r for r in reconcile if r["date"] == "2026-11-02")
    assert (monday["selected"], monday["missed"]) == (2, 1)
    assert "ledger intact" in story.verify("2026-11-03 08:20")

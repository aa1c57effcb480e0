"""`today` lists every screening of the day staff must collect, not only the draw's.

Days: Monday 2026-11-02, C-601 and C-602 (morning, phase 1) are drawn at 07:00 (C-603,
in phase 2, is not). At 10:00 C-601's cup is dilute and negative (creatinine 3.1
mg/dL): an observed recollection is ordered at once. At 11:00 staff ask for a
for-cause screening of C-603, who was not drawn. `today` must show the recollection
and the for-cause screening as pending beside the draw's list; `select` (the draw
itself) keeps showing only who was drawn.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_today_lists_recollections_and_for_cause_screenings(story: Story) -> None:
    story.enrol(
        "2026-11-02 06:50",
        "C-601,Al Example,morning,1,2026-11-02,",
        "C-602,Bea Example,morning,1,2026-11-02,",
        "C-603,Cy Example,morning,2,2026-11-02,",
    )
    drawn = story.json("2026-11-02 07:00", "select")
    assert "C-603" not in {row["code"] for row in drawn["selected"]}
    story.ok(
        "2026-11-02 10:00", "results", "record", "C-601", "--creatinine", "3.1", "--sg", "1.0020"
    )
    story.ok("2026-11-02 11:00", "results", "for-cause", "C-603", "--reason", "observed impairment")

    today = story.json("2026-11-02 11:05", "today")
    rows = [(row["code"], row["why"], row["status"]) for row in today["selected"]]
    assert ("C-601", "recollection", "pending") in rows
    assert ("C-603", "for_cause", "pending") in rows
    assert ("C-601", "random", "collected") in rows
    text = story.run("2026-11-02 11:06", "today")
    assert "3 pending, 1 done" in text.stderr

    again = story.json("2026-11-02 11:07", "select")
    assert sorted(row["code"] for row in again["selected"]) == ["C-601", "C-602"]

"""`report team --date D` reads misses as they stood on D, never as "overdue".

Days: Monday 2026-11-02, C-631 (morning, phase 1) is drawn at 07:00 and gives nothing
by the 19:00 deadline. Tuesday's draw at 07:00 (a write) records the miss, dated at the
deadline. On Friday the team looks back: as of Monday and as of Thursday the screening
is a miss, flagged as one; it is not "overdue" on any past day (the report once flagged
every old sweep no-show as overdue).
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_overdue_as_the_record_stood(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-631,Gus Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-03 07:00", "select")  # Tuesday: the sweep records Monday's miss

    def flags(day: str) -> list[str]:
        [row] = story.json("2026-11-06 09:00", "report", "team", "--date", day)
        return row["flags"]

    for day in ("2026-11-02", "2026-11-05"):
        found = flags(day)
        assert not any("overdue" in flag for flag in found), (day, found)
        assert any(flag.startswith("missed 1 screening") for flag in found), (day, found)

"""Another client's specimen does not change a client's past day.

Days: Monday 2026-11-02, C-511 and C-512 (morning, phase 1: 3 tests a week on a 3-day
track) are drawn together at 07:00. C-511 gives a specimen at 10:00, entered at once;
C-512 gives none. Tuesday 11-03 at 07:30 the day's `select` sweeps C-512 into a no-show.
Wednesday 11-04 at 07:00 both are drawn again, and at 09:00 staff enter a specimen of
C-512's collected Monday at 10:30, late, with its reason.

`report team --date 2026-11-02`, read on Wednesday, shows the record as it stood at the
end of Monday: C-511 negative; C-512 past its deadline, a miss (the sweep counts from
the deadline), its late entry not there yet. Both screenings were created by one draw
entry: C-511's specimen belongs to C-511's screening only, never to C-512's. Read today,
C-512's Monday is collected and entered late.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_a_specimen_stays_with_its_own_client_as_of_a_past_day(story: Story) -> None:
    story.enrol(
        "2026-11-02 06:50",
        "C-511,Ha Example,morning,1,2026-11-02,",
        "C-512,Io Example,morning,1,2026-11-02,",
    )
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-02 10:05", "results", "record", "C-511", "--collected-at", "2026-11-02T10:00")
    story.ok("2026-11-03 07:30", "select")
    story.ok("2026-11-04 07:00", "select")  # both drawn again: screenings made later
    monday = next(
        s["screening"]
        for s in story.json("2026-11-04 08:59", "results", "list", "--client", "C-512")
        if s["date"] == "2026-11-02"
    )
    story.ok(
        "2026-11-04 09:00",
        "results",
        "record",
        "C-512",
        "--collected-at",
        "2026-11-02T10:30",
        "--reason",
        "form found in the wrong tray",
        "--screening",
        str(monday),
    )

    then = {
        r["code"]: r
        for r in story.json("2026-11-04 09:10", "report", "team", "--date", "2026-11-02")
    }
    assert then["C-511"]["last_result"] == "negative"
    assert (then["C-512"]["last_result"], then["C-512"]["misses_30_days"]) == ("no_show", 1)
    assert then["C-512"]["entered_late_30_days"] == 0

    now = {r["code"]: r for r in story.json("2026-11-04 09:10", "report", "team")}
    assert now["C-512"]["last_result"] == "negative"
    assert (now["C-512"]["misses_30_days"], now["C-512"]["entered_late_30_days"]) == (0, 1)

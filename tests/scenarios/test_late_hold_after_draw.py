"""A hold entered after the day's draw excuses that day's screening, with its reason.

Days: Monday 2026-11-02, C-701 (morning, phase 1) is drawn at 07:00. At 09:00 the clinic
hears C-701 was admitted to hospital overnight: `clients hold C-701 --from 2026-11-02
--to 2026-11-04 --reason hospital`. That day's pending screening is excused ("hold",
with the hold's reason) at once, so the next day's write does not make it an automatic
no-show. Wednesday 11-04 C-701 is left out of the draw (on hold).

`report reconcile` shows 11-02 as excused, "hold (hospital)", and no miss; `timeline`
says "excused: on hold (hospital)" and its calendar shows "E"; `report team` shows no
miss; `audit verify` is intact.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_a_hold_after_the_draw_excuses_the_day(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-701,Ida Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    done = story.ok(
        "2026-11-02 09:00",
        "clients",
        "hold",
        "C-701",
        "--from",
        "2026-11-02",
        "--to",
        "2026-11-04",
        "--reason",
        "hospital",
    )
    assert "excused: on hold" in done.stderr
    story.ok("2026-11-03 07:00", "select")  # a write: the sweep finds nothing overdue
    drawn = story.json("2026-11-04 07:00", "select")
    assert drawn["selected"] == [] and drawn["left_out"] == {"hold": 1}

    rows = story.json("2026-11-04 08:00", "results", "list", "--client", "C-701")
    assert [(r["status"], r["excuse"]) for r in rows] == [("excused", "hold")]
    reconcile = story.json("2026-11-04 08:00", "report", "reconcile", "--from", "2026-11-02")
    day = next(r for r in reconcile if r["date"] == "2026-11-02")
    assert (day["excused"], day["missed"], day["excusals"]) == (1, 0, ["hold (hospital)"])
    timeline = story.json("2026-11-04 08:00", "timeline", "C-701", "--from", "2026-11-02")
    assert "excused: on hold (hospital)" in [e["text"] for e in timeline["events"]]
    assert timeline["strip"][0]["days"][0] == "E"
    team = {r["code"]: r for r in story.json("2026-11-04 08:00", "report", "team")}
    assert team["C-701"]["misses_30_days"] == 0
    verified = story.verify("2026-11-04 09:00")
    assert "ledger intact" in verified
    assert "flag: drawn screening excused by a hold entered after the draw main 2026-11-02" in (
        verified
    )
    # A closure entered for a day already over (a forgotten draw turned into a closed day)
    # is flagged too.
    story.ok("2026-11-04 09:30", "close", "2026-11-01", "--reason", "snow")
    assert "flag: closure entered after its day main 2026-11-01" in story.verify("2026-11-04 09:40")

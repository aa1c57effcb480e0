"""A specimen collected in time but entered after the sweep made it a no-show.

Days: Monday 2026-11-02, C-501 (morning, phase 1) is drawn at 07:00 and gives a
specimen at 10:00 that nobody enters. Tuesday 11-03 at 07:30 a write (the day's
`select`) sweeps the overdue screening into an automatic no-show. At 09:00 staff enter
the specimen with `--collected-at 2026-11-02T10:00`: without `--reason` it is refused
(exit 2); with one it settles the sweep's no-show (no reversal needed: the sweep is
not a staff decision).

`report reconcile` then shows 11-02 as collected and entered late, not missed; `report
team` flags "entered late: 1"; `audit verify` is intact and lists the late entry.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_a_specimen_entered_after_the_sweep(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-501,Gi Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-03 07:30", "select")
    assert (
        story.json("2026-11-03 07:31", "results", "list", "--client", "C-501")[0]["status"]
        == "no_show"
    )
    record = ("results", "record", "C-501", "--collected-at", "2026-11-02T10:00")
    error = story.refused("2026-11-03 09:00", 2, *record)
    assert "was due by 2026-11-02 19:00" in error and "add --reason" in error
    story.ok("2026-11-03 09:01", *record, "--reason", "entered after the shift ended")

    reconcile = story.json("2026-11-03 09:10", "report", "reconcile", "--from", "2026-11-02")
    day = next(r for r in reconcile if r["date"] == "2026-11-02")
    assert (day["collected"], day["missed"], day["entered_late"]) == (1, 0, 1)
    team = {r["code"]: r for r in story.json("2026-11-03 09:10", "report", "team")}
    assert "entered late: 1" in team["C-501"]["flags"]
    text = story.out("2026-11-03 09:10", "report", "team")
    assert "entered late: 1" in " ".join(text.split())  # the flag, wrapped in its column
    verified = story.verify("2026-11-03 10:00")
    assert "ledger intact" in verified
    assert "flag: collection entered late main 2026-11-02" in verified

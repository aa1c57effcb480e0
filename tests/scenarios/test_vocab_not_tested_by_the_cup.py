"""What the cup did not test is "not tested", not negative, and never reads as diversion.

C-170 takes buprenorphine. Monday 2026-11-02 the clinic's cup has no buprenorphine
strip: staff record `--not-tested BUP,NORBUP` and the cup's other lines read negative
(the panel's default, listed by `record`). The same morning C-171, who takes nothing,
gives a cup without an EtG line: `--not-tested ETG`.

Thursday at 09:00 `timeline` for C-170 reads the screening negative (what was tested is
negative) with BUP and NORBUP "not tested", and no "possible diversion"; `report team`
raises no flag for either client; `report reconcile` counts the screenings resulted;
`audit verify` says intact.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_not_tested_is_not_negative(story: Story) -> None:
    story.enrol(
        "2026-11-02 06:50",
        "C-170,Sky Example,morning,1,2026-11-02,buprenorphine",
        "C-171,Tay Example,morning,1,2026-11-02,",
    )
    story.ok("2026-11-02 07:00", "select")
    recorded = story.ok(
        "2026-11-02 10:00", "results", "record", "C-170", "--not-tested", "BUP,NORBUP"
    )
    assert "not tested: BUP, NORBUP" in recorded.stderr
    assert "as read on the cup: AMP" in recorded.stderr
    story.ok("2026-11-02 10:05", "results", "record", "C-171", "--not-tested", "ETG")

    [row] = story.json("2026-11-02 10:10", "results", "list", "--client", "C-170")
    assert row["reading"] == "negative"
    assert "BUP: not tested" in row["says"]
    assert not any("diversion" in flag for flag in row["flags"])

    timeline = story.json("2026-11-05 09:00", "timeline", "C-170")
    assert timeline["screenings"][0]["counts_as"] == "negative"
    team = {row["code"]: row for row in story.json("2026-11-05 09:00", "report", "team")}
    assert team["C-170"]["flags"] == [] and team["C-171"]["flags"] == []
    reconcile = story.json("2026-11-05 09:00", "report", "reconcile", "--from", "2026-11-02")
    day = next(row for row in reconcile if row["date"] == "2026-11-02")
    assert (day["collected"], day["resulted"]) == (2, 2)
    assert "ledger intact" in story.verify("2026-11-05 10:00")

"""An opiate immunoassay does not see oxycodone: each assay is read on its own.

C-130 takes OxyContin (kept as oxycodone). Monday 2026-11-02 the cup shows OXY positive
and OPI positive: OXY is explained by the prescription, OPI (codeine/morphine) is not.
Wednesday 2026-11-04 the cup shows OXY only: an expected positive, clean.

On Thursday at 09:00 `timeline` reads Monday as an unexpected positive for OPI only and
Wednesday as clean; `report team` flags the unexpected positive; `report reconcile`
counts both screenings resulted; `audit verify` says intact.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_oxycodone_explains_oxy_but_not_opi(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-130,Olly Example,morning,1,2026-11-02,OxyContin")
    assert story.json("2026-11-02 06:55", "clients", "show", "C-130")["medications"] == [
        "oxycodone"
    ]
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-02 10:00", "results", "record", "C-130", "--positive", "OXY,OPI")
    [row] = story.json("2026-11-02 10:05", "results", "list", "--client", "C-130")
    assert row["reading"] == "unexpected_positive"
    assert "OXY screen cutoff 100 ng/mL: positive (expected: oxycodone)" in row["says"]
    assert (
        "OPI screen cutoff 2000 ng/mL: positive (unexpected: no prescription explains it)"
        in row["says"]
    )
    story.ok("2026-11-04 07:00", "select")
    story.ok("2026-11-04 10:00", "results", "record", "C-130", "--positive", "OXY")

    timeline = story.json("2026-11-05 09:00", "timeline", "C-130")
    monday, wednesday = timeline["screenings"]
    assert (monday["reading"], wednesday["reading"]) == ("unexpected_positive", "expected_positive")
    assert wednesday["counts_as"] == "expected_positive"
    team = {row["code"]: row for row in story.json("2026-11-05 09:00", "report", "team")}
    assert "unexpected positive in 7 days" in team["C-130"]["flags"]
    assert "unexpected negative" not in team["C-130"]["flags"]
    reconcile = story.json("2026-11-05 09:00", "report", "reconcile", "--from", "2026-11-02")
    assert sum(row["resulted"] for row in reconcile) == 2
    assert "ledger intact" in story.verify("2026-11-05 10:00")

"""A level over the cutoff is a positive, whatever staff forgot to tick.

Monday 2026-11-02: C-119 (no prescriptions) is drawn at 07:00. At 10:00 staff type the
analyser's cocaine level, 900 ng/mL, and no outcome: the urine panel's screen cutoff for
COC is 150, so the specimen is stored positive for COC, and `record` says which analytes
took the panel's default (negative, as read on the cup).

Tuesday at 09:00 the team reads: `timeline` shows an unexpected positive for COC with
its level and cutoff in words, `report team` flags the unexpected positive, `report
reconcile` counts the screening collected and resulted, and `audit verify` says intact.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_a_level_over_the_cutoff_is_stored_positive(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-119,Sage Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    recorded = story.ok("2026-11-02 10:00", "results", "record", "C-119", "--level", "COC=900")
    assert "negative for the urine panel, as read on the cup: AMP, MAMP" in recorded.stderr
    assert "COC" not in recorded.stderr.split("as read on the cup:")[1].split("(")[0]

    [row] = story.json("2026-11-02 10:05", "results", "list", "--client", "C-119")
    assert row["reading"] == "unexpected_positive"
    assert row["positives"] == ["COC"]
    assert (
        "COC 900 ng/mL, screen cutoff 150: positive (unexpected: no prescription explains it)"
        in row["says"]
    )
    shown = story.out("2026-11-02 10:05", "results", "show", str(row["result"]))
    assert "COC 900 ng/mL, screen cutoff 150: positive (unexpected" in shown
    assert "THC screen cutoff 50 ng/mL: negative" in shown

    timeline = story.json("2026-11-03 09:00", "timeline", "C-119")
    [screening] = timeline["screenings"]
    assert (screening["reading"], screening["positives"]) == ("unexpected_positive", ["COC"])
    assert timeline["measures"]["completed"] == 1
    team = {row["code"]: row for row in story.json("2026-11-03 09:00", "report", "team")}
    assert "unexpected positive in 7 days" in team["C-119"]["flags"]
    reconcile = story.json("2026-11-03 09:00", "report", "reconcile", "--from", "2026-11-02")
    day = next(row for row in reconcile if row["date"] == "2026-11-02")
    assert (day["selected"], day["collected"], day["resulted"]) == (1, 1, 1)
    assert "ledger intact" in story.verify("2026-11-03 10:00")

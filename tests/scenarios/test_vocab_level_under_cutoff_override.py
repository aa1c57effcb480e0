"""An outcome against its own level is refused, unless staff say why; the reason is then
shown everywhere and guarded by the ledger.

Monday 2026-11-02: C-120 is drawn at 07:00. At 10:00 staff enter `--positive MAMP
--level MAMP=80`: 80 ng/mL is below the methamphetamine screen cutoff of 500, so the
command is refused (exit 2, saying the level is below the cutoff) and nothing is
written. At 10:05 they enter it again with `--override-reason "cup line visible, analyser
level suspect"`: stored positive as stated, with the reason.

Then `results show`, `results list` and the JSON carry the reason beside the level and
cutoff; `timeline` shows the positive; `report team` flags it; `report reconcile` counts
it resulted; `audit verify` says intact, and names the entry once the stored reason is
edited behind the program's back.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story

REASON = "cup line visible, analyser level suspect"


def test_an_outcome_against_its_level_needs_a_reason(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-120,Tatum Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    before = story.ledger_size()
    error = story.refused(
        "2026-11-02 10:00", 2, "results", "record", "C-120", "--positive", "MAMP",
        "--level", "MAMP=80",
    )  # fmt: skip
    assert "MAMP is given as positive, but its level 80 is below the screen cutoff 500" in error
    assert "--override-reason" in error
    assert len(error.strip().splitlines()) == 1
    assert story.ledger_size() == before

    recorded = story.ok(
        "2026-11-02 10:05", "results", "record", "C-120", "--positive", "MAMP",
        "--level", "MAMP=80", "--override-reason", REASON,
    )  # fmt: skip
    assert REASON in recorded.stderr
    [row] = story.json("2026-11-02 10:10", "results", "list", "--client", "C-120")
    assert row["override_reason"] == REASON
    assert row["positives"] == ["MAMP"]
    words = next(w for w in row["says"] if w.startswith("MAMP"))
    assert words == (
        "MAMP 80 ng/mL, screen cutoff 500: positive (unexpected: no prescription explains "
        f"it) - stated against its level (override: {REASON})"
    )
    shown = story.out("2026-11-02 10:10", "results", "show", str(row["result"]))
    assert f"override reason: {REASON}" in shown
    assert "MAMP 80 ng/mL, screen cutoff 500: positive" in shown
    table = story.out("2026-11-02 10:10", "results", "list", "--client", "C-120")
    assert "override" in table

    timeline = story.json("2026-11-03 09:00", "timeline", "C-120")
    assert timeline["screenings"][0]["positives"] == ["MAMP"]
    team = {row["code"]: row for row in story.json("2026-11-03 09:00", "report", "team")}
    assert "unexpected positive in 7 days" in team["C-120"]["flags"]
    reconcile = story.json("2026-11-03 09:00", "report", "reconcile", "--from", "2026-11-02")
    day = next(row for row in reconcile if row["date"] == "2026-11-02")
    assert (day["collected"], day["resulted"]) == (1, 1)
    assert "ledger intact" in story.verify("2026-11-03 10:00")

    story.clinic.sql("UPDATE result_versions SET override_reason = 'nothing to see'")
    broken = story.run("2026-11-03 10:05", "audit", "verify")
    assert broken.exit_code == 1
    assert "entry" in broken.stderr

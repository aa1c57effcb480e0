"""A lab file naming an analyte nobody knows is refused whole, with the code meant.

Monday 2026-11-02: C-150 is drawn at 07:00 and the specimen sent to the lab at 10:00
(LAB-150). Tuesday at 08:00 the lab's file names "benzoylecgonin" (a typo): the file is
refused (exit 2) with "did you mean COC", and nothing is imported. At 08:10 the
corrected file names "benzoylecgonine", which the vocabulary knows as COC, and says
`final`: COC positive at 320 ng/mL (cutoff 150), the rest not tested.

Tuesday at 09:00 `timeline` reads an unexpected positive for COC; `report team` flags
it; `report reconcile` counts the screening resulted; `audit verify` says intact.
"""

from __future__ import annotations

from tests.conftest import write_csv
from tests.scenarios.conftest import Story

HEADER = "specimen_id,collected_at,analyte,outcome,level,cutoff,method,lab_report_id,report_status"


def test_an_unknown_analyte_in_a_lab_file_is_refused(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-150,Quinn Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    story.ok(
        "2026-11-02 10:00", "results", "record", "C-150", "--sent-to-lab", "--method", "lab",
        "--specimen-id", "LAB-150",
    )  # fmt: skip
    typo = write_csv(
        story.folder / "lab.csv",
        ["LAB-150,2026-11-02T10:00,benzoylecgonin,,320,150,immunoassay,R-9,final"],
        header=HEADER,
    )
    before = story.ledger_size()
    error = story.refused("2026-11-03 08:00", 2, "results", "import", str(typo))
    assert "line 2, column analyte: unknown analyte 'benzoylecgonin'; did you mean COC?" in error
    assert "nothing was imported" in error
    assert story.ledger_size() == before

    fixed = write_csv(
        story.folder / "lab.csv",
        ["LAB-150,2026-11-02T10:00,benzoylecgonine,,320,150,immunoassay,R-9,final"],
        header=HEADER,
    )
    story.ok("2026-11-03 08:10", "results", "import", str(fixed))
    [row] = story.json("2026-11-03 08:15", "results", "list", "--client", "C-150")
    assert row["positives"] == ["COC"]
    assert (
        "COC 320 ng/mL, screen cutoff 150: positive (unexpected: no prescription explains it)"
        in row["says"]
    )

    timeline = story.json("2026-11-03 09:00", "timeline", "C-150")
    assert timeline["screenings"][0]["reading"] == "unexpected_positive"
    team = {row["code"]: row for row in story.json("2026-11-03 09:00", "report", "team")}
    assert "unexpected positive in 7 days" in team["C-150"]["flags"]
    reconcile = story.json("2026-11-03 09:00", "report", "reconcile", "--from", "2026-11-02")
    day = next(row for row in reconcile if row["date"] == "2026-11-02")
    assert (day["collected"], day["resulted"]) == (1, 1)
    assert "ledger intact" in story.verify("2026-11-03 10:00")

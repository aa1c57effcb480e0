"""A lab's partial report leaves the rest awaiting the lab; its final report settles the
screening, and what it never tested is "not tested", never negative.

Monday 2026-11-02: C-140 (buprenorphine) is drawn at 07:00; at 10:00 the specimen is
sent to the lab (LAB-140). Tuesday at 08:00 the lab's first file reports BUP and NORBUP
only (no report_status: partial). Wednesday at 08:00 its final report adds THC and COC
negative and says `final`; the other analytes of the panel were not tested.

Tuesday at 09:00 `results list` still says awaiting the lab, `report reconcile` counts
the screening collected but not resulted, and `timeline` counts it neither due nor
clean.
Wednesday at 09:00 `report reconcile` counts it resulted, `timeline` reads it as an
expected positive with the untested analytes "not tested" (no diversion flag from them),
`report team` raises no flag, and `audit verify` says intact.
"""

from __future__ import annotations

from tests.conftest import write_csv
from tests.scenarios.conftest import Story

HEADER = "specimen_id,collected_at,analyte,outcome,level,cutoff,method,lab_report_id"


def test_a_partial_report_then_a_final_one(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-140,Pat Example,morning,1,2026-11-02,buprenorphine")
    story.ok("2026-11-02 07:00", "select")
    sent = story.ok(
        "2026-11-02 10:00", "results", "record", "C-140", "--sent-to-lab", "--method", "lab",
        "--specimen-id", "LAB-140",
    )  # fmt: skip
    assert "awaiting the lab: AMP" in sent.stderr
    first = write_csv(
        story.folder / "lab-1.csv",
        [
            "LAB-140,2026-11-02T10:00,BUP,positive,42,5,LC-MS/MS,R-1",
            "LAB-140,2026-11-02T10:00,norbuprenorphine,,61,5,LC-MS/MS,R-1",
        ],
        header=HEADER,
    )
    story.ok("2026-11-03 08:00", "results", "import", str(first))

    [row] = story.json("2026-11-03 09:00", "results", "list", "--client", "C-140")
    assert row["reading"] == "pending"
    assert (
        "NORBUP 61 ng/mL, confirmation cutoff 5: positive (expected: buprenorphine), confirmed"
        in row["says"]
    )
    assert "COC screen cutoff 150 ng/mL: awaiting the lab" in row["says"]
    reconcile = story.json("2026-11-03 09:00", "report", "reconcile", "--from", "2026-11-02")
    monday = next(r for r in reconcile if r["date"] == "2026-11-02")
    assert (monday["collected"], monday["resulted"]) == (1, 0)
    timeline = story.json("2026-11-03 09:00", "timeline", "C-140")
    assert timeline["screenings"][0]["counts_as"] == "pending"
    assert (timeline["measures"]["due"], timeline["measures"]["completed"]) == (0, 0)

    final = write_csv(
        story.folder / "lab-2.csv",
        [
            "LAB-140,2026-11-02T10:00,THC,negative,,,immunoassay,R-2,final",
            "LAB-140,2026-11-02T10:00,COC,negative,,,immunoassay,R-2,final",
        ],
        header=HEADER + ",report_status",
    )
    story.ok("2026-11-04 08:00", "results", "import", str(final))
    [row] = story.json("2026-11-04 09:00", "results", "list", "--client", "C-140")
    assert row["reading"] == "expected_positive"
    assert "OPI: not tested" in row["says"]
    assert "THC screen cutoff 50 ng/mL: negative" in row["says"]
    assert not any(flag.startswith("unexpected_negative") for flag in row["flags"])
    reconcile = story.json("2026-11-04 09:00", "report", "reconcile", "--from", "2026-11-02")
    monday = next(r for r in reconcile if r["date"] == "2026-11-02")
    assert (monday["collected"], monday["resulted"]) == (1, 1)
    timeline = story.json("2026-11-04 09:00", "timeline", "C-140")
    assert timeline["screenings"][0]["reading"] == "expected_positive"
    team = {row["code"]: row for row in story.json("2026-11-04 09:00", "report", "team")}
    assert team["C-140"]["flags"] == []
    assert "ledger intact" in story.verify("2026-11-04 10:00")


def test_the_same_report_id_issued_as_preliminary_then_final(story: Story) -> None:
    """Labs re-issue a preliminary report as final under the same id: the final one is
    taken while analytes still await the lab; once nothing does, the same report again
    is a duplicate, refused."""
    story.enrol("2026-11-02 06:50", "C-141,Ro Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-02 10:00", "results", "record", "C-141", "--sent-to-lab", "--method",
             "lab", "--specimen-id", "LAB-141")  # fmt: skip
    preliminary = write_csv(
        story.folder / "prelim.csv",
        ["LAB-141,2026-11-02T10:00,COC,negative,,,immunoassay,R-9,P"],
        header=HEADER + ",report_status",
    )
    story.ok("2026-11-03 08:00", "results", "import", str(preliminary))
    final = write_csv(
        story.folder / "final.csv",
        [
            "LAB-141,2026-11-02T10:00,COC,negative,,,immunoassay,R-9,F",
            "LAB-141,2026-11-02T10:00,THC,positive,80,50,immunoassay,R-9,F",
        ],
        header=HEADER + ",report_status",
    )
    story.ok("2026-11-04 08:00", "results", "import", str(final))
    [row] = story.json("2026-11-04 09:00", "results", "list", "--client", "C-141")
    assert row["reading"] == "unexpected_positive"
    assert "OPI: not tested" in row["says"]
    error = story.refused("2026-11-04 09:05", 2, "results", "import", str(final))
    assert "report R-9 is already imported for specimen LAB-141" in error
    assert "ledger intact" in story.verify("2026-11-04 10:00")

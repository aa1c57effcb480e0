"""Staff names stay in the clinic: an approver's name never leaves in an export.

Days: Monday 2026-11-02. C-341 and C-342 (morning, phase 1) are drawn at 07:00. At 09:00
Zoë Adams, at a shared workstation (`--actor "Zoë Adams"`), excuses C-341 for a medical
appointment, approved by Dr Ana Núñez; C-342 gives a specimen collected by Łukasz Wiśniewski
at 10:00. On Tuesday at 10:00 the auditor exports the ledger for the State Auditor.

- `results list` and `timeline C-341` show staff who approved the excusal (the name).
- The exported folder holds none of the staff names: not the approver's, not the
  person at the workstation's, not the collector's, not the computer login ("staff1").
- `report reconcile` counts one collected and one excused; `audit verify` says intact,
  and so does the exported folder's own verifier.
"""

from __future__ import annotations

import subprocess
import sys

from tests.scenarios.conftest import Story

NAMES = ("Núñez", "Ana", "Zoë", "Adams", "Łukasz", "Wiśniewski", "staff1")


def test_staff_names_are_not_in_the_export(story: Story) -> None:
    story.enrol(
        "2026-11-02 06:50",
        "C-341,Ada Example,morning,1,2026-11-02,",
        "C-342,Bo Example,morning,1,2026-11-02,",
    )
    story.ok("2026-11-02 07:00", "select")
    story.ok(
        "2026-11-02 09:00",
        "--actor",
        "Zoë Adams",
        "results",
        "excuse",
        "C-341",
        "--reason",
        "medical",
        "--approved-by",
        "Dr Ana Núñez",
    )
    story.ok("2026-11-02 10:00", "results", "record", "C-342", "--collector", "Łukasz Wiśniewski")

    listed = story.out("2026-11-02 10:05", "results", "list", "--json")
    assert "Dr Ana Núñez" in listed
    timeline = story.out("2026-11-03 09:00", "timeline", "C-341")
    assert "approved by Dr Ana Núñez" in timeline
    reconcile = story.json("2026-11-03 09:00", "report", "reconcile", "--from", "2026-11-02")
    day = next(row for row in reconcile if row["date"] == "2026-11-02")
    assert (day["selected"], day["collected"]) == (2, 1)

    folder = story.folder / "export"
    story.ok(
        "2026-11-03 10:00",
        "audit",
        "export",
        str(folder),
        "--to",
        "State Auditor",
        "--purpose",
        "audit",
    )
    for path in (path for path in folder.rglob("*") if path.is_file()):
        text = path.read_bytes().decode("utf-8")
        for name in NAMES:
            assert name not in text, (name, path.name)
    checked = subprocess.run(
        [sys.executable, str(folder / "screening-verify.py"), str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ledger intact" in story.verify("2026-11-03 10:05")

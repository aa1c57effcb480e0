"""A medication name the vocabulary does not know is refused, with the name meant.

Sunday 2026-11-01 at 16:00 staff type `--meds buprenorphin` for C-222: refused (exit 2)
with "did you mean buprenorphine", and nothing is written; the same typo in an import
file is refused with its line. Typed right, C-222 is enrolled on buprenorphine.

Monday 2026-11-02 C-222 is drawn and the cup shows BUP and NORBUP: an expected positive.
`timeline` and `report team` show no unexpected positive, `report reconcile` counts
one resulted screening, and `audit verify` says intact.
"""

from __future__ import annotations

from tests.conftest import write_csv
from tests.scenarios.conftest import Story


def test_a_misspelt_medication_is_refused_with_did_you_mean(story: Story) -> None:
    before = story.ledger_size()
    error = story.refused(
        "2026-11-01 16:00", 2, "clients", "add", "C-222", "--track", "morning", "--phase", "1",
        "--meds", "buprenorphin",
    )  # fmt: skip
    assert "unknown medication 'buprenorphin'; did you mean buprenorphine" in error
    path = write_csv(story.folder / "typo.csv", ["C-222,,morning,1,2026-11-02,buprenorphin"])
    error = story.refused("2026-11-01 16:01", 2, "clients", "import", str(path))
    assert "line 2, column medications: unknown medication 'buprenorphin'; did you mean" in error
    assert story.ledger_size() == before
    assert story.json("2026-11-01 16:02", "clients", "list") == []

    story.enrol("2026-11-01 16:05", "C-222,,morning,1,2026-11-02,buprenorphine")
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-02 10:00", "results", "record", "C-222", "--positive", "BUP,NORBUP")
    timeline = story.json("2026-11-03 09:00", "timeline", "C-222")
    assert timeline["screenings"][0]["reading"] == "expected_positive"
    team = {row["code"]: row for row in story.json("2026-11-03 09:00", "report", "team")}
    assert team["C-222"]["flags"] == []
    reconcile = story.json("2026-11-03 09:00", "report", "reconcile", "--from", "2026-11-02")
    day = next(row for row in reconcile if row["date"] == "2026-11-02")
    assert day["resulted"] == 1
    assert "ledger intact" in story.verify("2026-11-03 10:00")

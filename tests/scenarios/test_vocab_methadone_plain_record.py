"""The README's plain `results record` for a methadone client does not end up flagged
"possible diversion" by a default nobody chose.

Monday 2026-11-02: C-107 (methadone) is drawn at 07:00. At 10:00 staff type the
README's plain `results record C-107`: refused (exit 2), naming MTD and EDDP and the
options that say what the cup showed; nothing is written. At 10:01 they record
`--positive MTD,EDDP`: the other analytes take the panel's default (negative), which
`record` lists.

Tuesday at 09:00 `timeline` reads an expected positive and counts a clean screen;
`report team` raises no flag (no "unexpected negative"); `report reconcile` counts one
resulted screening; `audit verify` says intact.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_a_plain_record_for_a_methadone_client_is_not_diversion(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-107,Gray Example,morning,1,2026-11-02,Methadose")
    story.ok("2026-11-02 07:00", "select")
    before = story.ledger_size()
    error = story.refused("2026-11-02 10:00", 2, "results", "record", "C-107")
    assert "C-107 is prescribed methadone (MTD, EDDP)" in error
    assert "--positive MTD,EDDP, --negative MTD,EDDP or --not-tested MTD,EDDP" in error
    assert story.ledger_size() == before

    recorded = story.ok("2026-11-02 10:01", "results", "record", "C-107", "--positive", "MTD,EDDP")
    assert "negative for the urine panel, as read on the cup:" in recorded.stderr
    [row] = story.json("2026-11-02 10:05", "results", "list", "--client", "C-107")
    assert row["reading"] == "expected_positive"
    assert row["flags"] == []

    timeline = story.json("2026-11-03 09:00", "timeline", "C-107")
    assert timeline["screenings"][0]["counts_as"] == "expected_positive"
    team = {row["code"]: row for row in story.json("2026-11-03 09:00", "report", "team")}
    assert team["C-107"]["flags"] == []
    reconcile = story.json("2026-11-03 09:00", "report", "reconcile", "--from", "2026-11-02")
    day = next(row for row in reconcile if row["date"] == "2026-11-02")
    assert (day["collected"], day["resulted"]) == (1, 1)
    assert "ledger intact" in story.verify("2026-11-03 10:00")

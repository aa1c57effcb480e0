"""A screening past its deadline reads "overdue" until a write records the no-show.

Days: Monday 2026-11-02, C-901 and C-902 (morning, phase 1) are drawn at 07:00 (due by
19:00). C-902 gives a specimen at 10:00; C-901 does not come. At 20:00 nobody has
written anything since: `today` lists C-901 as "overdue" (and says "1 overdue"),
`results pending` lists it as "overdue", `timeline C-901` shows "o" in its calendar and
the screening as "overdue", and `report reconcile` counts 1 overdue, 0 pending. Reading
does not write: the ledger is unchanged. The next write (Tuesday's `select`) records
the automatic no-show.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_an_overdue_screening_reads_overdue(story: Story) -> None:
    story.enrol(
        "2026-11-02 06:50",
        "C-901,Ka Example,morning,1,2026-11-02,",
        "C-902,Lu Example,morning,1,2026-11-02,",
    )
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-02 10:00", "results", "record", "C-902")
    before = story.ledger_size()

    today = story.run("2026-11-02 20:00", "today")
    assert today.exit_code == 0
    line = next(line for line in today.stdout.splitlines() if "C-901" in line)
    assert "overdue" in line and "pending" not in line
    assert "0 pending, 1 overdue, 1 done" in today.stderr
    listed = {r["code"]: r["status"] for r in story.json("2026-11-02 20:00", "today")["selected"]}
    assert listed == {"C-901": "overdue", "C-902": "collected"}

    pending = story.json("2026-11-02 20:01", "results", "pending")
    assert [(r["code"], r["status"]) for r in pending] == [("C-901", "overdue")]
    assert "overdue" in story.out("2026-11-02 20:01", "results", "pending")
    overdue = story.json("2026-11-02 20:01", "results", "list", "--status", "overdue")
    assert [(r["code"], r["status"]) for r in overdue] == [("C-901", "overdue")]
    assert story.json("2026-11-02 20:01", "results", "list", "--status", "pending") == []

    timeline = story.json("2026-11-02 20:02", "timeline", "C-901", "--from", "2026-11-02")
    assert timeline["screenings"][0]["status"] == "overdue"
    assert timeline["strip"][0]["days"][0] == "o"
    reconcile = story.json("2026-11-02 20:03", "report", "reconcile", "--from", "2026-11-02")
    day = next(r for r in reconcile if r["date"] == "2026-11-02")
    assert (day["overdue"], day["pending"]) == (1, 0)
    # Reads record whom they showed (`viewed` entries) and change nothing else.
    kinds = story.clinic.sql("SELECT kind FROM ledger WHERE seq > :n", n=before)
    assert {kind for (kind,) in kinds} <= {"viewed"}

    story.ok("2026-11-03 07:00", "select")
    rows = story.json("2026-11-03 07:01", "results", "list", "--client", "C-901")
    assert rows[0]["status"] == "no_show"

"""A specimen entered three weeks late: the entry is an event, not an edit.

Days: Monday 2026-11-30, C-119 (morning, phase 1) is drawn at 07:00 and gives a specimen
at 10:00, but nobody enters it. Wednesday 12-02 the next draw's write records the
overdue screening as a no-show (the sweep), and C-119's specimen of that day is entered
on time. Monday 12-21 staff find the 11-30 cup's paperwork:

- `results record C-119 --screening N --collected-at 2026-11-30T10:00` without a reason
  is refused (exit 2), naming the deadline and asking for --reason;
- with `--reason "paperwork found in the lab fridge"` it is recorded, marked late.

Then `report reconcile` counts 11-30 as collected and entered late (no miss), `timeline`
shows the collection on 11-30 with when it was entered and why, `report team` flags
"entered late", and `audit verify` stays intact and lists the late entry (and names the
result if its late reason is edited in the database).
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_a_backdated_entry_needs_a_reason_and_shows_as_late(story: Story) -> None:
    story.enrol("2026-11-30 06:50", "C-119,Cy Example,morning,1,2026-11-30,")
    story.ok("2026-11-30 07:00", "select")
    story.ok("2026-12-02 07:00", "select")
    story.ok("2026-12-02 10:00", "results", "record", "C-119")
    rows = story.json("2026-12-02 10:05", "results", "list", "--client", "C-119")
    first = next(r for r in rows if r["date"] == "2026-11-30")
    assert first["status"] == "no_show"

    backdated = (
        "results",
        "record",
        "C-119",
        "--screening",
        str(first["screening"]),
        "--collected-at",
        "2026-11-30T10:00",
    )
    error = story.refused("2026-12-21 09:00", 2, *backdated)
    assert len(error.strip().splitlines()) == 1
    assert "2026-11-30 19:00" in error and "--reason" in error
    done = story.run(
        "2026-12-21 09:05", *backdated, "--reason", "paperwork found in the lab fridge"
    )
    assert done.exit_code == 0, done.stderr
    assert "entered late" in done.stderr

    reconcile = story.json("2026-12-21 09:10", "report", "reconcile", "--from", "2026-11-30")
    day = next(row for row in reconcile if row["date"] == "2026-11-30")
    assert (day["collected"], day["missed"], day["entered_late"]) == (1, 0, 1)
    text = story.out("2026-12-21 09:10", "report", "reconcile", "--from", "2026-11-30")
    assert "late" in text

    timeline = story.json("2026-12-21 09:10", "timeline", "C-119", "--from", "2026-11-30")
    late = next(e for e in timeline["events"] if "entered late" in e["text"])
    assert late["date"] == "2026-11-30"
    assert "entered late on 2026-12-21 09:05: paperwork found in the lab fridge" in late["text"]
    assert not any(e["text"].startswith("no-show") for e in timeline["events"])
    screening = next(s for s in timeline["screenings"] if s["date"] == "2026-11-30")
    assert screening["status"] == "collected"
    assert screening["entered_late"]["entered_at"] == "2026-12-21 09:05"

    result = next(
        r["result"]
        for r in story.json("2026-12-21 09:10", "results", "list", "--client", "C-119")
        if r["date"] == "2026-11-30"
    )
    shown = story.out("2026-12-21 09:10", "results", "show", str(result))
    assert "collected 2026-11-30 10:00 EST" in shown
    assert "entered late on 2026-12-21 09:05 EST: paperwork found in the lab fridge" in shown
    team = {row["code"]: row for row in story.json("2026-12-21 09:15", "report", "team")}
    assert "entered late: 1" in team["C-119"]["flags"]
    assert team["C-119"]["entered_late_30_days"] == 1

    verified = story.verify("2026-12-21 10:00")
    assert "ledger intact" in verified
    assert "flag: collection entered late main 2026-11-30" in verified

    # The reason edited behind the program's back is named by verify.
    story.clinic.sql("UPDATE results SET late_reason = 'no reason' WHERE late_reason IS NOT NULL")
    tampered = story.run("2026-12-21 10:05", "audit", "verify")
    assert tampered.exit_code == 1
    assert "result" in tampered.stdout + tampered.stderr

"""A no-show staff recorded is reversed only by an amendment, never overwritten.

Days: Monday 2026-11-02, C-401 (morning, phase 1) is drawn at 07:00; at 18:00 staff mark
a no-show. Tuesday 11-03 at 09:00 the cup turns up, labelled 10:15 Monday: recording it
against the no-show is refused (exit 2) with the command to use. `results reverse`
without an approver is refused; with `--reason "cup found, mislabelled" --approved-by
"Dr A. Lee"` the no-show is reversed (an amendment), and the specimen is then entered
late with its reason. A sweep's no-show cannot be "reversed": it is settled by a late
entry.

`timeline` shows the no-show, then "no-show reversed: cup found, mislabelled, approved
by Dr A. Lee", then the specimen; `report reconcile` lists the reversal for 11-02;
`audit verify` is intact and flags the reversal and the late entry.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_a_staff_no_show_is_reversed_by_an_amendment(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-401,Ed Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-02 18:00", "results", "no-show", "C-401")
    screening = story.json("2026-11-02 18:05", "results", "list", "--client", "C-401")[0]
    sid = str(screening["screening"])
    assert screening["status"] == "no_show"

    record = (
        "results",
        "record",
        "C-401",
        "--screening",
        sid,
        "--collected-at",
        "2026-11-02T10:15",
    )
    error = story.refused("2026-11-03 09:00", 2, *record, "--reason", "cup found")
    assert len(error.strip().splitlines()) == 1
    assert f"screening results reverse {sid} --reason ... --approved-by NAME" in error
    # Without --screening, the same: the miss is named with the command to reverse it.
    error = story.refused(
        "2026-11-03 09:00",
        2,
        "results",
        "record",
        "C-401",
        "--collected-at",
        "2026-11-02T10:15",
        "--reason",
        "cup found",
    )
    assert f"screening results reverse {sid}" in error
    story.refused("2026-11-03 09:01", 2, "results", "reverse", sid, "--reason", "cup found")
    story.refused(
        "2026-11-03 09:01",
        2,
        "results",
        "reverse",
        sid,
        "--reason",
        "x",
        "--approved-by",
        "C-401 is fine",
    )
    done = story.ok(
        "2026-11-03 09:02",
        "results",
        "reverse",
        sid,
        "--reason",
        "cup found, mislabelled",
        "--approved-by",
        "Dr A. Lee",
    )
    assert "no-show reversed, approved by Dr A. Lee" in done.stderr
    # Once reversed it is not reversed again, and it never returns to pending.
    story.refused(
        "2026-11-03 09:03",
        2,
        "results",
        "reverse",
        sid,
        "--reason",
        "again",
        "--approved-by",
        "Dr A. Lee",
    )
    assert (
        story.json("2026-11-03 09:03", "results", "list", "--client", "C-401")[0]["status"]
        == "excused"
    )
    story.ok("2026-11-03 09:04", *record, "--reason", "cup found, mislabelled")

    timeline = story.json("2026-11-03 09:10", "timeline", "C-401", "--from", "2026-11-02")
    texts = [e["text"] for e in timeline["events"]]
    assert "no-show" in texts
    assert "no-show reversed: cup found, mislabelled, approved by Dr A. Lee" in texts
    assert any(t.startswith("specimen collected") and "entered late" in t for t in texts)
    row = timeline["screenings"][0]
    assert row["status"] == "collected"
    assert row["reversed"] == {
        "status": "no_show",
        "reason": "cup found, mislabelled",
        "approved_by": "Dr A. Lee",
    }

    reconcile = story.json("2026-11-03 09:10", "report", "reconcile", "--from", "2026-11-02")
    day = next(r for r in reconcile if r["date"] == "2026-11-02")
    assert day["reversed"] == ["no-show reversed (Dr A. Lee)"]
    assert (day["collected"], day["missed"], day["entered_late"]) == (1, 0, 1)

    verified = story.verify("2026-11-03 10:00")
    assert "ledger intact" in verified
    assert "flag: miss reversed by amendment main 2026-11-02" in verified
    assert "flag: collection entered late main 2026-11-02" in verified

    # The approver leaves in an export only as a digest: no staff name goes out, and no
    # --with-staff-names is needed for a ledger this version wrote.
    exported = story.folder / "export"
    story.ok("2026-11-03 10:01", "audit", "export", str(exported), "--to", "State Auditor",
             "--purpose", "audit")  # fmt: skip
    shipped = "".join(p.read_text() for p in exported.rglob("*") if p.is_file())
    assert "Lee" not in shipped and "STAFF-NAMES" not in shipped

    story.clinic.sql("UPDATE screenings SET reversal_approver = 'Someone Else'")
    tampered = story.run("2026-11-03 10:05", "audit", "verify")
    assert tampered.exit_code == 1
    assert "screening" in tampered.stdout + tampered.stderr


def test_an_approver_whose_name_is_deleted_is_named_by_verify(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-403,Ha Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-02 08:00", "results", "excuse", "C-403", "--reason", "medical",
             "--approved-by", "Dr A. Lee")  # fmt: skip
    assert "ledger intact" in story.verify("2026-11-02 08:05")
    story.clinic.sql("DELETE FROM staff_names WHERE name = 'Dr A. Lee'")
    tampered = story.run("2026-11-02 08:10", "audit", "verify")
    assert tampered.exit_code == 1
    assert "the staff member it names has no name in the database" in tampered.stderr


def test_a_sweep_no_show_is_settled_by_a_late_entry_not_reversed(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-402,Fa Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-03 08:00", "select")  # any write sweeps overdue screenings
    screening = story.json("2026-11-03 08:05", "results", "list", "--client", "C-402")[0]
    assert screening["status"] == "no_show"
    error = story.refused(
        "2026-11-03 08:10",
        2,
        "results",
        "reverse",
        str(screening["screening"]),
        "--reason",
        "x",
        "--approved-by",
        "Dr A. Lee",
    )
    assert "--collected-at ... --reason ..." in error

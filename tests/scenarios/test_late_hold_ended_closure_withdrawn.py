"""A hold ended early and a closure withdrawn: each with a reason, in the ledger, verified.

Days: Friday 2026-11-06, C-111 (morning, phase 1) is put on hold from Monday 11-09 to
Friday 11-20 (travel), and the clinic records a closure for Friday 11-13 (staff
training). Monday 11-09 C-111 is left out (on hold). Tuesday 11-10 C-111 is back early:
`clients hold-end C-111 --hold N --to 2026-11-10 --reason "trip cut short"`. Wednesday
11-11 C-111 is drawn again. Thursday 11-12 the training is moved:
`close 2026-11-13 --withdraw --reason "training moved"`; Friday 11-13 is drawn as usual.
A hold entered in error is withdrawn the same way (`clients hold-withdraw`).

`clients show` shows the hold and its early end; `timeline` says "ended early"; `audit
verify` is intact; a hold's end edited in the database behind the program's back is
named by verify (exit 1).
"""

from __future__ import annotations

from tests.scenarios.conftest import Story, standalone_verifier


def test_a_hold_ended_early_and_a_closure_withdrawn(story: Story) -> None:
    story.enrol("2026-11-06 08:00", "C-111,Mo Example,morning,1,2026-11-02,")
    story.ok(
        "2026-11-06 08:05",
        "clients",
        "hold",
        "C-111",
        "--from",
        "2026-11-09",
        "--to",
        "2026-11-20",
        "--reason",
        "travel",
    )
    story.ok("2026-11-06 08:10", "close", "2026-11-13", "--reason", "staff training")
    hold_id = str(story.json("2026-11-06 08:11", "clients", "show", "C-111")["holds"][0]["id"])
    assert story.json("2026-11-09 07:00", "select")["left_out"] == {"hold": 1}

    error = story.refused(
        "2026-11-10 09:00",
        2,
        "clients",
        "hold-end",
        "C-111",
        "--hold",
        hold_id,
        "--to",
        "2026-11-25",
        "--reason",
        "x",
    )
    assert "does not end hold" in error
    story.ok(
        "2026-11-10 09:00",
        "clients",
        "hold-end",
        "C-111",
        "--hold",
        hold_id,
        "--to",
        "2026-11-10",
        "--reason",
        "trip cut short",
    )
    story.refused(
        "2026-11-10 09:01",
        2,
        "clients",
        "hold-withdraw",
        "C-111",
        "--hold",
        hold_id,
        "--reason",
        "again",
    )
    drawn = story.json("2026-11-11 07:00", "select")
    assert [s["code"] for s in drawn["selected"]] == ["C-111"]
    story.ok("2026-11-11 10:00", "results", "record", "C-111")

    story.ok("2026-11-12 09:00", "close", "2026-11-13", "--withdraw", "--reason", "training moved")
    story.refused("2026-11-12 09:01", 2, "close", "2026-11-13", "--withdraw", "--reason", "again")
    friday = story.json("2026-11-13 07:00", "select")
    assert friday["closed"] is False and [s["code"] for s in friday["selected"]] == ["C-111"]
    story.ok("2026-11-13 10:00", "results", "record", "C-111")

    # A hold entered in error, withdrawn before it starts.
    story.ok(
        "2026-11-13 11:00",
        "clients",
        "hold",
        "C-111",
        "--from",
        "2026-11-23",
        "--to",
        "2026-11-24",
        "--reason",
        "court",
    )
    holds = story.json("2026-11-13 11:01", "clients", "show", "C-111")["holds"]
    second = str(next(h["id"] for h in holds if h["from"] == "2026-11-23"))
    story.ok(
        "2026-11-13 11:02",
        "clients",
        "hold-withdraw",
        "C-111",
        "--hold",
        second,
        "--reason",
        "wrong client",
    )
    shown = story.out("2026-11-13 11:03", "clients", "show", "C-111")
    assert "ended early, last day 2026-11-10 (trip cut short)" in shown
    assert "withdrawn (wrong client)" in shown
    assert story.json("2026-11-23 07:00", "select")["selected"][0]["code"] == "C-111"

    timeline = story.json("2026-11-23 08:00", "timeline", "C-111", "--from", "2026-11-06")
    texts = [e["text"] for e in timeline["events"]]
    assert "hold 2026-11-09 to 2026-11-20 ended early, last day 2026-11-10: trip cut short" in texts
    assert "hold 2026-11-23 to 2026-11-24 withdrawn: wrong client" in texts
    verified = story.verify("2026-11-23 09:00")
    assert "ledger intact" in verified and "2 holds, 1 closure" in verified
    assert "draws replayed" in standalone_verifier(story, "2026-11-23 09:02")

    story.clinic.sql("UPDATE holds SET ended_on = '2026-11-19' WHERE ended_on IS NOT NULL")
    result = story.run("2026-11-23 09:05", "audit", "verify")
    assert result.exit_code == 1
    assert "hold" in (result.stdout + result.stderr)

"""`report team --date` reads the record as it stood at the end of that day.

C-381 (morning track, phase 1): a negative specimen on Monday 2026-11-02, a cup positive
for THC on Wednesday 4th (presumptive), a negative on Friday 6th. On Monday 9th at 09:00
the lab's confirmation comes back negative for THC and staff amend Wednesday's result.

On Tuesday 2026-11-10 at 09:00:
- `report team --date 2026-11-06` shows what the meeting of Friday 6th saw: run 1,
  negative rate 67% (2 of 3), the last unexpected positive 2 days before, and the flag
  "unexpected positive in 7 days"; `timeline C-381 --to 2026-11-06` shows the same
  numbers, a "p" on the 4th, no amendment among its events, and says its measures are
  "as it stood at the end of that day";
- `report team` (today) and `timeline C-381` read the confirmation: run 3, 100%, never
  an unexpected positive, no flag, and the amendment among the events;
- `audit verify` says the ledger is intact.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_team_as_of_a_past_day(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-381,Ada Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-02 10:00", "results", "record", "C-381")
    story.ok("2026-11-04 07:00", "select")
    story.ok("2026-11-04 10:00", "results", "record", "C-381", "--positive", "THC")
    story.ok("2026-11-06 07:00", "select")
    story.ok("2026-11-06 10:00", "results", "record", "C-381")
    listed = story.json("2026-11-09 08:55", "results", "list", "--client", "C-381")
    (thc,) = [row["result"] for row in listed if row["date"] == "2026-11-04"]
    story.ok(
        "2026-11-09 09:00",
        "results", "amend", str(thc), "--reason", "lab_confirmation", "--negative", "THC",
        "--confirmed",
    )  # fmt: skip

    meeting = "2026-11-10 09:00"
    (then,) = story.json(meeting, "report", "team", "--date", "2026-11-06")
    assert (then["negative_run"], then["negative_rate"]) == (1, 0.667)
    assert then["days_since_unexpected_positive"] == 2
    assert then["flags"] == ["unexpected positive in 7 days"]
    timeline = story.json(meeting, "timeline", "C-381", "--to", "2026-11-06")
    m = timeline["measures"]
    assert (m["current_negative_run"], m["negative_rate"], m["days_since_unexpected_positive"]) == (
        1,
        0.667,
        2,
    )
    assert timeline["strip"][-1]["days"][2] == "p"
    assert not any("amended" in event["text"] for event in timeline["events"])
    text = " ".join(story.out(meeting, "timeline", "C-381", "--to", "2026-11-06").split())
    assert "67% (2 of 3)" in text
    assert "the whole history to 2026-11-06, as it stood at the end of that day" in text

    (now,) = story.json(meeting, "report", "team")
    assert (now["negative_run"], now["negative_rate"], now["flags"]) == (3, 1.0, [])
    assert now["days_since_unexpected_positive"] is None
    today = story.json(meeting, "timeline", "C-381")
    assert today["measures"]["current_negative_run"] == 3 and today["as_of"] is None
    assert any("amended" in event["text"] for event in today["events"])
    assert "ledger intact" in story.verify("2026-11-10 10:00")

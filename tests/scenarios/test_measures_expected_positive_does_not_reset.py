"""Days since the last unexpected positive: a prescribed medication found does not reset it.

C-331 (morning track, phase 1) is prescribed buprenorphine. On Monday 2026-11-02 the
specimen is positive for cocaine (COC: unexpected). On Wednesday 4th, Friday 6th and
Monday 9th it is positive for buprenorphine and its metabolite only (BUP, NORBUP:
expected, prescribed).

At the team meeting on Tuesday 2026-11-10 at 09:00:
- `timeline C-331` says the last unexpected positive was 8 days ago (2026-11-02): the
  three buprenorphine positives did not reset it; they are negatives for the measures
  (run 3 now, longest 3; rate 75%, 3 of 4); the substances found are COC only;
- `report team` shows the same 8 days, run and rate, and no "unexpected positive in 7
  days" flag (8 days have passed);
- `audit verify` says the ledger is intact.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_an_expected_positive_does_not_reset_the_days_since(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-331,Ada Example,morning,1,2026-11-02,buprenorphine")
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-02 10:00", "results", "record", "C-331", "--positive", "BUP,NORBUP,COC")
    for day in ("2026-11-04", "2026-11-06", "2026-11-09"):
        story.ok(f"{day} 07:00", "select")
        story.ok(f"{day} 10:00", "results", "record", "C-331", "--positive", "BUP,NORBUP")

    meeting = "2026-11-10 09:00"
    m = story.json(meeting, "timeline", "C-331")["measures"]
    assert (m["last_unexpected_positive"], m["days_since_unexpected_positive"]) == (
        "2026-11-02",
        8,
    )
    assert m["substances_by_month"] == {"2026-11": {"COC": 1}}
    assert (m["current_negative_run"], m["longest_negative_run"], m["negative_rate"]) == (
        3,
        3,
        0.75,
    )
    text = story.out(meeting, "timeline", "C-331")
    assert "8 days ago (2026-11-02)" in text
    assert "75% (3 of 4)" in text

    (row,) = story.json(meeting, "report", "team")
    assert row["days_since_unexpected_positive"] == 8
    assert (row["negative_run"], row["negative_rate"]) == (3, 0.75)
    assert row["flags"] == []
    assert "ledger intact" in story.verify("2026-11-10 10:00")

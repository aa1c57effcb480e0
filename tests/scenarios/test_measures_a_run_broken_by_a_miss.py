"""A run of negatives ended by a refusal, and what the team sees the next week.

Policy: the default, a miss counts as a positive. C-321 (morning track, phase 1) gives
negative specimens on Monday 2026-11-02, Wednesday 4th and Friday 6th (a run of 3),
refuses on Monday 9th ("declined"), then gives negatives on Wednesday 11th and Friday
13th.

On Monday 2026-11-09 at 12:00, after the refusal:
- `timeline C-321` says the run is 0 now, longest 3, and the rate 75% (3 of 4; 1 miss
  counted as positive, per policy);
- `report team` shows run 0 and flags "missed 1 screening in the last 30 days (1 in the
  last 7)".
On Saturday 2026-11-14 at 09:00 the run is 2 now, longest 3; the rate 83% (5 of 6).
A week on, on Monday 2026-11-16 at 06:00 (before that day's draw), the refusal is no
longer in the last 7 days but still in the last 30: the flag says "missed 1 screening in
the last 30 days". `audit verify` says the ledger is intact.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_a_run_broken_by_a_miss(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-321,Ada Example,morning,1,2026-11-02,")
    for day in ("2026-11-02", "2026-11-04", "2026-11-06"):
        story.ok(f"{day} 07:00", "select")
        story.ok(f"{day} 10:00", "results", "record", "C-321")
    story.ok("2026-11-09 07:00", "select")
    story.ok("2026-11-09 10:00", "results", "refused", "C-321", "--reason", "declined")

    after = "2026-11-09 12:00"
    m = story.json(after, "timeline", "C-321")["measures"]
    assert (m["current_negative_run"], m["longest_negative_run"]) == (0, 3)
    text = story.out(after, "timeline", "C-321")
    assert "0 now, longest 3" in text
    assert "75% (3 of 4; 1 miss counted as positive, per policy)" in text
    (row,) = story.json(after, "report", "team")
    assert row["negative_run"] == 0
    assert row["flags"] == ["missed 1 screening in the last 30 days (1 in the last 7)"]

    for day in ("2026-11-11", "2026-11-13"):
        story.ok(f"{day} 07:00", "select")
        story.ok(f"{day} 10:00", "results", "record", "C-321")
    m = story.json("2026-11-14 09:00", "timeline", "C-321")["measures"]
    assert (m["current_negative_run"], m["longest_negative_run"]) == (2, 3)
    assert (m["negatives"], m["rated"], m["negative_rate"]) == (5, 6, 0.833)
    (row,) = story.json("2026-11-14 09:00", "report", "team")
    assert (row["negative_run"], row["negative_rate"]) == (2, 0.833)

    (row,) = story.json("2026-11-16 06:00", "report", "team")
    assert row["flags"] == ["missed 1 screening in the last 30 days"]
    assert "ledger intact" in story.verify("2026-11-16 06:10")

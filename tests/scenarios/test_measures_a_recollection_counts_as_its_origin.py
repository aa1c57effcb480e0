"""An observed recollection counts as the screening it repeats: a for-cause specimen's
stays apart with it, a random one's counts, once.

C-351 (morning track, phase 1) is drawn and negative on Monday 2026-11-02 and Wednesday
4th. On Thursday 5th at 10:00 a counsellor asks for a for-cause screening; the specimen
is dilute (creatinine 3.1 mg/dL), so an observed recollection is ordered; that one is
dilute too, and the second recollection is negative.

At 15:00 that day, as before the for-cause screening:
- `timeline C-351` says the run is 2 now, longest 2, the rate 100% (2 of 2), 2
  completed of 2 due, 2 selected; and now 1 for cause; neither recollection is in the
  measures;
- `report team` shows the same run and rate.

On Friday 6th C-351 is drawn; the specimen is dilute, and its observed recollection is
negative. At 15:00 the run is 3, the rate 100% (3 of 3), 3 selected (the random
screening counted once, through its recollection), still 1 for cause. `audit verify`
says the ledger is intact.
"""

from __future__ import annotations

from typing import Any

from tests.scenarios.conftest import Story

DILUTE = ("--creatinine", "3.1", "--sg", "1.0020")
COUNTED = ("current_negative_run", "longest_negative_run", "negatives", "rated")
COUNTED += ("negative_rate", "completed", "due", "selected", "misses")


def _counted(measures: dict[str, Any]) -> dict[str, Any]:
    return {name: measures[name] for name in COUNTED}


def test_a_recollection_counts_as_the_screening_it_repeats(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-351,Ada Example,morning,1,2026-11-02,")
    for day in ("2026-11-02", "2026-11-04"):
        story.ok(f"{day} 07:00", "select")
        story.ok(f"{day} 10:00", "results", "record", "C-351")
    before = story.json("2026-11-05 09:00", "timeline", "C-351")["measures"]
    (team_before,) = story.json("2026-11-05 09:00", "report", "team")

    story.ok("2026-11-05 10:00", "results", "for-cause", "C-351", "--reason", "asked by Dr Lee")
    story.ok("2026-11-05 10:05", "results", "record", "C-351", *DILUTE)
    story.ok("2026-11-05 10:40", "results", "record", "C-351", "--observed", *DILUTE)
    story.ok("2026-11-05 11:20", "results", "record", "C-351", "--observed")

    data = story.json("2026-11-05 15:00", "timeline", "C-351")
    after = data["measures"]
    assert _counted(after) == _counted(before)
    assert (after["current_negative_run"], after["negative_rate"]) == (2, 1.0)
    assert (before["for_cause"], after["for_cause"]) == (0, 1)
    reasons = [(s["reason"], s["in_measures"]) for s in data["screenings"]]
    assert reasons == [
        ("random", "negative"),
        ("random", "negative"),
        ("for_cause", None),
        ("recollection", None),
        ("recollection", None),
    ]
    text = story.out("2026-11-05 15:00", "timeline", "C-351")
    assert "2 now, longest 2" in text and "100% (2 of 2)" in text
    assert "2 completed of 2 due (100%); 2 selected, 1 for cause" in text
    (team,) = story.json("2026-11-05 15:00", "report", "team")
    assert (team["negative_run"], team["negative_rate"]) == (2, 1.0)
    assert (team["negative_run"], team["negative_rate"]) == (
        team_before["negative_run"],
        team_before["negative_rate"],
    )

    story.ok("2026-11-06 07:00", "select")
    story.ok("2026-11-06 10:00", "results", "record", "C-351", *DILUTE)
    story.ok("2026-11-06 10:40", "results", "record", "C-351", "--observed")
    data = story.json("2026-11-06 15:00", "timeline", "C-351")
    m = data["measures"]
    assert (m["current_negative_run"], m["longest_negative_run"]) == (3, 3)
    assert (m["negatives"], m["rated"], m["negative_rate"]) == (3, 3, 1.0)
    assert (m["completed"], m["due"], m["selected"], m["for_cause"]) == (3, 3, 3, 1)
    friday = [(s["reason"], s["in_measures"]) for s in data["screenings"][-2:]]
    assert friday == [("random", None), ("recollection", "negative")]
    (team,) = story.json("2026-11-06 15:00", "report", "team")
    assert (team["negative_run"], team["negative_rate"]) == (3, 1.0)
    assert "ledger intact" in story.verify("2026-11-06 16:00")

"""Two workstations whose clocks differ by two minutes both write.

Days: Monday 2026-11-02. At 10:00 (by the front desk's clock) staff draw the day and
record C-311's specimen; at 09:58 by the nurse station's clock, two minutes slow, the
nurse records C-312's specimen.

- The nurse's write is accepted: a clock a few minutes (up to 5) behind the ledger is
  not refused.
- `report reconcile` counts both collections; `audit verify` says the ledger is intact
  with no flag.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_two_minutes_of_skew_is_accepted(story: Story) -> None:
    story.enrol(
        "2026-11-02 06:50",
        "C-311,Ada Example,morning,1,2026-11-02,",
        "C-312,Bo Example,morning,1,2026-11-02,",
    )
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-02 10:00", "results", "record", "C-311")
    story.ok("2026-11-02 09:58", "results", "record", "C-312")

    reconcile = story.json("2026-11-03 09:00", "report", "reconcile", "--from", "2026-11-02")
    day = next(row for row in reconcile if row["date"] == "2026-11-02")
    assert (day["selected"], day["collected"], day["missed"]) == (2, 2, 0)
    verified = story.verify("2026-11-03 10:00")
    assert "ledger intact" in verified and "before an earlier entry" not in verified

"""A hold excuses the day's drawn screening, never a for-cause test.

Days: Monday 2026-11-02, C-661 (phase 2: no random tests) is not drawn. At 09:00 staff
smell alcohol and ask for a for-cause screening; at 09:30 a hold for travel is entered
from today. The for-cause screening stays pending (a hold is no way around it, no
approver asked for it), and `audit verify` is intact.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_a_hold_does_not_excuse_a_for_cause_screening(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-661,Kit Example,morning,2,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-02 09:00", "results", "for-cause", "C-661", "--reason", "smelled alcohol")
    held = story.ok("2026-11-02 09:30", "clients", "hold", "C-661", "--from", "2026-11-02",
                    "--to", "2026-11-04", "--reason", "travel")  # fmt: skip
    assert "excused" not in held.stderr
    [row] = story.json("2026-11-02 09:35", "results", "list", "--client", "C-661")
    assert (row["reason"], row["status"]) == ("for_cause", "pending")
    verified = story.verify("2026-11-02 09:40")
    assert "ledger intact" in verified and "excused by a hold" not in verified

"""The workstation clock is 20 days behind: nothing is written.

Days: Monday 2026-11-02, 07:00: staff enrol C-301 and draw the day. Then a computer
whose clock says Tuesday 2026-10-13 (20 days behind the ledger) is used to enrol
another client and to draw "today".

- Both commands are refused (exit 3). The message names the computer's time and the
  ledger's latest time, both in the clinic's time (EST), and says to fix the clock.
- Nothing is written: the ledger has as many entries as before.
- `audit verify` (on a computer with the right time) says the ledger is intact, with no
  flag: no entry is dated before an earlier one.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_a_clock_20_days_behind_writes_nothing(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-301,Ada Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    before = story.ledger_size()

    error = story.refused(
        "2026-10-13 09:00", 3, "clients", "add", "C-302", "--track", "morning", "--phase", "1"
    )
    assert "this computer's clock says 2026-10-13 09:00 EDT" in error
    assert "the ledger already has an entry made at 2026-11-02 07:00 EST" in error
    assert "Fix this computer's clock" in error
    error = story.refused("2026-10-13 09:01", 3, "select")
    assert "2026-11-02 07:00 EST" in error
    assert story.ledger_size() == before

    verified = story.verify("2026-11-02 08:00")
    assert "ledger intact" in verified and "before an earlier entry" not in verified
    listed = story.json("2026-11-02 08:00", "clients", "list")
    assert [row["code"] for row in listed] == ["C-301"]

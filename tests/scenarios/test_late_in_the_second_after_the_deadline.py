"""A specimen entered within the second after its deadline is judged as the ledger
records it (whole seconds), so what `record` decides and what `audit verify` replays
agree.

Days: Monday 2026-11-02, C-651 (morning, phase 1) is drawn at 07:00, due by 19:00. Staff
enter the 10:00 specimen at 19:00:00.5: it is in time to the second the ledger keeps, so
no reason is asked, and verify finds nothing wrong. A second later it would be late.
"""

from __future__ import annotations

from freezegun import freeze_time

from tests.scenarios.conftest import Story, instant


def test_the_second_after_the_deadline(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-651,Ida Example,morning,1,2026-11-02,")
    story.enrol("2026-11-02 06:51", "C-652,Jo Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    record = ("results", "record", "C-651", "--collected-at", "2026-11-02T10:00")
    with freeze_time(instant("2026-11-02 19:00").replace(microsecond=500_000)):
        done = story.clinic.run(*record)
    assert done.exit_code == 0, done.stderr
    assert "entered late" not in done.stderr
    late = story.refused(
        "2026-11-02 19:00:01", 2, "results", "record", "C-652", "--collected-at",
        "2026-11-02T10:00",
    )  # fmt: skip
    assert "add --reason" in late
    assert "ledger intact" in story.verify("2026-11-02 19:05")

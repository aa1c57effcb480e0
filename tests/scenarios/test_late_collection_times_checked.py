"""A collection time must be possible: not before the client was drawn, not in the future.

Days: Monday 2026-11-02, C-301 (morning, phase 1) is drawn at 07:00. At 09:00 staff type
`--collected-at 06:30` (before the draw): refused, exit 2, one line saying what to check.
At 09:05 they type `--collected-at 11:00` (two hours ahead): refused, exit 2. Nothing is
written by either; the specimen is then entered as collected at 08:50, in time, with no
reason needed, and `audit verify` says the ledger is intact with no late entry.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_a_collection_before_the_draw_is_refused(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-301,Di Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    before = story.ledger_size()
    error = story.refused(
        "2026-11-02 09:00", 2, "results", "record", "C-301", "--collected-at", "06:30"
    )
    assert len(error.strip().splitlines()) == 1
    assert "before the client was selected" in error and "2026-11-02 07:00" in error
    assert "check the date and time" in error
    assert story.ledger_size() == before


def test_a_collection_in_the_future_is_refused(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-301,Di Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    before = story.ledger_size()
    error = story.refused(
        "2026-11-02 09:05", 2, "results", "record", "C-301", "--collected-at", "11:00"
    )
    assert len(error.strip().splitlines()) == 1
    assert "in the future" in error
    assert story.ledger_size() == before
    # A reason is for late entries only: entered in time, it is refused too.
    error = story.refused(
        "2026-11-02 09:06",
        2,
        "results",
        "record",
        "C-301",
        "--collected-at",
        "08:50",
        "--reason",
        "typed it in later",
    )
    assert "leave --reason out" in error
    story.ok("2026-11-02 09:07", "results", "record", "C-301", "--collected-at", "08:50")
    verified = story.verify("2026-11-03 10:00")
    assert "ledger intact" in verified and "entered late" not in verified

"""A track named in Spanish: `config check` refuses it and says why; renamed, it works.

Days: Monday 2026-11-02. Before anything is written, the program director adds a track
`[tracks."mañana"]` (Monday, Wednesday, Friday) and a phase `[phases."fase-1"]`, and runs
`config check`.

- `config check` exits 2 naming `tracks.mañana`: track and phase names become keys of
  the policy entry in the ledger, which stay ASCII so that any RFC 8785 canonicaliser
  (an auditor's own tool) reproduces the entry's hash; it suggests 'manana'.
- Every other command refuses the config too (exit 2), never "internal error", and
  nothing is written.
- Renamed `manana`, the track works end to end: enrol C-351 on it, the 07:00 draw
  selects C-351 (phase 1, 3 tests a week on 3 days), its specimen is recorded, the
  timeline shows the track, and `audit verify` says intact.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story

TRACK = '\n[tracks."mañana"]\ndays = ["mon", "wed", "fri"]\n'


def _with_track(name: str):  # type: ignore[no-untyped-def]
    def edit(text: str) -> str:
        at = text.index("[phases.1]")
        return text[:at] + TRACK.replace("mañana", name).lstrip() + "\n" + text[at:]

    return edit


def test_a_non_ascii_track_is_refused_with_the_reason(story: Story) -> None:
    before = story.ledger_size()
    story.edit_config(_with_track("mañana"))
    error = story.refused("2026-11-02 06:00", 2, "config", "check")
    assert "tracks.mañana" in error and "not plain ASCII" in error
    assert "RFC 8785" in error and "'manana'" in error
    error = story.refused(
        "2026-11-02 06:01", 2, "clients", "add", "C-351", "--track", "mañana", "--phase", "1"
    )
    assert "internal error" not in error and "config check" in error
    assert story.ledger_size() == before

    story.edit_config(lambda text: text.replace('[tracks."mañana"]', "[tracks.manana]"))
    assert "track manana: mon, wed, fri" in story.out("2026-11-02 06:02", "config", "check")
    story.ok(
        "2026-11-02 06:50",
        "clients",
        "add",
        "C-351",
        "--track",
        "manana",
        "--phase",
        "1",
        "--admitted",
        "2026-11-02",
    )
    drawn = story.json("2026-11-02 07:00", "select")
    assert [row["code"] for row in drawn["selected"]] == ["C-351"]
    story.ok("2026-11-02 10:00", "results", "record", "C-351")
    assert "manana" in story.out("2026-11-03 09:00", "timeline", "C-351")
    assert "ledger intact" in story.verify("2026-11-03 09:05")

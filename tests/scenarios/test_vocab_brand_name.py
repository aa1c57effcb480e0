"""A brand name is kept as its generic name, and the client's medication reads expected.

Sunday 2026-11-01 at 16:00 staff enrol C-222 with `--meds suboxone`: stored as
buprenorphine, and `clients add` says so. Monday 2026-11-02 C-222 is drawn at 07:00 and
at 10:00 the cup shows buprenorphine and its metabolite (`--positive BUP,NORBUP`).

`results list` reads an expected positive, in words "expected: buprenorphine";
`timeline` counts a clean screen (the negative rate is 100 %); `report team` raises no
flag; `report reconcile` counts the screening resulted; `audit verify` says intact.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story


def test_suboxone_is_buprenorphine_and_reads_expected(story: Story) -> None:
    added = story.ok(
        "2026-11-01 16:00", "clients", "add", "C-222", "--track", "morning", "--phase", "1",
        "--admitted", "2026-11-02", "--meds", "suboxone",
    )  # fmt: skip
    assert "suboxone is stored as buprenorphine" in added.stderr
    shown = story.json("2026-11-01 16:05", "clients", "show", "C-222")
    assert shown["medications"] == ["buprenorphine"]
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-02 10:00", "results", "record", "C-222", "--positive", "BUP,NORBUP")

    [row] = story.json("2026-11-02 10:05", "results", "list", "--client", "C-222")
    assert row["reading"] == "expected_positive"
    assert row["flags"] == []
    assert "BUP screen cutoff 5 ng/mL: positive (expected: buprenorphine)" in row["says"]

    timeline = story.json("2026-11-03 09:00", "timeline", "C-222")
    assert timeline["screenings"][0]["counts_as"] == "expected_positive"
    assert timeline["measures"]["completed"] == 1
    team = {row["code"]: row for row in story.json("2026-11-03 09:00", "report", "team")}
    assert team["C-222"]["flags"] == []
    reconcile = story.json("2026-11-03 09:00", "report", "reconcile", "--from", "2026-11-02")
    day = next(row for row in reconcile if row["date"] == "2026-11-02")
    assert (day["collected"], day["resulted"]) == (1, 1)
    assert "ledger intact" in story.verify("2026-11-03 10:00")

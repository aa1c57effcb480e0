"""The timeline's calendar lines up: each day's heading stands over that day's symbols.

C-361 (morning track: Monday, Wednesday, Friday; phase 1) is enrolled on Monday
2026-11-02. Monday: a negative specimen. Wednesday 4th: a no-show. The clinic closes on
Friday 6th (holiday, entered on the 4th). C-361 is on hold from Monday 9th to Wednesday
11th (travel). Friday 13th: drawn, still pending at noon.

On Friday 2026-11-13 at 12:00, in an 80-column terminal, `timeline C-361` shows a
calendar whose headings "Mo Tu We Th Fr Sa Su" each start in the column of their days'
symbols (- on Monday 2nd, N on Wednesday 4th, C on Friday 6th, H from the 9th to the
11th, * on the 13th), no line is wider than 80 columns, and the CSV and JSON show the
same days. `audit verify` says the ledger is intact.
"""

from __future__ import annotations

import re

from tests.scenarios.conftest import Story

DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")


def calendar(text: str) -> list[list[str]]:
    """The calendar read by the columns of its headings; fails where a symbol stands
    outside a heading's column or a heading is not over its column."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith("week of"))
    starts = [lines[at].index(name) for name in DAYS]
    weeks = []
    for line in lines[at + 1 :]:
        if not re.match(r"  \d{4}-\d\d-\d\d  ", line):
            break
        padded = line.ljust(starts[-1] + 1)
        stray = [
            (column, padded[column])
            for column in range(starts[0], len(padded))
            if padded[column] != " " and column not in starts
        ]
        assert not stray, f"symbols outside the day columns in {line!r}: {stray}"
        weeks.append([padded[column] for column in starts])
    return weeks


def test_the_calendar_lines_up(story: Story) -> None:
    story.enrol("2026-11-02 06:50", "C-361,Ada Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-02 10:00", "results", "record", "C-361")
    story.ok("2026-11-04 07:00", "select")
    story.ok("2026-11-04 10:00", "results", "no-show", "C-361")
    story.ok("2026-11-04 12:00", "close", "2026-11-06", "--reason", "holiday")
    story.ok(
        "2026-11-06 09:00",
        "clients", "hold", "C-361", "--from", "2026-11-09", "--to", "2026-11-11",
        "--reason", "travel",
    )  # fmt: skip
    story.ok("2026-11-13 07:00", "select")

    shown = story.run("2026-11-13 12:00", "timeline", "C-361", env={"COLUMNS": "80"})
    assert shown.exit_code == 0, shown.stderr
    text = shown.stdout
    assert all(len(line) <= 80 for line in text.splitlines())
    weeks = calendar(text)
    assert weeks[-2:] == [
        ["-", " ", "N", " ", "C", " ", " "],
        ["H", "H", "H", " ", "*", " ", " "],
    ]
    data = story.json("2026-11-13 12:10", "timeline", "C-361")
    assert [w["days"] for w in data["strip"]][-2:] == weeks[-2:]
    assert "ledger intact" in story.verify("2026-11-13 12:20")

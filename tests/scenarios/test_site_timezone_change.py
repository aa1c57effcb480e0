"""The clinic's time zone changes: by editing the config (refused), then on purpose.

Days: Monday 2026-11-02 in New York. C-331 (morning track) is drawn at 07:00. At 20:00
someone edits `[site] timezone` to America/Halifax, an hour ahead, where it is already
21:00; at 23:30 in New York it would be Tuesday 00:30 in Halifax.

- With only the config edited, every command is refused (exit 3) naming both zones and
  the command that changes the zone on purpose. Nothing is written.
- `screening site timezone America/Halifax --reason "..."` at 20:05 records the change;
  it takes effect when Tuesday has begun in both zones (00:00 in New York, 01:00 in
  Halifax). The config already says Halifax, and commands work again.
- At 23:30 New York time (00:30 Tuesday in Halifax) `select` still shows Monday's
  draw: Tuesday's list cannot be drawn the evening before.
- At 00:30 New York time on Tuesday (01:30 in Halifax) `select` draws Tuesday.
- `audit verify` says the ledger is intact and flags the change of time zone;
  `audit fairness` flags it too, and so does the verifier in an `audit export`;
  `site show` lists it.
"""

from __future__ import annotations

import subprocess
import sys

from tests.scenarios.conftest import Story


def test_a_time_zone_change_takes_effect_the_next_local_day(story: Story) -> None:
    story.enrol(
        "2026-11-02 06:50",
        "C-331,Ada Example,morning,1,2026-11-01,",
        "C-332,Bo Example,evening,1,2026-11-01,",
    )
    assert story.json("2026-11-02 07:00", "select")["date"] == "2026-11-02"
    before = story.ledger_size()

    edit = lambda text: text.replace(  # noqa: E731
        'timezone = "America/New_York"', 'timezone = "America/Halifax"', 1
    )
    story.edit_config(edit)
    error = story.refused("2026-11-02 20:00", 3, "select")
    assert "America/Halifax" in error and "America/New_York" in error
    assert 'screening site timezone America/Halifax --reason "..."' in error
    story.refused("2026-11-02 20:01", 3, "today")
    assert story.ledger_size() == before

    done = story.ok(
        "2026-11-02 20:05", "site", "timezone", "America/Halifax", "--reason", "clinic moved"
    )
    assert "from 2026-11-03 01:00 AST" in done.stderr
    assert 'timezone = "America/Halifax"' in story.config.read_text()

    evening = story.json("2026-11-02 23:30", "select")
    assert evening["date"] == "2026-11-02"
    assert story.json("2026-11-02 23:31", "today")["date"] == "2026-11-02"
    tuesday = story.json("2026-11-03 00:30", "select")
    assert tuesday["date"] == "2026-11-03"
    assert [row["code"] for row in tuesday["selected"]] == ["C-332"]

    verified = story.verify("2026-11-03 09:00")
    assert "ledger intact" in verified
    assert "flag: main: time zone America/New_York -> America/Halifax" in verified
    fairness = story.out("2026-11-03 09:01", "audit", "fairness")
    assert "flag: time zone changed from America/New_York to America/Halifax" in fairness
    shown = story.out("2026-11-03 09:02", "site", "show")
    assert "America/Halifax from 2026-11-03 01:00 AST" in shown
    # The auditor's own verifier, on an export, flags it too.
    folder = story.folder / "export"
    story.ok(
        "2026-11-03 09:03",
        "audit",
        "export",
        str(folder),
        "--to",
        "State Auditor",
        "--purpose",
        "audit",
    )
    checked = subprocess.run(
        [sys.executable, str(folder / "screening-verify.py"), str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert "flag: main: time zone America/New_York -> America/Halifax" in checked.stdout

    # The old zone typed back into the config is refused in turn.
    story.edit_config(
        lambda text: text.replace('timezone = "America/Halifax"', 'timezone = "America/New_York"')
    )
    assert "site timezone America/New_York" in story.refused("2026-11-03 09:05", 3, "today")

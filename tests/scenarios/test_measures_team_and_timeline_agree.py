"""The team report and each client's timeline show the same numbers, under both policies.

Five morning clients (phase 1) are drawn every meeting day from Monday 2026-11-02 to
Monday 2026-11-16 (seven days). What staff enter:
- C-371: a negative specimen every time;
- C-372: cocaine on the 4th, a no-show on the 9th, negatives otherwise;
- C-373: a refusal on the 6th ("declined"), excused on the 11th (court, approved by Dr
  Lee), negatives otherwise;
- C-374: a substituted specimen on the 13th (a refusal by 49 CFR 40.191(b)), unable to
  provide on the 16th, negatives otherwise;
- C-375: sent to the lab on the 16th (no outcome yet), negatives otherwise.

On Tuesday 2026-11-17 at 09:00, for every client, `report team` (today, and `--date
2026-11-09`) shows the same negative run, negative rate, misses in 7 and 30 days and days
since the last unexpected positive as `timeline CODE` (to the same day); the same after
the clinic switches to `missed_counts_as = "missed"`, when the rates of C-372, C-373 and
C-374 change and the misses do not. `audit verify` says the ledger is intact.
"""

from __future__ import annotations

from datetime import date, timedelta

from tests.scenarios.conftest import Story

CODES = ("C-371", "C-372", "C-373", "C-374", "C-375")
MEETINGS = [date(2026, 11, 2) + timedelta(days=d) for d in (0, 2, 4, 7, 9, 11, 14)]
SPECIAL = {
    ("C-372", "2026-11-04"): ("results", "record", "C-372", "--positive", "COC"),
    ("C-372", "2026-11-09"): ("results", "no-show", "C-372"),
    ("C-373", "2026-11-06"): ("results", "refused", "C-373", "--reason", "declined"),
    ("C-373", "2026-11-11"): (
        "results", "excuse", "C-373", "--reason", "court", "--approved-by", "Dr Lee",
    ),
    ("C-374", "2026-11-13"): ("results", "record", "C-374", "--validity", "substituted"),
    ("C-374", "2026-11-16"): ("results", "unable", "C-374"),
    ("C-375", "2026-11-16"): (
        "results", "record", "C-375", "--sent-to-lab", "--method", "lab", "--specimen-id", "L-1",
    ),
}  # fmt: skip


def _same_numbers(story: Story, local: str, day: str | None = None) -> dict[str, dict]:
    extra = ("--date", day) if day else ()
    team = {row["code"]: row for row in story.json(local, "report", "team", *extra)}
    assert sorted(team) == list(CODES)
    measures = {}
    for code in CODES:
        to = ("--to", day) if day else ()
        m = story.json(local, "timeline", code, *to)["measures"]
        row = team[code]
        assert (
            row["negative_run"],
            row["negative_rate"],
            row["misses_7_days"],
            row["misses_30_days"],
            row["misses_in_rate"],
            row["days_since_unexpected_positive"],
        ) == (
            m["current_negative_run"],
            m["negative_rate"],
            m["misses_last_7_days"],
            m["misses_last_30_days"],
            m["misses_in_rate"],
            m["days_since_unexpected_positive"],
        ), code
        assert any(f.startswith("missed ") for f in row["flags"]) == bool(
            m["misses_last_30_days"]
        ), code
        measures[code] = m
    return measures


def test_team_and_timeline_agree(story: Story) -> None:
    story.enrol(
        "2026-11-02 06:50", *(f"{code},Client {code},morning,1,2026-11-02," for code in CODES)
    )
    for day in MEETINGS:
        story.ok(f"{day} 07:00", "select")
        for minute, code in enumerate(CODES):
            args = SPECIAL.get((code, str(day)), ("results", "record", code))
            story.ok(f"{day} 10:{minute:02d}", *args)

    counted = _same_numbers(story, "2026-11-17 09:00")
    assert counted["C-371"]["negative_rate"] == 1.0
    assert (counted["C-372"]["negatives"], counted["C-372"]["rated"]) == (5, 7)
    assert (counted["C-373"]["negatives"], counted["C-373"]["rated"]) == (5, 6)
    assert (counted["C-374"]["negatives"], counted["C-374"]["rated"]) == (5, 7)
    assert (counted["C-375"]["negatives"], counted["C-375"]["awaiting_lab"]) == (6, 1)
    assert counted["C-374"]["misses_last_7_days"] == 2
    earlier = _same_numbers(story, "2026-11-17 09:05", "2026-11-09")
    assert earlier["C-372"]["current_negative_run"] == 0  # the no-show of the 9th

    story.edit_config(
        lambda t: t.replace('missed_counts_as = "positive"', 'missed_counts_as = "missed"')
    )
    apart = _same_numbers(story, "2026-11-17 09:30")
    assert (apart["C-372"]["negatives"], apart["C-372"]["rated"]) == (5, 6)
    assert (apart["C-373"]["rated"], apart["C-373"]["negative_rate"]) == (5, 1.0)
    assert (apart["C-374"]["rated"], apart["C-374"]["negative_rate"]) == (5, 1.0)
    for code in CODES:
        assert apart[code]["misses_last_30_days"] == counted[code]["misses_last_30_days"]
    _same_numbers(story, "2026-11-17 09:35", "2026-11-09")
    assert "ledger intact" in story.verify("2026-11-17 10:00")

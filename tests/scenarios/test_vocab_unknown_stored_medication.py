"""A medication stored under a name the vocabulary no longer knows is listed for staff to
fix, never silently dropped, and the record keeps verifying.

Sunday 2026-11-01 the clinic's config adds kratom ([medications.kratom]) and staff enrol
C-160 on it. Later the clinic removes that table from the config. Monday 2026-11-02 at
06:55 `clients list`, `clients show` and `db upgrade` name C-160's "kratom" and the
command that fixes it; the stored row is not rewritten, so `audit verify` stays intact.
C-160 is drawn at 07:00 and gives a negative cup at 10:00; the result carries an
"unknown medication" note. At 11:00 staff fix the list with `clients update C-160
--meds ""`, and the warnings stop.

Tuesday at 09:00 `timeline` reads the screening negative, `report team` raises no
flag, `report reconcile` counts it resulted, and `audit verify` says intact.
"""

from __future__ import annotations

from tests.scenarios.conftest import Story

KRATOM = """
[medications.kratom]
produces = ["KRA"]

[analytes.KRA]
name = "mitragynine (kratom)"
"""


def test_an_unknown_stored_medication_is_listed_for_staff(story: Story) -> None:
    story.edit_config(lambda text: text + KRATOM)
    story.enrol("2026-11-01 16:00", "C-160,Rio Example,morning,1,2026-11-02,kratom")
    story.edit_config(lambda text: text.replace(KRATOM, ""))

    listed = story.ok("2026-11-02 06:55", "clients", "list")
    fix = "fix it with `screening clients update C-160 --meds NAME`"
    assert "client C-160: medication 'kratom' is not in the vocabulary" in listed.stderr
    assert fix in listed.stderr
    assert fix in story.ok("2026-11-02 06:55", "clients", "show", "C-160").stderr
    assert fix in story.ok("2026-11-02 06:56", "db", "upgrade").stderr
    assert "ledger intact" in story.verify("2026-11-02 06:57")

    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-02 10:00", "results", "record", "C-160")
    [row] = story.json("2026-11-02 10:05", "results", "list", "--client", "C-160")
    assert row["reading"] == "negative"
    assert any(flag.startswith("unknown_medication: 'kratom'") for flag in row["flags"])

    story.ok("2026-11-02 11:00", "clients", "update", "C-160", "--meds", "")
    assert "not in the vocabulary" not in story.ok("2026-11-02 11:01", "clients", "list").stderr

    timeline = story.json("2026-11-03 09:00", "timeline", "C-160")
    assert timeline["screenings"][0]["counts_as"] == "negative"
    team = {row["code"]: row for row in story.json("2026-11-03 09:00", "report", "team")}
    assert team["C-160"]["flags"] == []
    reconcile = story.json("2026-11-03 09:00", "report", "reconcile", "--from", "2026-11-02")
    day = next(row for row in reconcile if row["date"] == "2026-11-02")
    assert (day["collected"], day["resulted"]) == (1, 1)
    assert "ledger intact" in story.verify("2026-11-03 10:00")

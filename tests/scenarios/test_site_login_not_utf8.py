"""A workstation whose login name is not valid UTF-8 (an old Latin-1 account, "josé"
stored as the byte 0xE9) still records everything; a mistyped --actor is refused.

Days: Monday 2026-11-02. On that computer staff enrol C-371 at 06:50, draw at 07:00 and
record C-371's specimen at 10:00; someone also tries `--actor` with a name whose bytes
are not UTF-8.

- On PostgreSQL, where the database login is the user whose roles count, every write
  succeeds (never "internal error"); the OS login is kept as "jos\\xe9" among the
  clinic's staff names, and the ledger holds only its digest.
- On SQLite that login is the user, and holds no role (a name that is not UTF-8 cannot
  be typed to grant it one): it is refused (exit 4), naming it readably; nothing written.
- The --actor that is not UTF-8 is refused (exit 2) saying so; nothing is written.
- `report reconcile` counts the collection; `audit verify` says intact.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.scenarios.conftest import Story

LOGIN = b"jos\xe9".decode("utf-8", "surrogateescape")


def test_a_login_name_that_is_not_utf8(story: Story, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pwd.getpwuid", lambda uid: SimpleNamespace(pw_name=LOGIN))
    if story.clinic.is_sqlite:
        before = story.ledger_size()
        error = story.refused("2026-11-02 06:50", 4, "clients", "list")
        assert "you (jos\\xe9) hold no role there" in error
        assert story.ledger_size() == before
        return
    story.enrol("2026-11-02 06:50", "C-371,Ada Example,morning,1,2026-11-02,")
    story.ok("2026-11-02 07:00", "select")
    story.ok("2026-11-02 10:00", "results", "record", "C-371")
    names = [name for (name,) in story.clinic.sql("SELECT name FROM staff_names")]
    assert "jos\\xe9" in names
    before = story.ledger_size()
    error = story.refused("2026-11-02 10:05", 2, "--actor", LOGIN, "results", "list")
    assert "not valid UTF-8" in error
    assert story.ledger_size() == before

    reconcile = story.json("2026-11-03 09:00", "report", "reconcile", "--from", "2026-11-02")
    day = next(row for row in reconcile if row["date"] == "2026-11-02")
    assert (day["selected"], day["collected"]) == (1, 1)
    assert "ledger intact" in story.verify("2026-11-03 09:05")

"""`audit receipt` as a clinic uses it: a receipt asked for too early, a day over whose
key is not in the ledger yet, dates as the clinic writes them, --out, and an auditor who
names clients by uid only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from freezegun import freeze_time

from tests.conftest import Clinic

NEW_YORK = "America/New_York"


@pytest.fixture
def drawn(backend: str, tmp_path: Path) -> Clinic:
    """Two clients drawn on Monday 2 and Tuesday 3 November 2026 (every calendar day)."""
    clinic = Clinic(tmp_path, backend)
    with freeze_time("2026-11-02T11:00:00Z"):
        clinic.ok("init", "--timezone", NEW_YORK)
        config = clinic.folder / "screening.toml"
        config.write_text(config.read_text().replace('days = "meeting"', 'days = "calendar"'))
        clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
        clinic.ok("clients", "add", "C-2", "--track", "morning", "--phase", "1")
    for when in ("2026-11-02T12:00:00Z", "2026-11-03T12:00:00Z"):
        with freeze_time(when):
            clinic.ok("select")
    return clinic


def test_today_before_the_draw_says_when_it_is_drawn(drawn: Clinic) -> None:
    with freeze_time("2026-11-04T10:00:00Z"):  # 05:00 in New York; the draw is at 06:30
        early = drawn.run("audit", "receipt", "C-1", "2026-11-04")
    assert early.exit_code == 2
    assert "no draw for 2026-11-04 at main yet: today's list is drawn at 06:30" in early.stderr
    assert "not drawn that day" not in early.stderr


def test_a_day_over_whose_key_is_not_revealed_says_how_to_reveal_it(drawn: Clinic) -> None:
    with freeze_time("2026-11-04T10:00:00Z"):  # 3 November is over; nothing written since
        waiting = drawn.ok("audit", "receipt", "C-1", "2026-11-03")
    assert "day key: not revealed yet" in waiting.stdout
    assert "2026-11-03 is over, but its key is not in the ledger yet" in waiting.stderr
    assert "`screening audit reveal`" in waiting.stderr
    with freeze_time("2026-11-04T10:05:00Z"):
        drawn.ok("audit", "reveal")
        revealed = drawn.ok("audit", "receipt", "C-1", "2026-11-03")
    assert "\nscore: " in revealed.stdout and revealed.stderr == ""


def test_a_day_not_over_has_no_note(drawn: Clinic) -> None:
    with freeze_time("2026-11-03T15:00:00Z"):  # the receipt itself says when the key comes
        today = drawn.ok("audit", "receipt", "C-1", "2026-11-03")
    assert "day key: not revealed yet" in today.stdout and today.stderr == ""


def test_dates_as_the_clinic_writes_them(drawn: Clinic) -> None:
    config = drawn.folder / "screening.toml"
    config.write_text(
        config.read_text().replace('date_format = "YYYY-MM-DD"', 'date_format = "MM/DD/YYYY"')
    )
    with freeze_time("2026-11-03T15:00:00Z"):
        excel = drawn.ok("audit", "receipt", "C-1", "11/02/2026").stdout
        iso = drawn.ok("audit", "receipt", "C-1", "2026-11-02").stdout
        swapped = drawn.run("audit", "receipt", "C-1", "02/11/2026")
        future = drawn.run("audit", "receipt", "C-1", "11/30/2026")
    assert excel == iso and "date: 2026-11-02\n" in excel
    # Day and month the other way round is another day, with no draw: said, not guessed.
    assert swapped.exit_code == 2 and "no draw for 2026-02-11 at main" in swapped.stderr
    assert future.exit_code == 2 and "2026-11-30 is in the future" in future.stderr


def test_out_replaces_a_file_and_refuses_a_missing_folder(drawn: Clinic, tmp_path: Path) -> None:
    out = tmp_path / "receipt.txt"
    out.write_text("an older receipt\n")
    with freeze_time("2026-11-03T15:00:00Z"):
        done = drawn.ok("audit", "receipt", "C-1", "2026-11-02", "--out", str(out))
        missing = drawn.run(
            "audit", "receipt", "C-1", "2026-11-02", "--out", str(tmp_path / "no" / "r.txt")
        )
    assert out.read_text().startswith("screening day receipt 1") and "written to" in done.stderr
    assert missing.exit_code == 2 and "does not exist; create it first" in missing.stderr
    assert not (tmp_path / "no").exists()


def test_an_auditor_names_the_client_by_uid_and_sees_no_code(drawn: Clinic) -> None:
    from screening import config
    from screening.db.engine import Database, resolve_url
    from screening.errors import BadInput
    from screening.services.audit import day_receipt
    from screening.services.plumbing.context import Actor, Context

    uid = drawn.sql("SELECT uid FROM clients WHERE code = 'C-1'")[0][0]
    settings = config.load(drawn.folder / "screening.toml")
    now = datetime(2026, 11, 3, 15, tzinfo=UTC)
    database = Database(resolve_url(drawn.url, drawn.folder))
    auditor = Context(
        settings, database, Actor("auditor1"), now, now.date(), frozenset({"auditor"}),
        "audit receipt",
    )  # fmt: skip
    before = drawn.sql("SELECT count(*) FROM ledger")[0][0]
    try:
        text, note = day_receipt(auditor, uid, "2026-11-02")
        with pytest.raises(BadInput) as refused:
            day_receipt(auditor, "C-1", "2026-11-02")
    finally:
        database.dispose()
    assert f"client: {uid}\n" in text and "C-1" not in text and note is None
    assert "by uid" in refused.value.message
    # Nothing identified was shown: no read of a chart recorded.
    after = drawn.sql("SELECT canonical FROM ledger ORDER BY seq")[before:]
    assert [json.loads(text)["kind"] for (text,) in after] == []


def test_a_receipt_saved_by_an_editor_still_verifies(drawn: Clinic, tmp_path: Path) -> None:
    """A byte-order mark (Notepad), Windows line ends, the last line end lost or doubled:
    none is covered by the check line, and none is taken for a forgery."""
    import subprocess
    import sys

    from tests.test_receipt import SCRIPT

    with freeze_time("2026-11-04T12:00:00Z"):
        drawn.ok("audit", "reveal")
        text = drawn.ok("audit", "receipt", "C-1", "2026-11-02").stdout
    saved = {
        "bom": b"\xef\xbb\xbf" + text.encode(),
        "crlf": text.replace("\n", "\r\n").encode(),
        "no-last-newline": text[:-1].encode(),
        "blank-lines-after": (text + "\n\n").encode(),
    }
    changed = {
        "space-after": text[:-1] + " \n",
        "blank-line-before-check": text.replace("\ncheck: ", "\n\ncheck: "),
    }
    for name, data in [*saved.items(), *((k, v.encode()) for k, v in changed.items())]:
        path = tmp_path / f"{name}.txt"
        path.write_bytes(data)
        done = subprocess.run(
            [sys.executable, str(SCRIPT), "--receipt", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == (0 if name in saved else 1), (name, done.stderr)

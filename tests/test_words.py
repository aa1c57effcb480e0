"""Every text output speaks the clinic's language: words instead of internal values,
what needs attention marked (and coloured only on a terminal, never under NO_COLOR),
tables that keep every column at 80 columns, counts with the right noun, and instants in
the site's local time. One populated clinic (SQLite; the words are the same on any
backend) is shared by the module."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from freezegun import freeze_time

from tests.conftest import Clinic, isolate
from tests.scenarios.conftest import PHASES, instant

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples" / "clients.csv"
LONG_CODE = "C-1000000000000000000042"
LONG_NAME = "Maximilian Alexander Featherstonehaugh-Wolfeschlegel"
LONG_TRACK = "evening-and-weekend-group"
MONDAY = "2026-11-30"


def _configure(config: Path) -> None:
    """Certain draws (scenarios/conftest.py's phases) and a track with a long name."""
    text = config.read_text()
    text = re.sub(r"\[phases\.1\].*?(?=\n\[(?!phases)|\Z)", PHASES.strip() + "\n", text, flags=re.S)
    text += f'\n[tracks.{LONG_TRACK}]\ndays = ["mon", "wed", "fri"]\n'
    config.write_text(text)


def _at(local: str):  # type: ignore[no-untyped-def]
    return freeze_time(instant(local))


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    """A clinic after a few days: results of every kind, a miss, a hold, a closure, a
    discharge, an amended draw and a screening overdue at 23:30 on Wednesday."""
    folder = tmp_path_factory.mktemp("town")
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate(folder, monkeypatch)
        clinic = Clinic(folder, f"sqlite:///{folder / 'screening.db'}")
        with _at(f"{MONDAY} 08:00"):
            clinic.ok("init", "--site", "main", "--timezone", "America/New_York")
            _configure(folder / "screening.toml")
            shutil.copy(EXAMPLES, folder / "clients.csv")
            clinic.ok("clients", "import", "clients.csv")
            clinic.ok(
                "clients", "add", LONG_CODE, "--name", LONG_NAME, "--track", LONG_TRACK,
                "--phase", "1", "--admitted", "2026-11-02",
            )  # fmt: skip
            clinic.ok("select")
        with _at(f"{MONDAY} 10:00"):
            clinic.ok("results", "record", "C-101", "--positive", "COC")
            clinic.ok(
                "results", "record", "C-107", "--positive", "MTD,EDDP", "--validity", "dilute"
            )
            clinic.ok("results", "no-show", "C-113")
            clinic.ok("results", "record", LONG_CODE)
            clinic.ok("clients", "add", "C-200", "--track", "morning", "--phase", "1")
            clinic.ok("select", "--amend", "--reason", "enrolled after the draw")
            clinic.ok("clients", "hold", "C-102", "--from", "2026-12-07", "--to", "2026-12-09",
                      "--reason", "travel")  # fmt: skip
            clinic.ok("close", "2026-12-25", "--reason", "holiday")
            clinic.ok("clients", "discharge", "C-109", "--reason", "completed")
            # Monday's draw shown again once amended (later the ledger is past Monday).
            shown = clinic.ok("select")
            clinic.monday_select = shown.stdout + shown.stderr  # type: ignore[attr-defined]
        with _at("2026-12-02 08:00"):
            clinic.ok("select")
        with _at("2026-12-02 10:00"):
            clinic.ok("results", "record", "C-101", "--negative", "COC")
            clinic.ok("results", "no-show", "C-113")
        yield clinic


def _run(clinic: Clinic, local: str, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """The command at ``local`` time in the shared clinic (each test works in its own
    folder: the config is named)."""
    with _at(local):
        result = clinic.run("--config", str(clinic.folder / "screening.toml"), *args, env=env)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result


def _read(clinic: Clinic, local: str, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """The command at ``local`` time, run on a copy of the shared clinic: a read of
    identified data records itself in the ledger (a `viewed` entry), and the ledger's
    times only go forward, so that each test may read the town at the hour it needs."""
    copy = Path(tempfile.mkdtemp(prefix="town-")) / "town"
    try:
        shutil.copytree(clinic.folder, copy)
        return _run(Clinic(copy, f"sqlite:///{copy / 'screening.db'}"), local, *args, env=env)
    finally:
        shutil.rmtree(copy.parent, ignore_errors=True)


def _shown(clinic: Clinic, local: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = _read(clinic, local, *args, env=env)
    return result.stdout + result.stderr


TEXT_COMMANDS = [
    ("clients", "list"),
    ("clients", "show", "C-102"),
    ("clients", "show", LONG_CODE),
    ("select",),
    ("today",),
    ("results", "pending"),
    ("results", "list"),
    ("results", "show", "1"),
    ("results", "show", "2"),
    ("report", "team"),
    ("report", "reconcile", "--from", "2026-11-28"),
    ("site", "show"),
    ("policy", "show"),
    ("audit", "verify"),
    ("audit", "explain", "C-101"),
    ("audit", "fairness"),
    ("timeline", "C-113"),
    ("config", "check"),
]
SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")
ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
PATH = re.compile(r"\S*/\S*")
# Names the clinic gave in its config, typed as they are (--panel oral_fluid).
CONFIG_NAMES = re.compile(r"\bpanel oral_fluid\b")


@pytest.mark.parametrize("args", TEXT_COMMANDS, ids=" ".join)
def test_text_output_uses_the_clinic_s_words_and_local_times(town: Clinic, args) -> None:  # type: ignore[no-untyped-def]
    text = CONFIG_NAMES.sub(" ", PATH.sub(" ", _shown(town, "2026-12-02 23:30", *args)))
    assert not SNAKE.findall(text), f"internal values in `{' '.join(args)}`"
    assert not ISO_INSTANT.findall(text), f"raw ISO instants in `{' '.join(args)}`"


def test_what_needs_attention_is_marked_in_words(town: Clinic) -> None:
    wide = {"COLUMNS": "200"}
    listing = _shown(town, "2026-12-02 23:30", "results", "list", env=wide)
    assert "! unexpected positive" in listing and "! no-show" in listing
    assert "\x1b[" not in listing  # not a terminal: no colour
    today = _shown(town, "2026-12-02 23:30", "today", env=wide)
    assert "! overdue" in today and "! no-show" in today
    assert re.search(r"^! \d+ pending, \d+ overdue, \d+ done$", today, re.M)
    team = _shown(town, "2026-12-02 12:00", "report", "team", env=wide)
    assert "! unexpected positive in 7 days" in team
    shown = _shown(town, "2026-12-02 12:00", "results", "show", "1")
    assert "reads: ! unexpected positive; positive: COC" in shown


def test_colour_only_where_asked_and_never_under_no_color(town: Clinic) -> None:
    wide = {"COLUMNS": "200", "FORCE_COLOR": "1"}
    forced = _shown(town, "2026-12-02 23:30", "results", "list", env=wide)
    assert "\x1b[1;31m! unexpected positive" in forced
    for value in ("1", "true", "0"):  # no-color.org: any value but the empty one
        plain = _shown(town, "2026-12-02 23:30", "results", "list", env={**wide, "NO_COLOR": value})
        assert "\x1b[" not in plain and "! unexpected positive" in plain
        shown = _shown(town, "2026-12-02 23:30", "results", "show", "1", env={"NO_COLOR": value})
        assert "\x1b[" not in shown and "reads: ! unexpected positive" in shown
    empty = _shown(town, "2026-12-02 23:30", "results", "show", "1", env={**wide, "NO_COLOR": ""})
    assert "\x1b[" in empty


# (each table at a time of day that shows its status words: pending at noon)
TABLES = {
    ("today",): ["code", "name", "track", "phase", "why selected", "collect by", "status"],
    ("clients", "list"): ["code", "name", "track", "phase", "status", "admitted", "discharged"],
    ("results", "pending"): ["screening", "code", "name", "why", "observed", "due by", "status"],
    ("results", "list"): ["screening", "date", "code", "why", "status", "result", "reads", "found"],
    ("report", "team"): ["code", "name", "ph", "last", "result", "run", "neg", "miss", "flags"],
    ("report", "reconcile", "--from", "2026-11-28"): ["date", "draw", "sel", "ovd", "notes"],
}
STATUS_WORDS = {
    ("today",): ["overdue", "collected", "no-show"],  # at 23:30
    ("clients", "list"): ["discharged", "active"],
    ("results", "pending"): ["pending"],
    ("results", "list"): ["collected", "no-show", "pending", "unexpected", "positive"],
    ("report", "team"): ["negative", "no-show", "expected", "positive"],
    ("report", "reconcile", "--from", "2026-11-28"): ["drawn"],
}


@pytest.mark.parametrize("width", ["80", "200"])
@pytest.mark.parametrize("args", list(TABLES), ids=" ".join)
def test_tables_keep_every_column_and_status_word_at_any_width(
    town: Clinic,
    args,  # type: ignore[no-untyped-def]
    width: str,
) -> None:
    at = "2026-12-02 23:30" if args == ("today",) else "2026-12-02 12:00"
    result = _read(town, at, *args, env={"COLUMNS": width})
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= int(width)
    words = set(" ".join(lines).split())
    for heading in TABLES[args]:
        assert set(heading.split()) <= words, (heading, width)
    for status in STATUS_WORDS[args]:
        assert status in words, (status, width)
    if args == ("today",):
        assert LONG_NAME.split()[0] in words and LONG_TRACK[:4] in result.stdout


def test_counts_take_the_right_noun(town: Clinic) -> None:
    verified = _shown(town, "2026-12-02 23:30", "audit", "verify")
    assert "1 hold," in verified and "1 closure," in verified and "holds," not in verified
    summary = town.monday_select  # type: ignore[attr-defined]
    assert "amended once" in summary
    explained = _shown(town, "2026-12-02 23:30", "audit", "explain", "C-101")
    assert "1 in 1 times" not in explained and "nearly every time" in explained
    _run(town, "2026-12-02 23:40", "clients", "hold", "C-103", "--from", "2026-12-14",
         "--to", "2026-12-15", "--reason", "court")  # fmt: skip
    assert "2 holds," in _shown(town, "2026-12-02 23:45", "audit", "verify")


def test_import_summaries_in_the_singular_and_plural(town: Clinic, tmp_path: Path) -> None:
    one = tmp_path / "one.csv"
    one.write_text("code,name,track,phase,admitted_on,medications\nC-301,One,morning,1,,\n")
    two = tmp_path / "two.csv"
    two.write_text(
        "code,name,track,phase,admitted_on,medications\n"
        "C-302,Two,morning,1,,\nC-303,Three,evening,2,,\n"
    )
    at = "2026-12-02 23:50"
    dry = _run(town, at, "clients", "import", str(one), "--dry-run").stderr
    done = _run(town, at, "clients", "import", str(one)).stderr
    many = _run(town, at, "clients", "import", str(two)).stderr
    assert "the 1 row is valid" in dry
    assert "enrolled 1 client from" in done and "enrolled 2 clients from" in many


def test_one_plural_helper_and_one_time_style() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from screening.render.words import local_time, plural, times, word

    assert [plural(1, "hold"), plural(2, "hold"), plural(0, "entry"), plural(3, "miss")] == [
        "1 hold",
        "2 holds",
        "0 entries",
        "3 misses",
    ]
    assert [times(1), times(2), times(5)] == ["once", "twice", "5 times"]
    zone = ZoneInfo("America/New_York")
    assert local_time("2026-12-04T15:05:00-05:00", zone) == "2026-12-04 15:05 EST"
    assert local_time(datetime(2027, 3, 14, 7, 30, tzinfo=UTC), zone) == "2027-03-14 03:30 EDT"
    assert local_time("2026-12-04 15:05", zone, day=datetime(2026, 12, 4).date()) == "15:05 EST"
    assert word("no_show") == "no-show" and word("interval") == "interval (due for a test)"

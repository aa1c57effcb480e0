"""The timeline and the reports, rendered: a golden text file, the four forms agreeing on
every measure, self-contained and escaped HTML checked in a real headless browser, and
the team and reconciliation reports agreeing across formats.

The history is built once through the CLI under freezegun: ten weeks of one client on the
morning track (Mon, Wed, Fri) drawn every meeting day (3 tests a week on 3 days is p = 1),
so nothing depends on the random key made by ``init``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from screening.render.timeline import _percent, measure_lines
from screening.render.words import marked
from tests.conftest import Clinic, write_csv

ZONE = ZoneInfo("America/New_York")
GOLDEN = Path(__file__).parent / "data" / "timeline_golden.txt"
SCREENSHOT = Path(__file__).parent.parent / "docs" / "timeline.png"
CHROMIUM = "/usr/bin/chromium"
CODE = "C-101"
XSS_CODE = "C-666"
XSS_NAME = '<script>alert(1)</script> & "Jo"'
FIRST, LAST = "2026-09-04", "2026-11-13"  # admission (a Friday) to the last draw
TODAY = date(2026, 11, 13)
MEDS = "BUP,NORBUP"  # what buprenorphine explains: a clean screen shows both
# Read at import: conftest's autouse fixture removes every SCREENING_* variable.
UPDATE_GOLDEN = os.environ.get("SCREENING_UPDATE_GOLDEN") == "1"
UPDATE_SCREENSHOT = os.environ.get("SCREENING_UPDATE_SCREENSHOT") == "1"


def at(day: date, clock: str) -> datetime:
    """``clock`` (HH:MM) in the clinic's zone on ``day``, as UTC for freezegun."""
    hours, minutes = map(int, clock.split(":"))
    local = datetime(day.year, day.month, day.day, hours, minutes, tzinfo=ZONE)
    return local.astimezone(UTC)


def _every_p_one(config: Path) -> None:
    """Phases 1 and 2 at 3 tests a week: on a 3-day track everyone is drawn every day."""
    text = config.read_text()
    for phase, old in (("1", "2"), ("2", "1")):
        section = f"[phases.{phase}]\n"
        head, _, tail = text.partition(section)
        assert tail, f"no {section!r} in the config"
        tail = tail.replace(f"tests_per_week = {old}\n", "tests_per_week = 3\n", 1)
        text = head + section + tail
    config.write_text(text)


def _result_number(clinic: Clinic, day: date) -> str:
    rows = json.loads(clinic.ok("results", "list", "--json", "--client", CODE).stdout)
    found = [r for r in rows if r["date"] == day.isoformat() and r["result"]]
    assert len(found) == 1, rows
    return str(found[0]["result"])


def _negative(clinic: Clinic, day: date) -> None:
    """A clean screen for a client on buprenorphine: it is there, nothing else is."""
    with freeze_time(at(day, "10:00")):
        clinic.ok("results", "record", CODE, "--positive", MEDS, "--temperature-ok")


def _history(clinic: Clinic) -> None:
    """Ten weeks of one client, every kind of day the strip has a symbol for."""
    start = date(2026, 9, 4)
    with freeze_time(at(start, "07:00")):
        clinic.ok("init", "--site", "main", "--timezone", "America/New_York")
        _every_p_one(clinic.folder / "screening.toml")
        clinic.ok(
            "clients",
            "add",
            CODE,
            "--track",
            "morning",
            "--phase",
            "1",
            "--name",
            "Test Client",
            "--meds",
            "buprenorphine",
        )
        clinic.ok("close", "2026-09-07", "--reason", "Labor Day")
    # What happens on each meeting day after the draw; anything not listed is clean.
    plan = {
        date(2026, 9, 16): "presumptive THC",
        date(2026, 9, 18): "THC overturned",
        date(2026, 9, 21): "confirmed COC",
        date(2026, 9, 23): "no-show",
        date(2026, 9, 28): "refused",
        date(2026, 9, 30): "excused",
        date(2026, 10, 2): "dilute",
        date(2026, 10, 19): "phase 2",
        date(2026, 11, 4): "nothing",  # swept to a no-show by Thursday's draw
        date(2026, 11, 13): "nothing",  # today: still pending
    }
    day = start
    while day <= TODAY:
        if day.weekday() < 5:
            with freeze_time(at(day, "07:00")):
                drawn = json.loads(clinic.ok("select", "--json").stdout)
            codes = [row["code"] for row in drawn.get("selected", [])]
            meeting = day.weekday() in (0, 2, 4)
            closed = day == date(2026, 9, 7)
            on_hold = date(2026, 10, 5) <= day <= date(2026, 10, 16)
            assert codes == ([CODE] if meeting and not closed and not on_hold else []), (
                day,
                drawn,
            )
            if codes:
                _day(clinic, day, plan.get(day, "clean"))
            if day == date(2026, 10, 22):  # a Thursday: a test asked for, not drawn
                with freeze_time(at(day, "11:00")):
                    clinic.ok("results", "for-cause", CODE, "--reason", "staff concern")
                    clinic.ok("results", "record", CODE, "--positive", MEDS)
        day += timedelta(days=1)
    with freeze_time(at(TODAY, "08:00")):
        clinic.ok("clients", "add", XSS_CODE, "--track", "evening", "--phase", "3")
        clinic.ok("clients", "update", XSS_CODE, "--name", XSS_NAME)


def _day(clinic: Clinic, day: date, what: str) -> None:
    later = freeze_time(at(day, "10:00"))
    if what == "clean":
        _negative(clinic, day)
    elif what == "presumptive THC":
        with later:
            clinic.ok("results", "record", CODE, "--positive", f"{MEDS},THC", "--level", "THC=80")
    elif what == "THC overturned":
        _negative(clinic, day)
        with later:
            clinic.ok(
                "results",
                "amend",
                _result_number(clinic, date(2026, 9, 16)),
                "--reason",
                "lab_confirmation",
                "--negative",
                "THC",
                "--lab-report",
                "R-1",
            )
    elif what == "confirmed COC":
        with later:
            clinic.ok(
                "results",
                "record",
                CODE,
                "--positive",
                f"{MEDS},COC",
                "--confirmed",
                "--level",
                "COC=900",
                "--method",
                "lab",
            )
    elif what == "no-show":
        with freeze_time(at(day, "18:00")):
            clinic.ok("results", "no-show", CODE)
    elif what == "refused":
        with later:
            clinic.ok("results", "refused", CODE, "--reason", "declined to give a specimen")
    elif what == "excused":
        with later:
            clinic.ok("results", "excuse", CODE, "--reason", "medical", "--approved-by", "Dr Lee")
    elif what == "dilute":
        with later:
            dilute = clinic.ok(
                "results", "record", CODE, "--negative", MEDS, "--creatinine", "3", "--sg", "1.0020"
            )
            assert "under direct observation" in dilute.stderr
        with freeze_time(at(day, "10:30")):
            clinic.ok(
                "results",
                "record",
                CODE,
                "--observed",
                "--observed-reason",
                "dilute",
                "--positive",
                MEDS,
            )
            clinic.ok(
                "clients", "hold", CODE, "--from", "2026-10-05", "--to", "2026-10-16",
                "--reason", "hospital",
            )  # fmt: skip
    elif what == "phase 2":
        _negative(clinic, day)
        with freeze_time(at(day, "11:00")):
            clinic.ok("clients", "update", CODE, "--phase", "2")
    else:
        assert what == "nothing", what


def _isolated_clinic(folder: Path, mp: pytest.MonkeyPatch) -> Clinic:
    """What conftest's autouse ``_isolated`` does, for a fixture shared by a module."""
    for name in list(os.environ):
        if name.startswith("SCREENING_"):
            mp.delenv(name)
    mp.setenv("HOME", str(folder / "home"))
    mp.setenv("XDG_CONFIG_HOME", str(folder / "home" / ".config"))
    mp.setenv("USER", "staff1")
    mp.chdir(folder)
    return Clinic(folder, f"sqlite:///{folder / 'screening.db'}")


class Shared(Clinic):
    """The built clinic, usable from any test's folder: the config is named outright."""

    def run(self, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        config = {"SCREENING_CONFIG": str(self.folder / "screening.toml")}
        with freeze_time(at(TODAY, "12:00")):
            return super().run(*args, env={**config, **(env or {})})


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    folder = tmp_path_factory.mktemp("history")
    with pytest.MonkeyPatch.context() as mp:
        clinic = _isolated_clinic(folder, mp)
        _history(clinic)
    yield Shared(folder, clinic.url)


def _timeline(clinic: Clinic, *args: str, code: str = CODE) -> str:
    return clinic.ok("timeline", code, "--from", FIRST, "--to", LAST, *args).stdout


# --- the text form ------------------------------------------------------------------------


def test_the_text_form_matches_the_golden_file(history: Shared) -> None:
    text = _timeline(history)
    if UPDATE_GOLDEN:
        GOLDEN.write_text(text, encoding="utf-8")
    assert "\x1b[" not in text  # CliRunner's stdout is not a terminal: no colour
    too_wide = [line for line in text.splitlines() if len(line) > 80]
    assert not too_wide, too_wide
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_nothing_key_dependent_reaches_the_text(history: Shared) -> None:
    """The key differs per run; uids, hashes and salts must not show in the timeline."""
    text = _timeline(history)
    uid = history.sql("SELECT uid FROM clients WHERE code = :c", c=CODE)[0][0]
    hashes = [h for (h,) in history.sql("SELECT hash FROM ledger")]
    assert uid not in text
    assert not any(h[:12] in text for h in hashes)
    assert not re.search(r"\b[0-9a-f]{16,}\b", text)


# --- the four forms agree -----------------------------------------------------------------


class _Measures(HTMLParser):
    """The rows of the HTML measures table."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, str]] = []
        self._in_measures = False
        self._cell: str | None = None
        self._row: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("class", "measures") in attrs:
            self._in_measures = True
        elif self._in_measures and tag in ("th", "td"):
            self._cell = ""
        elif self._in_measures and tag == "tr":
            self._row = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_measures = False
        elif self._in_measures and tag in ("th", "td") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif self._in_measures and tag == "tr":
            self.rows.append((self._row[0], self._row[1]))

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell += data


def _parse_html(html: str) -> _Measures:
    parser = _Measures()
    parser.feed(html)
    parser.close()
    return parser


def _csv_measures(text: str) -> dict[str, object]:
    substances: dict[str, dict[str, int]] = {}
    found: dict[str, object] = {"substances_by_month": substances}
    for row in csv.DictReader(io.StringIO(text)):
        if row["kind"] == "measure":
            found[row["key"]] = row["value"]
        elif row["kind"] == "substance":
            month, code = row["key"].split()
            substances.setdefault(month, {})[code] = int(row["value"])
    return found


def _as_csv_value(value: object) -> object:
    return "" if value is None else value if isinstance(value, dict) else str(value)


def test_json_csv_html_and_text_agree_on_every_measure(history: Shared) -> None:
    data = json.loads(_timeline(history, "--format", "json"))
    measures = data["measures"]
    # What the history holds (see _history), worked out by hand.
    # Counted (random and drawn screenings, the dilute specimen once, through its observed
    # recollection; the for-cause test apart): 24 to today, the 13th still pending.
    # Due leaves out the pending and the excused: 22, of which 19 collected (two
    # no-shows and a refusal). Negative: all collected but the COC positive, 18; under
    # missed_counts_as = "positive" the three misses are in the rate: 18 of 22.
    # Runs: 6 until the COC positive, 8 from the recollection of 2 October to the
    # no-show of 4 November, 3 since.
    assert measures == {
        "missed_counts_as": "positive",
        "selected": 24,
        "due": 22,
        "completed": 19,
        "completion_rate": 0.864,
        "awaiting_lab": 0,
        "negatives": 18,
        "rated": 22,
        "negative_rate": 0.818,
        "misses": 3,
        "misses_in_rate": 3,
        "current_negative_run": 3,
        "longest_negative_run": 8,
        "last_unexpected_positive": "2026-09-21",
        "days_since_unexpected_positive": 53,
        "misses_last_7_days": 0,
        "misses_last_30_days": 1,  # the no-show of 4 November
        "for_cause": 1,
        "substances_by_month": {"2026-09": {"COC": 1}},  # not the prescribed BUP, NORBUP
    }
    # CSV: one "measure" row a measure, substances as their own rows.
    assert _csv_measures(_timeline(history, "--format", "csv")) == {
        key: _as_csv_value(value) for key, value in measures.items()
    }
    # HTML and text: the same words, label by label, as measure_lines gives them.
    expected = measure_lines(measures)
    html = _timeline(history, "--format", "html")
    assert _parse_html(html).rows == expected
    text = _timeline(history).splitlines()
    for label, value in expected:
        assert any(
            re.fullmatch(rf"  {re.escape(label)}\s+{re.escape(value)}", line) for line in text
        ), (
            label,
            value,
        )
    # ...and the strip and events are the same in every form.
    days_csv = [
        (r["key"], r["value"])
        for r in csv.DictReader(io.StringIO(_timeline(history, "--format", "csv")))
        if r["kind"] == "day"
    ]
    days_json = [
        ((date.fromisoformat(w["week_of"]) + timedelta(days=i)).isoformat(), cell)
        for w in data["strip"]
        for i, cell in enumerate(w["days"])
    ]
    assert days_csv == days_json
    rects = re.findall(r"<rect [^>]*><title>([^<]*)</title></rect>", html)
    assert len(rects) == len(days_json)
    strip_lines = [line for line in text if re.match(r"  \d{4}-\d\d-\d\d  ", line)]
    assert [line[:12].strip() for line in strip_lines] == [w["week_of"] for w in data["strip"]]
    for line, week in zip(strip_lines, data["strip"], strict=True):
        assert line[14:].ljust(21) == "".join(f"{c}  " for c in week["days"])
    for event in data["events"]:
        assert f'<time datetime="{event["date"]}">{event["at"]}</time> ' in html


def test_the_strip_and_events_say_what_happened(history: Shared) -> None:
    data = json.loads(_timeline(history, "--format", "json"))
    cells = {
        (date.fromisoformat(w["week_of"]) + timedelta(days=i)).isoformat(): cell
        for w in data["strip"]
        for i, cell in enumerate(w["days"])
    }
    assert cells["2026-09-03"] == " "  # before admission
    assert cells["2026-09-07"] == "C"
    assert cells["2026-09-09"] == "e"
    assert cells["2026-09-16"] == "e"  # the presumptive THC, overturned by the lab
    assert cells["2026-09-21"] == "P"
    assert cells["2026-09-23"] == "N"
    assert cells["2026-09-28"] == "R"
    assert cells["2026-09-30"] == "E"
    assert cells["2026-10-02"] == "d"  # dilute, with its observed recollection the same day
    assert cells["2026-10-05"] == cells["2026-10-16"] == "H"
    assert cells["2026-10-22"] == "e"  # the for-cause test on a Thursday
    assert cells["2026-11-04"] == "N"
    assert cells["2026-11-13"] == "*"
    assert cells["2026-09-08"] == " " and cells["2026-09-12"] == " "  # Tue, Sat
    texts = [e["text"] for e in data["events"]]
    assert texts[0] == "enrolled: phase 1, track morning"
    for wanted in (
        "no-show",
        "refused",
        "excused (medical, approved by Dr Lee)",
        "observed recollection ordered",
        "hold 2026-10-05 to 2026-10-16: hospital",
        "phase 1 → 2",
        "for-cause screening ordered",
        "no-show (at the deadline)",
    ):
        assert wanted in texts, wanted


def test_an_amendment_shows_in_the_events(history: Shared) -> None:
    data = json.loads(_timeline(history, "--format", "json"))
    texts = [(e["date"], e["text"]) for e in data["events"]]
    # The lab's word on 16 September's THC, entered on the 18th: the amendment's entry
    # carries the reading, the collection's entry no longer does.
    assert ("2026-09-18", "result of 2026-09-16 amended: lab confirmation: reads expected "
            "positive") in texts  # fmt: skip
    assert ("2026-09-16", "specimen collected (urine, point of care)") in texts


def test_substances_count_only_what_was_not_prescribed(history: Shared) -> None:
    data = json.loads(_timeline(history, "--format", "json"))
    assert data["measures"]["substances_by_month"] == {"2026-09": {"COC": 1}}


def test_user_text_in_events_is_printed_as_typed(tmp_path: Path) -> None:
    """Free text (a hold's reason) is shown as typed, never read as terminal markup."""
    clinic = Clinic(tmp_path, f"sqlite:///{tmp_path / 'screening.db'}")
    with freeze_time(at(TODAY, "08:00")):
        clinic.ok("init", "--site", "main", "--timezone", "America/New_York")
        clinic.ok("clients", "add", CODE, "--track", "evening", "--phase", "3")
        for start, end, reason in (
            ("2026-11-16", "2026-11-17", "travel [see note]"),
            ("2026-11-18", "2026-11-19", "court [/]"),
        ):
            clinic.ok("clients", "hold", CODE, "--from", start, "--to", end, "--reason", reason)
        shown = clinic.run("timeline", CODE, "--to", "2026-11-20")
    assert shown.exit_code == 0, shown.stderr
    assert "hold 2026-11-16 to 2026-11-17: travel [see note]" in shown.stdout
    assert "hold 2026-11-18 to 2026-11-19: court [/]" in shown.stdout


# --- HTML ---------------------------------------------------------------------------------


def _self_contained(html: str) -> None:
    lowered = html.lower()
    assert "<script" not in lowered
    assert "http://" not in lowered.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in lowered
    assert "<link" not in lowered and "@import" not in lowered and "url(" not in lowered
    assert "<img" not in lowered and "<iframe" not in lowered


def test_the_html_is_self_contained_and_escapes_user_text(history: Shared) -> None:
    _self_contained(_timeline(history, "--format", "html"))
    html = history.ok("timeline", XSS_CODE, "--format", "html").stdout
    _self_contained(html)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;Jo&#34;" in html
    text = history.ok("timeline", XSS_CODE).stdout
    assert XSS_NAME in text  # the terminal shows the name as it is
    assert (
        json.loads(history.ok("timeline", XSS_CODE, "--format", "json").stdout)["client"]["name"]
        == XSS_NAME
    )


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    if not (Path(CHROMIUM).exists() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_html_renders_in_a_headless_browser(history: Shared, tmp_path: Path) -> None:
    page = tmp_path / "timeline.html"
    history.ok(
        "timeline", CODE, "--from", FIRST, "--to", LAST, "--format", "html", "--out", str(page)
    )
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    data = json.loads(_timeline(history, "--format", "json"))
    days = sum(len(w["days"]) for w in data["strip"])

    shown = _chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile")
    assert shown.returncode == 0, shown.stderr
    dom = shown.stdout
    assert "CONSOLE" not in shown.stderr and "Uncaught" not in shown.stderr, shown.stderr
    assert f'<h1 id="client">{CODE} — Test Client</h1>' in dom
    assert '<section id="measures">' in dom
    for label, value in measure_lines(data["measures"]):
        assert f'<th scope="row">{label}</th><td>{value}</td>' in dom, label
    strip = re.search(r'<section id="strip">.*?<svg (.*?)</svg>', dom, re.S)
    assert strip is not None
    assert strip.group(1).count("<rect") == days == 7 * len(data["strip"])

    shot = tmp_path / "timeline.png"
    taken = _chromium(
        f"--screenshot={shot}",
        "--window-size=1000,1300",
        "--hide-scrollbars",
        page.as_uri(),
        profile=tmp_path / "p2",
    )
    assert taken.returncode == 0, taken.stderr
    assert "CONSOLE" not in taken.stderr and "Uncaught" not in taken.stderr, taken.stderr
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == (1000, 1300)
    if UPDATE_SCREENSHOT:
        shutil.copyfile(shot, SCREENSHOT)


# --- reports ------------------------------------------------------------------------------

DAY1 = date(2026, 11, 23)  # a Monday


def _small_clinic(clinic: Clinic) -> None:
    """Four morning clients, all drawn on Monday (a clean screen, a positive, a refusal,
    an excusal) and on Wednesday (three clean screens, one left pending)."""
    with freeze_time(at(DAY1, "07:00")):
        clinic.ok("init", "--site", "main", "--timezone", "America/New_York")
        _every_p_one(clinic.folder / "screening.toml")
        rows = [f"C-0{i},Client {i},morning,1,2026-11-02," for i in range(1, 5)]
        clinic.ok("clients", "import", str(write_csv(clinic.folder / "c.csv", rows)))
        clinic.ok("select")
    with freeze_time(at(DAY1, "10:00")):
        clinic.ok("results", "record", "C-01")
        clinic.ok("results", "record", "C-02", "--positive", "COC")
        clinic.ok("results", "refused", "C-03", "--reason", "declined")
        clinic.ok("results", "excuse", "C-04", "--reason", "court", "--approved-by", "Dr Lee")
    wednesday = DAY1 + timedelta(days=2)
    with freeze_time(at(wednesday, "07:00")):
        clinic.ok("select")
    with freeze_time(at(wednesday, "10:00")):
        for code in ("C-01", "C-02", "C-03"):
            clinic.ok("results", "record", code)


def _text_rows(text: str) -> list[list[str]]:
    """The body rows of a rich SIMPLE_HEAD table, cut at the headings' columns; a line
    with the first column blank continues the row above (a long cell wrapped)."""
    lines = text.splitlines()
    rule = next(i for i, line in enumerate(lines) if set(line.strip()) == {"─"})
    starts = [m.start() for m in re.finditer(r"\S+", lines[rule - 1])]
    bounds = list(zip(starts, [*starts[1:], None], strict=True))
    rows: list[list[str]] = []
    for line in lines[rule + 1 :]:
        if not line.strip():
            continue
        cells = [line[a:b].strip() for a, b in bounds]
        if cells[0]:
            rows.append(cells)
        else:
            rows[-1] = [f"{old} {new}".strip() for old, new in zip(rows[-1], cells, strict=True)]
    return rows


def _html_rows(html: str) -> list[list[str]]:
    body = re.search(r"<tbody>(.*)</tbody>", html, re.S)
    assert body is not None
    return [
        re.findall(r"<td>(.*?)</td>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    ]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


@pytest.mark.parametrize(
    ("command", "columns"),
    [
        (
            ["report", "team"],
            ["code", "name", "phase", "last_screen", "last_result", "negative_run",
             "negative_rate", "misses_30_days", "entered_late_30_days", "flags"],
        ),
        (
            ["report", "reconcile", "--from", "2026-11-23", "--to", "2026-11-25"],
            ["date", "draw", "selected", "other", "collected", "resulted", "missed",
             "entered_late", "excused", "pending", "overdue", "excusals"],
        ),
    ],
    ids=["team", "reconcile"],
)  # fmt: skip
def test_reports_agree_in_every_format(
    backend: str, tmp_path: Path, command: list[str], columns: list[str]
) -> None:
    clinic = Clinic(tmp_path, backend)
    _small_clinic(clinic)
    with freeze_time(at(DAY1 + timedelta(days=2), "12:00")):
        rows = json.loads(clinic.ok(*command, "--format", "json").stdout)
        as_csv = list(csv.DictReader(io.StringIO(clinic.ok(*command, "--format", "csv").stdout)))
        html = clinic.ok(*command, "--format", "html").stdout
        text = clinic.ok(*command, "--format", "text").stdout
        out = tmp_path / "report.html"
        written = clinic.ok(*command, "--format", "html", "--out", str(out))
    if command[1] == "team":
        assert [(r["code"], r["last_result"], r["negative_run"], r["flags"]) for r in rows] == [
            ("C-01", "negative", 2, []),
            ("C-02", "negative", 1, ["unexpected positive in 7 days"]),
            ("C-03", "negative", 1, ["missed 1 screening in the last 30 days (1 in the last 7)"]),
            ("C-04", "excused", 0, []),  # Wednesday's screening is still pending
        ]
    else:
        assert [
            (r["date"], r["draw"], r["selected"], r["collected"], r["resulted"], r["missed"],
             r["excused"], r["pending"])
            for r in rows
        ] == [
            ("2026-11-23", "drawn", 4, 2, 2, 1, 1, 0),
            ("2026-11-24", "no draw (missed)", 0, 0, 0, 0, 0, 0),  # nobody ran select on Tuesday
            ("2026-11-25", "drawn", 4, 3, 3, 0, 0, 1),
        ]  # fmt: skip
        assert rows[0]["excusals"] == ["court (Dr Lee)"]
    words = [[_cell(r[c]) for c in columns] for r in rows]
    # CSV cells are the table's cells (codes as words: unexpected_positive → ...).
    assert list(as_csv[0]) == columns
    assert [[r[c].replace(" ", "_") for c in columns] for r in as_csv] == [
        [w.replace(" ", "_") for w in row] for row in words
    ]
    # People read the negative rate as the timeline shows it, a percentage.
    shown = [
        [_percent(r[c]) if c == "negative_rate" else _cell(r[c]) for c in columns] for r in rows
    ]
    assert [[unescape(c) for c in row] for row in _html_rows(html)] == shown
    # The text table in the clinic's words, what needs attention marked (every flag).
    assert _text_rows(text) == [
        [
            f"! {c}" if key == "flags" and c else marked(c)
            for key, c in zip(columns, row, strict=True)
        ]
        for row in shown
    ]
    assert all(len(line) <= 80 for line in text.splitlines())
    _self_contained(html)
    assert out.read_text(encoding="utf-8") == html
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "readable by you only" in written.stderr and written.stdout == ""


# --- a year ---------------------------------------------------------------------------------


def test_a_year_of_mixed_history_agrees_in_every_form(tmp_path: Path) -> None:
    """The issue's own test: a year of mixed history, four forms, every measure equal."""
    clinic = Clinic(tmp_path, f"sqlite:///{tmp_path / 'screening.db'}")
    start = date(2025, 11, 17)  # a Monday
    with freeze_time(at(start, "06:00")):
        clinic.ok("init", "--timezone", "America/New_York")
        _every_p_one(clinic.folder / "screening.toml")
        clinic.ok(
            "clients",
            "add",
            CODE,
            "--track",
            "morning",
            "--phase",
            "1",
            "--meds",
            "buprenorphine",
            "--admitted",
            start.isoformat(),
        )
    day = start
    for number in range(156):  # 52 weeks of Monday, Wednesday and Friday
        with freeze_time(at(day, "07:00")):
            clinic.ok("select")
        with freeze_time(at(day, "10:00")):
            if number % 23 == 5:
                clinic.ok("results", "no-show", CODE)
            elif number % 29 == 7:
                clinic.ok("results", "refused", CODE, "--reason", "declined")
            elif number % 17 == 3:
                clinic.ok("results", "record", CODE, "--positive", f"{MEDS},THC")
            elif number % 19 == 11:
                clinic.ok("results", "record", CODE, "--negative", MEDS)  # buprenorphine absent
            else:
                clinic.ok("results", "record", CODE, "--positive", MEDS)
        day += timedelta(days=3 if day.weekday() == 4 else 2)
    last = day - timedelta(days=3)
    with freeze_time(at(last, "12:00")):
        args = ("timeline", CODE, "--from", start.isoformat(), "--to", last.isoformat())
        data = json.loads(clinic.ok(*args, "--format", "json").stdout)
        csv_text = clinic.ok(*args, "--format", "csv").stdout
        html = clinic.ok(*args, "--format", "html").stdout
        text = clinic.ok(*args).stdout.splitlines()
        clinic.ok("audit", "verify")
    measures = data["measures"]
    assert measures["selected"] == 156 and measures["completed"] > 130
    assert set(measures["substances_by_month"]) and measures["misses_last_30_days"] >= 0
    assert _csv_measures(csv_text) == {k: _as_csv_value(v) for k, v in measures.items()}
    expected = measure_lines(measures)
    assert _parse_html(html).rows == expected
    # A long value (a year of substances) wraps under itself: compare the words.
    words = " ".join(" ".join(text).split())
    for label, value in expected:
        assert " ".join(f"{label} {value}".split()) in words, (label, value)
    assert len(data["strip"]) == 52 and all(len(line) <= 80 for line in text)


# --- the calendar lines up ------------------------------------------------------------------


def calendar_misalignment(text: str) -> list[str]:
    """Where the text calendar's day headings and cells disagree: every symbol of a week
    row must stand in the column where its weekday's heading starts, and nothing else may
    stand in the row's day columns. Empty when it lines up."""
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("week of"))
    starts = [lines[header].index(name) for name in ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")]
    problems = []
    rows = [line for line in lines[header + 1 :] if re.match(r"  \d{4}-\d\d-\d\d  ", line)]
    assert rows, "no week rows under the heading"
    for line in rows:
        padded = line.ljust(starts[-1] + 1)
        for column in range(starts[0], len(padded)):
            if padded[column] != " " and column not in starts:
                problems.append(f"{line!r}: {padded[column]!r} at column {column}")
        if line[12 : starts[0]].strip():
            problems.append(f"{line!r}: the week's date runs into the first day column")
    return problems


def test_the_calendar_lines_up_in_the_golden_file() -> None:
    assert calendar_misalignment(GOLDEN.read_text(encoding="utf-8")) == []


def test_the_calendar_lines_up_with_every_symbol() -> None:
    from screening.core.timeline import LEGEND
    from screening.render.timeline import render_text

    symbols = list(LEGEND)
    weeks = [
        {"week_of": f"2026-11-{2 + 7 * n:02d}", "days": (symbols * 3)[7 * n : 7 * n + 7]}
        for n in range(3)
    ]
    data = {
        "client": {
            "code": "C-1",
            "name": None,
            "phase": "1",
            "track": "morning",
            "status": "active",
            "admitted_on": "2026-11-02",
            "discharged_on": None,
            "days_in_program": 20,
            "medications": [],
        },
        "from": "2026-11-02",
        "to": "2026-11-22",
        "today": "2026-11-22",
        "measures": json.loads(json.dumps(_empty_measures())),
        "strip": weeks,
        "screenings": [],
        "events": [],
    }
    text = render_text(data, color=False)
    assert calendar_misalignment(text) == []
    assert all(len(line) <= 80 for line in text.splitlines())
    # And the check itself catches the old layout (3-column headings, 2-column cells).
    old = "  week of     Mo Tu We Th Fr Sa Su\n  2026-11-02  e   e   e\n"
    assert calendar_misalignment(old) != []


def _empty_measures() -> dict[str, object]:
    from screening.core.measures import measures

    return measures([], date(2026, 11, 22), "positive").as_dict()

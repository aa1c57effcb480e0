"""Printed pages: the front desk's sheet (`today --format html`), and the running header
(site, date, the client where there is one, "page N of M") on every printed page of
every HTML output. The page breaks themselves are checked in the installed headless
Chromium where there is one (render/page.py: @page margin boxes, Chromium 131 and on).
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
from datetime import UTC, date, datetime, timedelta
from html import unescape
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from screening.render.day_list import list_files
from screening.render.page import css_string, due_words
from tests.conftest import Clinic, Inits, write_csv

ZONE = ZoneInfo("America/New_York")
MONDAY = date(2026, 11, 23)
PAGE_COUNTER = '"page " counter(page) " of " counter(pages)'
NAMES = ["zoe Quist", "Al Brant", "Client 10", "Client 2", '<b>Bo</b> & "Vi"']


def at(day: date, clock: str) -> datetime:
    hours, minutes = map(int, clock.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=ZONE).astimezone(UTC)


def _every_day_drawn(clinic: Clinic) -> None:
    """Phase 1 at 3 tests a week: on the 3-day morning track everyone is drawn."""
    config = clinic.folder / "screening.toml"
    config.write_text(config.read_text().replace("tests_per_week = 2\n", "tests_per_week = 3\n", 1))


@pytest.fixture
def desk(backend: str, tmp_path: Path, inits: Inits) -> Clinic:
    """Five morning clients drawn on Monday; one collected by 09:30, one evening client
    asked for a test for cause."""
    clinic = Clinic(tmp_path, backend)
    inits.prepare(clinic, "test_printed: desk", _desk)
    return clinic


def _desk(clinic: Clinic) -> None:
    with freeze_time(at(MONDAY, "06:00")):
        clinic.ok("init", "--site", "main", "--timezone", "America/New_York")
        _every_day_drawn(clinic)
        rows = [f"C-{i:02d},{name},morning,1,2026-11-02," for i, name in enumerate(NAMES, 1)]
        rows.append("C-09,Eve Ning,evening,2,2026-11-02,")
        clinic.ok("clients", "import", str(write_csv(clinic.folder / "c.csv", rows)))
    with freeze_time(at(MONDAY, "07:00")):
        clinic.ok("select")
    with freeze_time(at(MONDAY, "09:30")):
        clinic.ok("results", "record", "C-02", "--temperature-ok")
        clinic.ok("results", "for-cause", "C-09", "--reason", "staff concern")


_CELL = re.compile(r"<td[^>]*>(.*?)</td>")


def _rows(html: str) -> list[tuple[str, list[str]]]:
    body = re.search(r"<tbody>(.*)</tbody>", html, re.S)
    assert body is not None
    return [
        (kind, [unescape(re.sub(r"<[^>]+>", "", cell)) for cell in _CELL.findall(row)])
        for kind, row in re.findall(r'<tr class="(\w+)">(.*?)</tr>', body.group(1), re.S)
    ]


def _self_contained(html: str) -> None:
    lowered = html.lower()
    assert "<script" not in lowered and "<link" not in lowered and "<img" not in lowered
    assert "http://" not in lowered and "https://" not in lowered and "url(" not in lowered


def _page_header(html: str, site: str, day: str, client: str | None = None) -> None:
    """Every printed page: the site and the date in the middle, the client's code (if
    any) and "page N of M" on the right, the confidentiality line at the foot."""
    assert f'@top-center {{ content: "Site {site}, {day}";' in html
    right = f'"{client}, "' if client else '""'
    assert f"@top-right {{ content: {right} {PAGE_COUNTER};" in html
    assert '@bottom-left { content: "Confidential: 42 CFR Part 2: do not redisclose";' in html


def test_the_front_desk_sheet(desk: Clinic) -> None:
    with freeze_time(at(MONDAY, "10:00")):
        html = desk.ok("today", "--format", "html").stdout
        summary = desk.ok("today", "--format", "html").stderr
    _self_contained(html)
    _page_header(html, "main", "Mon 23 Nov 2026")
    assert "<h1>Screening list, Mon 23 Nov 2026</h1>" in html
    assert '<p class="confidential">Confidential: 42 CFR Part 2</p>' in html
    headings = re.findall(r'<th scope="col">(.*?)</th>', html)
    assert headings == ["code", "name", "track", "why", "due", "initials", "time collected"]
    assert "thead { display: table-header-group; }" in html  # headings on every page
    rows = _rows(html)
    # By name, as a client gives it at the desk: case aside, numbers by value.
    assert [cells[1] for _, cells in rows] == [
        "<b>Bo</b> & \"Vi\"", "Al Brant", "Client 2", "Client 10", "Eve Ning", "zoe Quist",
    ]  # fmt: skip
    assert "<b>Bo</b>" not in html  # a name is printed as typed, never as markup
    by_code = {cells[0]: (kind, cells) for kind, cells in rows}
    assert by_code["C-01"] == (
        "open",
        ["C-01", "zoe Quist", "morning", "random", "by 7:00 PM Mon 23 Nov", "", ""],
    )
    assert by_code["C-02"] == (
        "done",
        ["C-02", "Al Brant", "morning", "random", "by 7:00 PM Mon 23 Nov", "done: collected"],
    )
    assert by_code["C-09"][1][3:5] == ["for cause", "by 9:30 PM Mon 23 Nov"]
    # Two empty boxes (initials, time collected) on every row still to collect.
    assert html.count('<td class="box">') == 2 * 5
    assert "6 on the list, sorted by name: 5 to collect, 1 done." in html
    assert summary.strip() == "5 pending, 1 done"


def test_overdue_is_marked_and_the_json_shorthand_stays(desk: Clinic) -> None:
    with freeze_time(at(MONDAY, "19:30")):
        html = desk.ok("today", "--format", "html").stdout
        as_json = desk.ok("today", "--json").stdout
        as_format = desk.ok("today", "--format", "json").stdout
        as_csv = desk.ok("today", "--format", "csv").stdout
    kinds = {cells[0]: cells[4] for _, cells in _rows(html)}
    assert kinds["C-01"] == "by 7:00 PM Mon 23 Nov (overdue)"
    assert kinds["C-09"] == "by 9:30 PM Mon 23 Nov"
    assert '(<span class="overdue">4 overdue</span>)' in html
    assert as_json == as_format and len(json.loads(as_json)["selected"]) == 6
    assert as_csv.splitlines()[0] == "code,name,track,phase,why,collect_by,status"
    assert len(as_csv.splitlines()) == 7


def test_out_writes_the_sheet_for_its_owner_only(desk: Clinic) -> None:
    sheet = desk.folder / "sheet.html"
    with freeze_time(at(MONDAY, "10:00")):
        shown = desk.ok("today", "--format", "html").stdout
        written = desk.ok("today", "--format", "html", "--out", str(sheet))
        desk.ok("today", "--out", str(desk.folder / "list.txt"))
        desk.ok("today", "--json", "--out", str(desk.folder / "list.json"))
    assert written.stdout == "" and "readable by you only" in written.stderr
    assert sheet.read_text(encoding="utf-8") == shown
    for name in ("sheet.html", "list.txt", "list.json"):
        assert stat.S_IMODE((desk.folder / name).stat().st_mode) == 0o600, name
    assert "C-01" in (desk.folder / "list.txt").read_text()
    assert len(json.loads((desk.folder / "list.json").read_text())["selected"]) == 6


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--format", "pdf"], "'pdf' is not one of 'text', 'json', 'csv', 'html'"),
        (["--json", "--format", "csv"], "--json and --format csv disagree"),
        (["--format", "html", "--out", "screening.db"], "--out"),
    ],
)
def test_a_bad_format_or_file_is_refused_in_one_line(
    desk: Clinic, args: list[str], words: str
) -> None:
    with freeze_time(at(MONDAY, "10:00")):
        result = desk.run("today", *args)
    assert result.exit_code == 2, result.stderr
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_no_draw_yet_writes_no_sheet(desk: Clinic) -> None:
    with freeze_time(at(MONDAY + timedelta(days=1), "06:00")):
        result = desk.ok("today", "--format", "html", "--out", "sheet.html")
        as_json = desk.ok("today", "--json").stdout
    assert "no draw yet for 2026-11-24" in result.stderr
    assert not (desk.folder / "sheet.html").exists()
    assert as_json == "null\n"


def test_every_html_output_carries_the_page_header(desk: Clinic) -> None:
    with freeze_time(at(MONDAY, "15:00")):
        timeline = desk.ok("timeline", "C-01", "--format", "html").stdout
        team = desk.ok("report", "team", "--format", "html").stdout
        reconcile = desk.ok("report", "reconcile", "--format", "html").stdout
        fairness = desk.ok("audit", "fairness", "--format", "html").stdout
    _page_header(timeline, "main", "Mon 23 Nov 2026", client="C-01")
    assert "<title>Timeline C-01, site main," in timeline
    assert "zoe" not in timeline.split("<body>")[0], "no name in the title or the header"
    _page_header(team, "main", "Mon 23 Nov 2026")
    _page_header(reconcile, "main", "Mon 23 Nov 2026")
    _page_header(fairness, "main", "Mon 23 Nov 2026")
    # The daily job's list in [notify] directory is the same sheet.
    drawn = [
        {"code": "C-07", "name": "Ann", "track": "evening", "phase": 1, "why": "interval",
         "status": "pending", "collect_by": "19:00", "due_by": "2026-11-24T19:00:00-05:00"},
    ]  # fmt: skip
    csv_text, page = list_files(drawn, [("code", "code")], site="east", day=date(2026, 11, 24))
    assert csv_text.splitlines() == ["code", "C-07"]
    _page_header(page, "east", "Tue 24 Nov 2026")
    assert _rows(page) == [
        (
            "open",
            [
                "C-07",
                "Ann",
                "evening",
                "interval (due for a test)",
                "by 7:00 PM Tue 24 Nov",
                "",
                "",
            ],
        )
    ]


def test_header_values_cannot_break_out_of_the_style() -> None:
    assert css_string("C-1") == '"C-1"'
    assert css_string('a"b\\c</style>\n') == (
        '"a\\000022b\\00005cc\\00003c\\00002fstyle\\00003e\\00000a"'
    )
    assert due_words("2026-12-04T18:00:00-05:00", date(2026, 12, 4)) == "by 6:00 PM Fri 4 Dec"
    assert due_words("2027-01-01T00:05:00-05:00", date(2026, 12, 31)) == (
        "by 12:05 AM Fri 1 Jan 2027"
    )


# --- a timeline printed on more than one page ----------------------------------------------


def _long_timeline(clinic: Clinic, tmp_path: Path) -> Path:
    """Six weeks of one client drawn every meeting day, each screen collected: more
    events than one printed page holds."""
    start = date(2026, 10, 12)  # a Monday
    with freeze_time(at(start, "06:00")):
        clinic.ok("init", "--site", "main", "--timezone", "America/New_York")
        _every_day_drawn(clinic)
        clinic.ok(
            "clients", "add", "C-101", "--track", "morning", "--phase", "1", "--name", "Test Client"
        )
    day = start
    while day <= MONDAY:
        if day.weekday() in (0, 2, 4):
            with freeze_time(at(day, "07:00")):
                clinic.ok("select")
            with freeze_time(at(day, "09:00")):
                clinic.ok("results", "record", "C-101", "--temperature-ok")
        day += timedelta(days=1)
    page = tmp_path / "timeline.html"
    with freeze_time(at(MONDAY, "12:00")):
        clinic.ok("timeline", "C-101", "--format", "html", "--out", str(page))
    return page


def test_a_long_timeline_prints_the_client_and_page_on_every_page(tmp_path: Path) -> None:
    clinic = Clinic(tmp_path, f"sqlite:///{tmp_path / 'screening.db'}")
    html = _long_timeline(clinic, tmp_path).read_text(encoding="utf-8")
    assert html.count("<li><time") > 35
    _page_header(html, "main", "Mon 23 Nov 2026", client="C-101")
    # The events run on from page to page (no section kept whole that could fill one).
    assert "#measures, #strip, #trend { break-inside: avoid; }" in html
    assert "ol.events li { break-inside: avoid; }" in html
    assert "section { break-inside: avoid; }" not in html


def test_chromium_prints_the_header_on_the_second_page(tmp_path: Path) -> None:
    chromium, pdftotext = shutil.which("chromium"), shutil.which("pdftotext")
    if chromium is None or pdftotext is None:
        pytest.skip("needs chromium and pdftotext (poppler-utils)")
    clinic = Clinic(tmp_path, f"sqlite:///{tmp_path / 'screening.db'}")
    page = _long_timeline(clinic, tmp_path)
    pdf = tmp_path / "timeline.pdf"
    printed = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", f"--print-to-pdf={pdf}", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    text = subprocess.run(
        [pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) >= 2
    for number, printed_page in enumerate(pages, 1):
        head = printed_page.strip().splitlines()[0]
        assert "Site main, Mon 23 Nov 2026" in head, head
        assert f"C-101, page {number} of {len(pages)}" in head, head
        assert "Confidential: 42 CFR Part 2" in printed_page.strip().splitlines()[-1]

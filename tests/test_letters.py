"""Progress letters (`screening report progress`), walking the issue's stories: a drug
court's monthly letter under a criminal-justice consent, the consent expiring, a parent
who may know of attendance only, a revocation and a restriction that stop the next
letter at once, a preview that records nothing, and a proceeding against the client that
no consent here allows. The HTML letter is printed in headless Chromium: one page.

One client's November is made once through the CLI (every meeting day drawn), and each
test starts from a copy of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from tests.conftest import ME, Clinic, isolate

ZONE = ZoneInfo("America/New_York")
CODE = "C-101"
COURT = "Example County Drug Court"
PARENT = "Pat Parent"
PROGRAM = "Riverside Intensive Outpatient Program"
NOVEMBER = ("--from", "2026-11-01", "--to", "2026-11-30")
# Words only a letter that shares results may hold.
RESULT_WORDS = ("negative", "positive", "dilute", "confirmed", "THC", "tampering")


def at(day: date, clock: str) -> datetime:
    hours, minutes = map(int, clock.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=ZONE).astimezone(UTC)


def _every_day_drawn(config: Path) -> None:
    """Phase 1 at 3 tests a week on the 3-day morning track: drawn every meeting day."""
    config.write_text(config.read_text().replace("tests_per_week = 2\n", "tests_per_week = 3\n", 1))


# What happens on each of November's meeting days after the draw; the rest are clean.
PLAN = {
    date(2026, 11, 4): "dilute",
    date(2026, 11, 6): "THC",
    date(2026, 11, 9): "no-show",
    date(2026, 11, 11): "refused",
    date(2026, 11, 13): "unable",
}


def _november(clinic: Clinic) -> None:
    with freeze_time(at(date(2026, 10, 30), "07:00")):
        clinic.ok("init", "--site", "main", "--timezone", "America/New_York")
        _every_day_drawn(clinic.folder / "screening.toml")
        clinic.ok(
            "clients", "add", CODE, "--track", "morning", "--phase", "1", "--name", "Test Client",
            "--admitted", "2026-10-30",
        )  # fmt: skip
    day = date(2026, 11, 2)
    while day <= date(2026, 11, 30):
        if day.weekday() in (0, 2, 4):
            with freeze_time(at(day, "07:00")):
                clinic.ok("select")
            what = PLAN.get(day, "clean")
            with freeze_time(at(day, "10:00")):
                if what == "clean":
                    clinic.ok("results", "record", CODE, "--temperature-ok")
                elif what == "dilute":
                    clinic.ok("results", "record", CODE, "--creatinine", "3", "--sg", "1.0020")
                    clinic.ok(
                        "results", "record", CODE, "--observed", "--observed-reason", "dilute",
                        "--temperature-ok",
                    )  # fmt: skip
                elif what == "THC":
                    clinic.ok(
                        "results", "record", CODE, "--positive", "THC", "--confirmed",
                        "--level", "THC=80", "--method", "lab",
                    )  # fmt: skip
                elif what == "no-show":
                    clinic.ok("results", "no-show", CODE)
                elif what == "refused":
                    clinic.ok("results", "refused", CODE, "--reason", "declined")
                else:
                    clinic.ok("results", "unable", CODE)
        day += timedelta(days=1)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("november")
    with pytest.MonkeyPatch.context() as patch:
        isolate(folder, patch)
        _november(Clinic(folder, f"sqlite:///{folder / 'screening.db'}"))
    yield folder


@pytest.fixture
def clinic(made: Path, tmp_path: Path) -> Clinic:
    """A copy of the November clinic, in the test's own folder."""
    for item in made.iterdir():
        if item.is_dir():
            shutil.copytree(item, tmp_path / item.name, dirs_exist_ok=True)
        else:
            shutil.copy2(item, tmp_path / item.name)
    return Clinic(tmp_path, f"sqlite:///{tmp_path / 'screening.db'}")


def _context(clinic: Clinic, now: datetime):  # type: ignore[no-untyped-def]
    from screening import config
    from screening.db.engine import Database, resolve_url
    from screening.services.plumbing.context import Actor, Context

    settings = config.load(clinic.folder / "screening.toml")
    return Context(
        settings,
        Database(resolve_url(clinic.url, clinic.folder)),
        Actor("staff1"),
        now,
        now.astimezone(settings.zone).date(),
    )


def _as_staff(clinic: Clinic, now: datetime, act) -> dict:  # type: ignore[no-untyped-def]
    """A consent service, as staff record a signed form at ``now``."""
    ctx = _context(clinic, now)
    try:
        return act(ctx)  # type: ignore[no-any-return]
    finally:
        ctx.database.dispose()


def court_consent(clinic: Clinic, now: datetime, **changes: str) -> int:
    """The drug court's §2.35 consent: everything, for monitoring, to the end of 2026."""
    from screening.services.disclosure import add_consent

    terms = {
        "type": "criminal_justice", "recipient": COURT, "recipient_class": None,
        "purpose": "monitoring", "detail": None, "shares": "attendance,results,missed,progress",
        "expires": "2026-12-31", "signed": "2026-10-30", "signed_by": "client",
        "how_to_revoke": "in writing to the program director", "revocable_from": "2027-06-30",
        "covers_from": None, **changes,
    }  # fmt: skip
    made = _as_staff(clinic, now, lambda ctx: add_consent(ctx, CODE, **terms))
    return int(made["number"])


def parent_consent(clinic: Clinic, now: datetime) -> int:
    """A parent named on a consent that shares attendance only."""
    from screening.services.disclosure import add_consent

    made = _as_staff(
        clinic,
        now,
        lambda ctx: add_consent(
            ctx, CODE, type="named", recipient=PARENT, recipient_class=None,
            purpose="family_involvement", detail=None, shares="attendance",
            expires="end-of-treatment", signed="2026-11-01", signed_by="client",
            how_to_revoke="tell any counsellor", revocable_from=None, covers_from=None,
        ),
    )  # fmt: skip
    return int(made["number"])


DECEMBER_1 = at(date(2026, 12, 1), "09:00")


def _letter(clinic: Clinic, recipient: str, *args: str):  # type: ignore[no-untyped-def]
    return clinic.run("report", "progress", CODE, "--recipient", recipient, *args)


def _count(clinic: Clinic, sql: str) -> int:
    return int(clinic.sql(sql)[0][0])


def _flat(text: str) -> str:
    """Text with its line breaks and runs of spaces as one space (wrapped lines joined)."""
    return re.sub(r"\s+", " ", text)


def test_a_drug_court_gets_the_monthly_letter(clinic: Clinic) -> None:
    from screening.core.disclosure import STATEMENT_1

    with freeze_time(DECEMBER_1):
        number = court_consent(clinic, DECEMBER_1)
        data = json.loads(_letter(clinic, COURT, *NOVEMBER, "--format", "json").stdout)
        text = clinic.ok("report", "progress", CODE, "--recipient", COURT.upper(), *NOVEMBER).stdout
    assert data["carries"] == ["attendance", "results", "missed", "progress"]
    assert (data["from"], data["to"], data["date"]) == ("2026-11-01", "2026-11-30", "2026-12-01")
    assert data["client"] == {"code": CODE, "name": "Test Client"}
    # The timeline's measures: 13 due, 10 collected with a result, 3 misses.
    assert data["attendance"] == {
        "due": 13, "completed": 10, "completion_rate": 0.769, "excused": 0, "open": 0,
    }  # fmt: skip
    assert data["results"] == {
        "negative": 9, "dilute": 1, "positive": 1, "confirmed": 1, "substances": {"THC": 1},
        "possible_tampering": 0, "awaiting": 0,
    }  # fmt: skip
    # Courts count these differently: each kind apart.
    assert data["missed"] == {
        "no_show": 1, "refused": 1, "unable_to_provide": 1, "adulterated_or_substituted": 0,
    }  # fmt: skip
    progress = data["progress"]
    assert progress["trend"] == "1 unexpected positive in the period, the last on 6 November"
    assert (progress["current_run"], progress["run_since"]) == (7, "2026-11-16")
    made = data["disclosure"]
    assert (made["consent"], made["type"], made["recipient"]) == (number, "criminal_justice", COURT)
    assert data["notice"]["statement"] == STATEMENT_1
    flat = _flat(text)
    assert STATEMENT_1 in flat and _flat(data["notice"]["scope"]) in flat
    assert "To: " + COURT + "\n" in text  # as the consent spells it, however typed
    for said in ("Attendance", "Results", "Missed screenings", "Progress"):
        assert f"\n{said}\n" in text, said
    assert re.search(r"^  no-shows +1$", text, re.M) and re.search(r"^  refusals +1$", text, re.M)
    assert re.search(rf"^Signed: _+  {ME}, clinician$", text, re.M)
    # The run is of random screenings: a for-cause positive is in the results, not in it.
    assert "7 random screenings negative in a row (longest 7; for-cause" in text
    # Each letter made is a disclosure: its entry and its row.
    assert _count(clinic, "SELECT count(*) FROM disclosures") == 2
    assert _count(clinic, "SELECT count(*) FROM ledger WHERE kind = 'disclosure'") == 2
    forms = clinic.sql("SELECT form FROM disclosures ORDER BY form")
    assert forms == [("json",), ("text",)]


def test_the_run_reads_in_plain_words_when_the_period_was_clean(clinic: Clinic) -> None:
    with freeze_time(DECEMBER_1):
        court_consent(clinic, DECEMBER_1, detail="reports to the drug court program")
        data = json.loads(
            _letter(clinic, COURT, "--from", "2026-11-14", "--to", "2026-11-30", "--json").stdout
        )
        text = _letter(clinic, COURT, "--from", "2026-11-14", "--to", "2026-11-30").stdout
    # The purpose as the form words it, beside the program's word for it.
    assert "Purpose: monitoring (reports to the drug court program)" in text
    assert data["progress"]["trend"] == "Negative at every screening since 16 November (7 in a row)"
    assert data["missed"]["no_show"] == 0 and data["attendance"]["due"] == 7


def test_the_next_letter_is_refused_once_the_consent_has_expired(clinic: Clinic) -> None:
    with freeze_time(DECEMBER_1):
        court_consent(clinic, DECEMBER_1)
    later = at(date(2027, 1, 5), "09:00")
    with freeze_time(later):
        refused = _letter(clinic, COURT, "--from", "2026-12-01", "--to", "2026-12-31")
    assert refused.exit_code == 4, refused.stderr
    assert "expired on 2026-12-31" in refused.stderr and refused.stdout == ""
    assert _count(clinic, "SELECT count(*) FROM disclosures") == 0


def test_a_parent_who_may_know_of_attendance_reads_no_result(clinic: Clinic) -> None:
    with freeze_time(DECEMBER_1):
        parent_consent(clinic, DECEMBER_1)
        forms = {
            form: clinic.ok("report", "progress", CODE, "--recipient", PARENT, *NOVEMBER,
                            "--format", form).stdout
            for form in ("text", "html", "json")
        }  # fmt: skip
    data = json.loads(forms["json"])
    assert data["carries"] == ["attendance"] and data["attendance"]["due"] == 13
    assert not {"results", "missed", "progress"} & set(data)  # absent, not zero
    for form, shown in forms.items():
        for said in (*RESULT_WORDS, "no-show", "refus", "unable"):
            assert said.casefold() not in shown.casefold(), (form, said)
    assert "Results" not in forms["text"] and "Attendance" in forms["text"]


def test_a_revoked_consent_stops_the_next_letter_at_once(clinic: Clinic) -> None:
    from screening.services.disclosure import revoke_consent

    with freeze_time(DECEMBER_1):
        number = parent_consent(clinic, DECEMBER_1)
        clinic.ok("report", "progress", CODE, "--recipient", PARENT, *NOVEMBER)
        # The client asks at the desk; the next letter, the same minute, is refused.
        revoke = lambda ctx: revoke_consent(ctx, number, "client_request", None)  # noqa: E731
        _as_staff(clinic, DECEMBER_1, revoke)
        refused = _letter(clinic, PARENT, *NOVEMBER)
    assert refused.exit_code == 4
    assert "was revoked on 2026-12-01" in refused.stderr and refused.stdout == ""
    assert _count(clinic, "SELECT count(*) FROM disclosures") == 1


def test_a_restricted_client_blocks_the_letter(clinic: Clinic) -> None:
    from screening.services.disclosure import restrict_client

    with freeze_time(DECEMBER_1):
        court_consent(clinic, DECEMBER_1)
        _as_staff(clinic, DECEMBER_1, lambda ctx: restrict_client(ctx, CODE, None))
        refused = _letter(clinic, COURT, *NOVEMBER, "--preview")
    assert refused.exit_code == 4 and "42 CFR 2.26" in refused.stderr
    assert refused.stdout == ""


def test_a_preview_is_marked_and_records_no_disclosure(clinic: Clinic) -> None:
    with freeze_time(DECEMBER_1):
        court_consent(clinic, DECEMBER_1)
        before = clinic.sql("SELECT kind FROM ledger ORDER BY seq")
        forms = [
            clinic.ok("report", "progress", CODE, "--recipient", COURT, *NOVEMBER,
                      "--format", form, "--preview").stdout
            for form in ("text", "html", "json")
        ]  # fmt: skip
        after = clinic.sql("SELECT kind FROM ledger ORDER BY seq")
    for shown in forms:
        assert "PREVIEW — not for release" in shown
    assert json.loads(forms[2])["preview"] is True
    # A chart was read (the access log), and nothing was disclosed.
    assert after[len(before) :] == [("viewed",)] * 3
    assert _count(clinic, "SELECT count(*) FROM disclosures") == 0


def test_a_proceeding_against_the_client_needs_its_own_consent(clinic: Clinic) -> None:
    with freeze_time(DECEMBER_1):
        court_consent(clinic, DECEMBER_1)
        refused = _letter(clinic, COURT, *NOVEMBER, "--purpose", "legal proceeding")
    assert refused.exit_code == 4
    assert "is for monitoring, not legal proceeding" in refused.stderr
    assert "proceedings consent or a court order" in refused.stderr


def test_a_letter_that_cannot_be_written_is_not_disclosed(clinic: Clinic) -> None:
    with freeze_time(DECEMBER_1):
        court_consent(clinic, DECEMBER_1)
        failed = _letter(clinic, COURT, *NOVEMBER, "--out", "/dev/full")
    assert failed.exit_code == 3, failed.stderr
    assert _count(clinic, "SELECT count(*) FROM disclosures") == 0
    assert _count(clinic, "SELECT count(*) FROM ledger WHERE kind = 'disclosure'") == 0


def test_the_html_letter_prints_on_one_page(clinic: Clinic, tmp_path: Path) -> None:
    chromium, pdfinfo = shutil.which("chromium"), shutil.which("pdfinfo")
    if chromium is None or pdfinfo is None:
        pytest.fail("chromium or pdfinfo is missing: .ci/run installs chromium and poppler-utils")
    page = tmp_path / "letter.html"
    config = clinic.folder / "screening.toml"
    config.write_text(config.read_text().replace("[site]\n", f"[site]\nprogram = {PROGRAM!r}\n", 1))
    with freeze_time(DECEMBER_1):
        court_consent(clinic, DECEMBER_1)
        written = clinic.ok(
            "--actor", "Dr A. Lee", "report", "progress", CODE, "--recipient", COURT, *NOVEMBER,
            "--format", "html", "--out", str(page),
        )  # fmt: skip
    assert "readable by you only" in written.stderr and written.stdout == ""
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    html = page.read_text(encoding="utf-8")
    assert "@page { size: letter; }" in html and "<script" not in html
    assert f'<td id="program">{PROGRAM}</td>' in html and "Dr A. Lee, clinician" in html
    pdf = tmp_path / "letter.pdf"
    printed = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", f"--print-to-pdf={pdf}", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    info = subprocess.run([pdfinfo, str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    assert re.search(r"^Page size:.*\(letter\)$", info, re.M), info


# --- the trend in words (core/letter.py), on made-up screenings --------------------------


def _fact(n: int, day: int, status: str = "collected", reading: str | None = "negative"):  # type: ignore[no-untyped-def]
    from screening.core.timeline import ScreeningFact

    unexpected = ("COC",) if reading == "unexpected_positive" else ()
    return ScreeningFact(
        n, date(2026, 11, day), "random", status, "", reading, unexpected=unexpected
    )


def _trend(facts: list, policy: str = "positive") -> str:  # type: ignore[type-arg]
    from screening.core.letter import sections

    first, last = date(2026, 11, 1), date(2026, 11, 30)
    return str(sections(facts, first, last, last, policy)["progress"]["trend"])


def test_the_trend_says_no_more_than_the_record_knows() -> None:
    clean = [_fact(1, 2), _fact(2, 4), _fact(3, 6)]
    assert _trend(clean) == "Negative at every screening since 2 November (3 in a row)"
    # A no-show kept apart by policy does not end the run: it was not a negative either.
    missed = [_fact(1, 2), _fact(2, 4, "no_show", None), _fact(3, 6)]
    assert _trend(missed, "missed") == (
        "Negative at every specimen collected since 2 November (2 in a row)"
    )
    # Counted as a positive, it ends the run.
    assert _trend(missed) == "Negative at every screening since 6 November (1 in a row)"
    found = [_fact(1, 2, reading="unexpected_positive"), _fact(2, 9, reading="possible_tampering")]
    assert _trend(found) == (
        "1 unexpected positive and 1 possible tampering in the period, the last on 9 November"
    )
    assert _trend([_fact(1, 2, reading=None)]) == "No screening result in the period"


# --- what the gate keeps (services/disclosure/gate.py) ----------------------------------


def test_the_letter_says_nothing_from_before_what_the_consent_covers(clinic: Clinic) -> None:
    # The consent covers from 20 November: the run began on the 16th, but the letter
    # counts it from the first screening it may speak of.
    with freeze_time(DECEMBER_1):
        court_consent(clinic, DECEMBER_1, covers_from="2026-11-20")
        data = json.loads(_letter(clinic, COURT, "--from", "2026-11-20", "--json").stdout)
        early = _letter(clinic, COURT, *NOVEMBER)
    assert data["progress"]["run_since"] >= "2026-11-20", data["progress"]
    assert data["progress"]["current_run"] == 5
    assert early.exit_code == 4 and "covers information from 2026-11-20 on" in early.stderr


def test_a_discharge_entered_late_ends_a_consent_to_the_end_of_treatment(clinic: Clinic) -> None:
    # Signed 1 November; the discharge of 30 November is entered on 3 December, dated back.
    with freeze_time(DECEMBER_1):
        parent_consent(clinic, DECEMBER_1)
    with freeze_time(at(date(2026, 12, 3), "09:00")):
        clinic.ok("clients", "discharge", CODE, "--on", "2026-11-30", "--reason", "completed")
        refused = _letter(clinic, PARENT, *NOVEMBER)
        listed = clinic.ok("consent", "list", CODE, "--all").stdout
    assert refused.exit_code == 4, refused.stderr
    assert "ended with treatment, when the client was discharged on 2026-11-30" in refused.stderr
    assert "ended at" in listed and "in force" not in listed


def test_a_preview_is_never_written_to_a_file(clinic: Clinic) -> None:
    with freeze_time(DECEMBER_1):
        court_consent(clinic, DECEMBER_1)
        refused = _letter(clinic, COURT, *NOVEMBER, "--preview", "--out", "preview.html")
    assert refused.exit_code == 2 and "terminal only" in refused.stderr
    assert not (clinic.folder / "preview.html").exists()


def test_the_letter_is_in_place_only_once_its_disclosure_is_recorded(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after the letter is made and before its disclosure commits leaves
    neither; a letter made is the one the ledger pins (its salted digest)."""
    from screening.core.canonical import private_digest
    from screening.services.disclosure import gate
    from tests.disclosures import Kept

    with freeze_time(DECEMBER_1):
        court_consent(clinic, DECEMBER_1)
        made = clinic.ok("report", "progress", CODE, "--recipient", COURT, *NOVEMBER,
                         "--format", "html", "--out", "letter.html")  # fmt: skip
        letter = (clinic.folder / "letter.html").read_bytes()
        [(content, salt)] = clinic.sql("SELECT content, salt FROM disclosures")
        assert content == private_digest(salt, hashlib.sha256(letter).hexdigest())
        assert "written to letter.html" in made.stderr

        def broken(*args: object, **kwargs: object) -> None:
            raise OSError("the disk went away")

        monkeypatch.setattr(gate, "_record", broken)
        ctx = _context(clinic, DECEMBER_1)
        kept: list[Kept] = []

        def emit(data: dict) -> Kept:  # type: ignore[type-arg]
            kept.append(Kept(data))
            return kept[-1]

        ask = gate.Ask(CODE, COURT, None, None, frozenset(), None, None, "json", "report progress")
        try:
            with pytest.raises(OSError):
                gate.disclose(ctx, ask, lambda session, authority: {"carries": []}, emit)
        finally:
            ctx.database.dispose()
    assert kept[0].discarded and not kept[0].released
    assert _count(clinic, "SELECT count(*) FROM disclosures") == 1


def test_a_cup_that_tested_nothing_is_not_awaiting_a_result() -> None:
    from screening.core.letter import sections

    facts = [_fact(1, 2, reading="not_tested"), _fact(2, 4, reading=None), _fact(3, 6)]
    first, last = date(2026, 11, 1), date(2026, 11, 30)
    results = sections(facts, first, last, last, "positive")["results"]
    assert (results["awaiting"], results["negative"]) == (1, 1)


def test_a_letter_the_terminal_or_pipe_cannot_take_is_not_disclosed(clinic: Clinic) -> None:
    """Standard output cannot be taken back once written: a full disk, a closed stdout
    or a reader gone away fails the command before the disclosure commits."""
    with freeze_time(DECEMBER_1):
        court_consent(clinic, DECEMBER_1)
    command = [sys.executable, "-m", "screening", "report", "progress", CODE,
               "--recipient", COURT, *NOVEMBER]  # fmt: skip
    env = {**os.environ, "SCREENING_DATABASE_URL": clinic.url}
    with open("/dev/full", "wb") as full:
        failed = subprocess.run(command, cwd=clinic.folder, env=env, stdout=full,
                                stderr=subprocess.PIPE, text=True, check=False)  # fmt: skip
    assert failed.returncode == 3, failed.stderr
    assert "nothing was disclosed" in failed.stderr and "Traceback" not in failed.stderr
    closed = subprocess.run(command, cwd=clinic.folder, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, check=False,
                            preexec_fn=lambda: os.close(1))  # fmt: skip
    assert closed.returncode == 3 and "standard output is closed" in closed.stderr, closed.stderr
    assert _count(clinic, "SELECT count(*) FROM disclosures") == 0
    sent = subprocess.run(command, cwd=clinic.folder, env=env, capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert sent.returncode == 0 and "Progress letter" in sent.stdout, sent.stderr
    assert _count(clinic, "SELECT count(*) FROM disclosures") == 1


def test_a_letter_is_never_written_over_an_earlier_file(clinic: Clinic) -> None:
    (clinic.folder / "letter.txt").write_text("the letter sent last month\n")
    with freeze_time(DECEMBER_1):
        court_consent(clinic, DECEMBER_1)
        refused = _letter(clinic, COURT, *NOVEMBER, "--out", "letter.txt")
    assert refused.exit_code == 2 and "letter.txt exists" in refused.stderr
    assert (clinic.folder / "letter.txt").read_text() == "the letter sent last month\n"
    assert _count(clinic, "SELECT count(*) FROM disclosures") == 0


def test_a_positive_the_laboratory_has_not_confirmed_says_so() -> None:
    from screening.render.letter import SECTIONS

    base = {"negative": 4, "dilute": 0, "positive": 2, "confirmed": 1, "substances": {},
            "possible_tampering": 0, "awaiting": 0}  # fmt: skip
    rows = dict(SECTIONS["results"](base))
    assert rows["positive (unexpected)"] == (
        "2 (1 confirmed by a laboratory; 1 on the screening test alone, not confirmed)"
    )
    rows = dict(SECTIONS["results"]({**base, "positive": 1, "confirmed": 0}))
    assert rows["positive (unexpected)"] == "1 (1 on the screening test alone, not confirmed)"

"""The results log: a clinic day through the CLI, misses, amendments, lab import, and
refusals of bad input that leave the database unchanged."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from freezegun import freeze_time

from tests.conftest import Clinic, Inits, write_csv

MORNING = "2026-11-23T12:00:00Z"  # Monday 07:00 in New York; the draw
LATER = "2026-11-23T15:00:00Z"  # 10:00
URINE_PANEL = (
    "AMP",
    "MAMP",
    "MDMA",
    "COC",
    "THC",
    "OPI",
    "6AM",
    "OXY",
    "FEN",
    "NORFEN",
    "BUP",
    "NORBUP",
    "MTD",
    "EDDP",
    "BZO",
    "ETG",
)
LAB_HEADER = "specimen_id,collected_at,analyte,outcome,level,cutoff,method,lab_report_id"


@pytest.fixture
def day(backend: str, tmp_path: Path, inits: Inits) -> Clinic:
    """16 phase-1 morning clients, everyone drawn (3 tests a week on 3 days is p = 1)."""
    clinic = Clinic(tmp_path, backend)
    drawn = inits.prepare(clinic, "results: a drawn day", _a_drawn_day)
    assert len(drawn["selected"]) == 16
    return clinic


def _a_drawn_day(clinic: Clinic) -> dict:
    with freeze_time(MORNING):
        clinic.ok("init", "--timezone", "America/New_York")
        config = clinic.folder / "screening.toml"
        config.write_text(
            config.read_text().replace("tests_per_week = 2\n", "tests_per_week = 3\n", 1)
        )
        rows = [
            f"C-{i:02d},Client {i},morning,1,2026-11-02,"
            + ("buprenorphine" if i in (15, 16) else "")
            for i in range(1, 17)
        ]
        clinic.ok("clients", "import", str(write_csv(clinic.folder / "clients.csv", rows)))
        return json.loads(clinic.ok("select", "--json").stdout)


def _list(clinic: Clinic, *args: str, at: str | None = LATER) -> list[dict]:
    """`results list` at ``at`` (None: the clock in force; a read is recorded, so its
    clock may not be behind the ledger's)."""
    with freeze_time(at) if at is not None else contextlib.nullcontext():
        return json.loads(clinic.ok("results", "list", "--json", *args).stdout)


def _by_code(clinic: Clinic, at: str | None = LATER) -> dict[str, dict]:
    return {row["code"]: row for row in _list(clinic, at=at)}


def _result_id(clinic: Clinic, code: str) -> str:
    return str(_by_code(clinic)[code]["result"])


def test_a_clinic_day(day: Clinic) -> None:
    with freeze_time(LATER):
        for i in range(1, 11):
            args = [
                "results",
                "record",
                f"C-{i:02d}",
                "--specimen-id",
                f"SP-{i:02d}",
                "--collected-at",
                f"09:3{i % 10}",
                "--temperature-ok",
            ]
            if i == 3:
                args += ["--positive", "THC", "--level", "THC=80"]
            day.ok(*args)
        day.ok("results", "no-show", "C-11")
        day.ok("results", "refused", "C-12", "--reason", "declined to give a specimen")
        dilute = day.ok("results", "record", "C-13", "--creatinine", "3.1", "--sg", "1.0020")
        assert "collect again now, under direct observation" in dilute.stderr
        day.ok("results", "record", "C-14", "--positive", "ETG")
        day.ok("results", "record", "C-15", "--negative", "BUP,NORBUP")
        day.ok(
            "results",
            "record",
            "C-16",
            "--sent-to-lab",
            "--method",
            "lab",
            "--specimen-id",
            "LAB-16",
        )
        pending = json.loads(day.ok("results", "pending", "--json").stdout)
    assert [(p["code"], p["reason"], p["observed"]) for p in pending] == [
        ("C-13", "recollection", "yes")
    ]
    with freeze_time(LATER):
        unobserved = day.run("results", "record", "C-13")
        assert unobserved.exit_code == 2 and "add --observed" in unobserved.stderr
        day.ok("results", "record", "C-13", "--observed", "--observed-reason", "dilute")
        day.ok(
            "results",
            "amend",
            _result_id(day, "C-03"),
            "--reason",
            "lab_confirmation",
            "--positive",
            "THC",
            "--level",
            "THC=41",
            "--lab-report",
            "R-77",
        )
        # The lab reports the whole panel: buprenorphine and its metabolite, nothing else.
        lab = write_csv(
            day.folder / "lab.csv",
            [
                f"LAB-16,2026-11-23T09:45,{code},{'positive' if 'BUP' in code else 'negative'},"
                f"{'120' if 'BUP' in code else ''},,LC-MS/MS,R-90"
                for code in URINE_PANEL
            ],
            header=LAB_HEADER,
        )
        day.ok("results", "import", str(lab), "--dry-run")
        day.ok("results", "import", str(lab))
    rows = _by_code(day)
    assert rows["C-01"]["reading"] == "negative" and rows["C-01"]["counts_as"] == "negative"
    assert rows["C-03"]["reading"] == "unexpected_positive" and rows["C-03"]["confirmed"]
    assert rows["C-03"]["versions"] == 2
    assert rows["C-11"]["status"] == "no_show" and rows["C-11"]["counts_as"] == "positive"
    assert rows["C-12"]["status"] == "refused"
    assert rows["C-14"]["flags"][0].startswith("incidental_exposure_possible")
    assert rows["C-15"]["reading"] == "unexpected_negative"
    assert rows["C-16"]["reading"] == "expected_positive" and rows["C-16"]["versions"] == 2
    dilute_rows = [r for r in _list(day, "--client", "C-13")]
    assert [(r["reason"], r["validity"] if r["result"] else None) for r in dilute_rows] == [
        ("random", "dilute"),
        ("recollection", "valid"),
    ]
    statuses = [r["status"] for r in _list(day)]
    assert statuses.count("collected") == 15 and len(statuses) == 17
    with freeze_time(LATER):
        shown = day.ok("results", "show", _result_id(day, "C-03")).stdout
        report = day.ok("audit", "verify")
    assert "version 1" in shown and "version 2" in shown and "lab confirmation" in shown
    assert "17 screenings, 15 results" in report.stdout
    ledger = " ".join(text for (text,) in day.sql("SELECT canonical FROM ledger"))
    for private in ("THC", "declined", "Client 1", "SP-01", "buprenorphine"):
        assert private not in ledger


def test_overdue_screenings_become_no_shows_at_the_next_write(day: Clinic) -> None:
    with freeze_time("2026-11-24T01:00:01Z"):  # 20:00:01, past the 19:00 deadline
        day.ok("clients", "add", "C-99", "--track", "evening", "--phase", "2")
        rows = _list(day, "--status", "no_show", at=None)
        late = day.run("results", "record", "C-01")
        day.ok("audit", "verify")
    assert len(rows) == 16
    assert late.exit_code == 2 and "no pending screening" in late.stderr
    autos = [
        json.loads(t)["body"]
        for (t,) in day.sql("SELECT canonical FROM ledger WHERE kind = 'screening'")
    ]
    assert all(body["auto"] and body["status"] == "no_show" for body in autos)


def test_a_collection_after_the_deadline_is_refused(day: Clinic) -> None:
    with freeze_time("2026-11-24T00:30:00Z"):  # 19:30; nothing has swept yet
        result = day.run("results", "record", "C-01", "--collected-at", "19:10")
    assert result.exit_code == 2 and "after the deadline" in result.stderr


def test_excuse_needs_a_code_and_an_approver(day: Clinic) -> None:
    with freeze_time(LATER):
        bad = day.run("results", "excuse", "C-01", "--reason", "felt sick", "--approved-by", "Dr A")
        day.ok("results", "excuse", "C-01", "--reason", "medical", "--approved-by", "Dr A")
        again = day.run("results", "no-show", "C-01")
    assert bad.exit_code == 2 and "'felt sick' is not one of medical, court" in bad.stderr
    row = _by_code(day)["C-01"]
    assert (row["status"], row["excuse"], row["approved_by"]) == ("excused", "medical", "Dr A")
    assert again.exit_code == 2


def test_for_cause_screening_is_kept_apart(day: Clinic) -> None:
    with freeze_time(LATER):
        day.ok("results", "record", "C-01")
        day.ok("results", "for-cause", "C-01", "--reason", "smelled of alcohol")
        day.ok("results", "record", "C-01", "--positive", "ETG")
        day.ok("audit", "verify")
    reasons = [r["reason"] for r in _list(day, "--client", "C-01")]
    assert reasons == ["random", "for_cause"]


def test_wrong_client_voids_the_result(day: Clinic) -> None:
    with freeze_time(LATER):
        day.ok("results", "record", "C-02", "--positive", "COC")
        day.ok(
            "results",
            "amend",
            _result_id(day, "C-02"),
            "--reason",
            "wrong_client",
            "--note",
            "label swapped with C-05",
        )
        again = day.run(
            "results",
            "amend",
            _result_id(day, "C-02"),
            "--reason",
            "corrected_report",
            "--note",
            "x",
            "--negative",
            "COC",
        )
        day.ok("audit", "verify")
    row = _by_code(day)["C-02"]
    assert row["status"] == "inconclusive" and row["reading"] == "void"
    assert again.exit_code == 2 and "voided" in again.stderr


def _snapshot(clinic: Clinic) -> dict[str, int]:
    return {
        table: clinic.sql(f"SELECT count(*) FROM {table}")[0][0]
        for table in ("ledger", "screenings", "results", "result_versions", "analyte_results")
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["record", "C-77"], "no client with code 'C-77'"),
        (["record", "C-01", "--positive", "LSD"], "unknown analyte 'LSD' (the urine panel has"),
        (
            ["record", "C-01", "--positive", "THC", "--level", "THC=-3"],
            "must be a number of 0 or more",
        ),
        (["record", "C-01", "--collected-at", "11:00"], "is in the future"),
        (["record", "C-01", "--collected-at", "06:00"], "is before the client was selected"),
        (["record", "C-01", "--collected-at", "noonish"], "is not a time"),
        (["record", "C-01", "--method", "guesswork"], "--method 'guesswork' is not one of"),
        (["record", "C-01", "--panel", "hair"], "no panel 'hair'"),
        (
            ["record", "C-01", "--validity", "dilute", "--creatinine", "50", "--sg", "1.02"],
            "contradicts the measures",
        ),
        (
            ["record", "C-01", "--positive", "THC", "--inconclusive", "THC"],
            "both positive and inconclusive",
        ),
        (["record", "C-01", "--level", "THC"], "is not ANALYTE=NUMBER"),
        (["refused", "C-01", "--reason", " "], "--reason is empty"),
        (["amend", "999", "--reason", "lab_report"], "no result 999"),
        (["list", "--status", "lost"], "--status 'lost' is not one of"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    day: Clinic, args: list[str], message: str
) -> None:
    before = _snapshot(day)
    with freeze_time(LATER):
        result = day.run("results", *args)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert _snapshot(day) == before


def test_a_finished_screening_cannot_be_recorded_again(day: Clinic) -> None:
    with freeze_time(LATER):
        day.ok("results", "record", "C-01", "--specimen-id", "SP-1")
        screening = _by_code(day)["C-01"]["screening"]
        before = _snapshot(day)
        again = day.run("results", "record", "C-01")
        named = day.run("results", "record", "C-01", "--screening", str(screening))
        duplicate = day.run("results", "record", "C-02", "--specimen-id", "SP-1")
    assert again.exit_code == 2 and "no pending screening" in again.stderr
    assert named.exit_code == 2 and "is already collected" in named.stderr
    assert duplicate.exit_code == 2 and "specimen id SP-1 is already recorded" in duplicate.stderr
    assert _snapshot(day) == before


def test_an_amendment_that_changes_nothing_is_refused(day: Clinic) -> None:
    with freeze_time(LATER):
        day.ok("results", "record", "C-01", "--positive", "THC")
        result = day.run(
            "results",
            "amend",
            _result_id(day, "C-01"),
            "--reason",
            "corrected_report",
            "--note",
            "retyped",
            "--positive",
            "THC",
        )
        unknown = day.run("results", "amend", _result_id(day, "C-01"), "--reason", "because")
    assert result.exit_code == 2 and "changes nothing" in result.stderr
    assert unknown.exit_code == 2 and "is not one of lab report" in unknown.stderr


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            ["NOPE,2026-11-23T09:45,BUP,positive,1,5,LC-MS/MS,R-1"],
            "line 2, column specimen_id: no result",
        ),
        (
            ["LAB-1,2026-11-23T09:45,LSD,positive,1,5,LC-MS/MS,R-1"],
            "line 2, column analyte: unknown analyte 'LSD'",
        ),
        (["LAB-1,2026-11-23T09:45,BUP,maybe,1,5,LC-MS/MS,R-1"], "line 2, column outcome"),
        (["LAB-1,2026-11-23T09:45,BUP,positive,-1,5,LC-MS/MS,R-1"], "line 2, column level"),
        (["LAB-1,2026-11-20T09:45,BUP,positive,1,5,LC-MS/MS,R-1"], "a different specimen?"),
        (
            [
                "LAB-1,2026-11-23T09:45,BUP,positive,1,5,LC-MS/MS,R-1",
                "LAB-1,2026-11-23T09:45,BUP,negative,,5,LC-MS/MS,R-1",
            ],
            "line 3, column analyte: BUP of specimen LAB-1 already appears on line 2",
        ),
        (["LAB-1,2026-11-23T09:45,BUP,positive,1,5,astrology,R-1"], "line 2, column method"),
    ],
)
def test_bad_lab_files_are_refused_whole(day: Clinic, rows: list[str], message: str) -> None:
    with freeze_time(LATER):
        day.ok(
            "results",
            "record",
            "C-01",
            "--sent-to-lab",
            "--specimen-id",
            "LAB-1",
            "--collected-at",
            "09:45",
        )
        before = _snapshot(day)
        result = day.run(
            "results", "import", str(write_csv(day.folder / "lab.csv", rows, header=LAB_HEADER))
        )
    assert result.exit_code == 2
    assert message in result.stderr
    assert "nothing was imported" in result.stderr
    assert _snapshot(day) == before


def test_lab_file_shape_problems(day: Clinic) -> None:
    with freeze_time(LATER):
        wrong = day.run(
            "results",
            "import",
            str(write_csv(day.folder / "a.csv", ["x,y"], header="specimen,result")),
        )
        (day.folder / "b.csv").write_bytes(LAB_HEADER.encode() + b"\nLAB-1,\xe9\n")
        latin = day.run("results", "import", str(day.folder / "b.csv"))
    assert wrong.exit_code == 2 and "the header names none of the columns" in wrong.stderr
    assert latin.exit_code == 2 and "is not UTF-8 text (line 2" in latin.stderr


def test_the_same_lab_report_is_not_imported_twice(day: Clinic) -> None:
    rows = ["LAB-1,2026-11-23T09:45,BUP,positive,10,5,immunoassay,R-1"]
    with freeze_time(LATER):
        day.ok(
            "results",
            "record",
            "C-01",
            "--sent-to-lab",
            "--specimen-id",
            "LAB-1",
            "--collected-at",
            "09:45",
        )
        path = str(write_csv(day.folder / "lab.csv", rows, header=LAB_HEADER))
        day.ok("results", "import", path)
        again = day.run("results", "import", path)
    assert again.exit_code == 2 and "report R-1 is already imported" in again.stderr


def test_tampered_results_are_caught(day: Clinic) -> None:
    with freeze_time(LATER):
        day.ok("results", "record", "C-01", "--positive", "THC")
        day.ok("results", "record", "C-02")
        day.ok("audit", "verify")
        day.sql(
            "UPDATE analyte_results SET outcome = 'negative' WHERE code = 'THC' "
            "AND outcome = 'positive'"
        )
        edited = day.run("audit", "verify")
        day.sql(
            "UPDATE analyte_results SET outcome = 'positive' WHERE code = 'THC' "
            "AND version_id = (SELECT min(id) FROM result_versions)"
        )
        day.ok("audit", "verify")
        day.sql(
            "UPDATE screenings SET status = 'excused' WHERE status = 'no_show' OR "
            "id = (SELECT max(screening_id) FROM results)"
        )
        status = day.run("audit", "verify")
    assert edited.exit_code == 1
    assert "(result version): the database row differs from the ledger in content" in edited.stderr
    assert status.exit_code == 1 and "(screening): the database row differs" in status.stderr


# --- what review found ------------------------------------------------------------------


def test_an_on_time_collection_entered_after_the_sweep_still_counts(day: Clinic) -> None:
    with freeze_time("2026-11-24T01:01:00Z"):  # 20:01: the deadline (19:00) has passed
        day.ok("results", "for-cause", "C-02", "--reason", "any write")
        assert _by_code(day, at=None)["C-01"]["status"] == "no_show"
        # Entered after the deadline, it is a late entry: it needs a reason (issue 13).
        unexplained = day.run("results", "record", "C-01", "--collected-at", "18:55")
        assert unexplained.exit_code == 2 and "add --reason" in unexplained.stderr
        day.ok("results", "record", "C-01", "--collected-at", "18:55", "--reason", "entered late")
        too_late = day.run("results", "record", "C-03", "--collected-at", "19:05")
        verified = day.ok("audit", "verify").stdout
        collected = _by_code(day, at=None)["C-01"]["status"]
    assert "flag: collection entered late" in verified
    assert collected == "collected"
    assert too_late.exit_code == 2 and "no pending screening" in too_late.stderr


def test_a_screen_and_a_confirmation_in_one_lab_file_stay_two_versions(day: Clinic) -> None:
    rows = [
        f"LAB-1,2026-11-23T09:45,{code},negative,,,immunoassay,R-1"
        for code in URINE_PANEL
        if code not in ("COC", "THC")
    ]
    rows += [
        "LAB-1,2026-11-23T09:45,THC,positive,80,,immunoassay,R-1",
        "LAB-1,2026-11-23T09:45,COC,positive,900,,LC-MS/MS,R-2",
    ]
    with freeze_time(LATER):
        day.ok(
            "results",
            "record",
            "C-01",
            "--sent-to-lab",
            "--specimen-id",
            "LAB-1",
            "--collected-at",
            "09:45",
        )
        day.ok("results", "import", str(write_csv(day.folder / "lab.csv", rows, header=LAB_HEADER)))
        shown = json.loads(day.ok("results", "show", _result_id(day, "C-01"), "--json").stdout)
        day.ok("audit", "verify")
    assert [v["lab_report_id"] for v in [*shown["history"], shown["current"]]] == [
        None,
        "R-1",
        "R-2",
    ]
    assert shown["current"]["analytes"]["THC"] == "positive (presumptive)"
    assert shown["current"]["analytes"]["COC"] == "positive (confirmed)"


def test_correcting_a_level_keeps_the_stage_and_cutoff(day: Clinic) -> None:
    with freeze_time(LATER):
        day.ok("results", "record", "C-01", "--positive", "THC")
        number = _result_id(day, "C-01")
        day.ok(
            "results",
            "amend",
            number,
            "--reason",
            "lab_confirmation",
            "--positive",
            "THC",
            "--level",
            "THC=30",
        )
        day.ok(
            "results",
            "amend",
            number,
            "--reason",
            "data_entry_error",
            "--note",
            "typo",
            "--level",
            "THC=20",
        )
        shown = json.loads(day.ok("results", "show", number, "--json").stdout)
    assert shown["current"]["analytes"]["THC"] == "positive (confirmed)"
    cutoff = day.sql(
        "SELECT a.cutoff FROM analyte_results a JOIN result_versions v ON "
        "v.id = a.version_id WHERE a.code = 'THC' ORDER BY v.seq DESC"
    )[0][0]
    assert cutoff == "15"  # the confirmation cutoff, not the screen's 50


def test_measured_validity_changes_only_with_measures(day: Clinic) -> None:
    with freeze_time(LATER):
        day.ok("results", "record", "C-01", "--creatinine", "1", "--sg", "1.0005")
        number = _result_id(day, "C-01")
        flag = day.run("results", "amend", number, "--reason", "lab_report", "--validity", "valid")
        day.ok(
            "results",
            "amend",
            number,
            "--reason",
            "corrected_report",
            "--note",
            "creatinine misread",
            "--creatinine",
            "80",
            "--sg",
            "1.0150",
        )
    assert flag.exit_code == 2 and "measures say it is substituted" in flag.stderr
    assert _by_code(day)["C-01"]["validity"] == "valid"


def test_a_lab_report_showing_a_dilute_negative_orders_an_observed_recollection(
    day: Clinic,
) -> None:
    rows = [f"LAB-1,2026-11-23T09:45,{code},negative,,,LC-MS/MS,R-1" for code in URINE_PANEL]
    with freeze_time(LATER):
        day.ok(
            "results",
            "record",
            "C-01",
            "--sent-to-lab",
            "--specimen-id",
            "LAB-1",
            "--collected-at",
            "09:45",
        )
        day.ok("results", "import", str(write_csv(day.folder / "lab.csv", rows, header=LAB_HEADER)))
        assert not any(
            p["code"] == "C-01" for p in json.loads(day.ok("results", "pending", "--json").stdout)
        )
        day.ok(
            "results",
            "amend",
            _result_id(day, "C-01"),
            "--reason",
            "lab_report",
            "--creatinine",
            "4",
            "--sg",
            "1.0020",
        )
        pending = json.loads(day.ok("results", "pending", "--json").stdout)
        day.ok("audit", "verify")
    assert ("C-01", "recollection", "yes") in [
        (p["code"], p["reason"], p["observed"]) for p in pending
    ]


def test_an_observed_collection_goes_to_the_recollection(day: Clinic) -> None:
    with freeze_time(LATER):
        day.ok("results", "record", "C-01", "--creatinine", "3", "--sg", "1.0020")
        day.ok("results", "for-cause", "C-01", "--reason", "a second test asked for")
        day.ok("results", "record", "C-01", "--observed")
    reasons = {r["reason"]: r["status"] for r in _list(day, "--client", "C-01")}
    assert reasons == {"random": "collected", "recollection": "collected", "for_cause": "pending"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "excuse",
                "C-01",
                "--reason",
                "court",
                "--approved-by",
                "Dr Lee re Client 1 court hearing today",
            ],
            "is not a staff member's name",
        ),
        (["record", "C-01", "--collected-at", "2026-03-08T02:30"], "does not exist"),
        (["show", "99999999999999999999"], "no result 99999999999999999999"),
        (["show", "SP-NONE"], "no result with specimen id SP-NONE"),
        (["no-show", "C-01", "--screening", "99999999999"], "less than or equal to 2147483647"),
    ],
)
def test_more_bad_input(day: Clinic, args: list[str], message: str) -> None:
    before = _snapshot(day)
    with freeze_time(LATER):
        result = day.run("results", *args)
    assert result.exit_code == 2, result.stderr
    # Usage errors come in a box that wraps lines: compare the words.
    assert message in " ".join(result.stderr.replace("│", " ").split())
    assert _snapshot(day) == before


def test_a_panel_removed_from_the_config_is_explained(day: Clinic) -> None:
    with freeze_time(LATER):
        day.ok("results", "record", "C-01", "--positive", "THC")
        config = day.folder / "screening.toml"
        config.write_text(
            config.read_text()
            .replace("[panels.urine", "[panels.urine_v2")
            .replace('default_panel = "urine"', 'default_panel = "urine_v2"')
        )
        result = day.run(
            "results",
            "amend",
            _result_id(day, "C-01"),
            "--reason",
            "lab_report",
            "--negative",
            "THC",
        )
    assert result.exit_code == 2
    assert "recorded with panel 'urine', which is no longer in the config" in result.stderr


def test_lab_report_ids_are_checked(day: Clinic) -> None:
    with freeze_time(LATER):
        day.ok(
            "results",
            "record",
            "C-01",
            "--sent-to-lab",
            "--specimen-id",
            "LAB-1",
            "--collected-at",
            "09:45",
        )
        path = day.folder / "lab.csv"
        path.write_text(f"{LAB_HEADER}\nLAB-1,2026-11-23T09:45,THC,positive,1,,LC-MS/MS,R1\x01\n")
        bad = day.run("results", "import", str(path))
        (day.folder / "empty.csv").write_text("")
        empty = day.run("results", "import", str(day.folder / "empty.csv"))
    assert bad.exit_code == 2 and "is not a report id" in bad.stderr
    assert empty.exit_code == 2 and LAB_HEADER in empty.stderr


def test_tampered_draws_and_unreadable_levels_are_named(day: Clinic) -> None:
    with freeze_time(LATER):
        day.ok("results", "record", "C-01")
        day.sql("UPDATE draws SET drawn_at = '2026-11-23 14:00:00'")
        moved = day.run("audit", "verify")
        day.sql("UPDATE draws SET drawn_at = (SELECT at FROM ledger WHERE kind = 'draw')")
        day.ok("audit", "verify")
        day.sql("UPDATE screenings SET draw_id = NULL WHERE id = (SELECT min(id) FROM screenings)")
        unlinked = day.run("audit", "verify")
        day.sql("UPDATE screenings SET draw_id = (SELECT id FROM draws)")
        day.ok("audit", "verify")
        day.sql("UPDATE analyte_results SET level = 'abc' WHERE code = 'THC'")
        unreadable = day.run("audit", "verify")
    assert (
        moved.exit_code == 1
        and "(draw): the database row differs from the ledger in drawn_at" in moved.stderr
    )
    assert unlinked.exit_code == 1 and "differs from the ledger in draw" in unlinked.stderr
    assert unreadable.exit_code == 1
    # A level that is not a number is read as the text it is, so its digest differs.
    assert "(result version): the database row differs from the ledger in content" in (
        unreadable.stderr
    )


def _context(clinic: Clinic):  # type: ignore[no-untyped-def]
    """What the CLI hands the services, for a call the CLI does not make one at a time."""
    from datetime import UTC, datetime

    from screening import config
    from screening.db.engine import Database, resolve_url
    from screening.services.plumbing.context import Actor, Context

    settings = config.load(clinic.folder / "screening.toml")
    now = datetime.now(UTC)
    database = Database(resolve_url(clinic.url, settings.folder))
    return Context(settings, database, Actor("staff1"), now, now.astimezone(settings.zone).date())


def test_many_specimens_are_recorded_in_one_go_or_not_at_all(day: Clinic) -> None:
    from screening.errors import BadInput
    from screening.services.results.checks import Collection
    from screening.services.results.findings import Findings
    from screening.services.results.recording import record_many

    with freeze_time(LATER):
        ctx = _context(day)
        before = _snapshot(day)
        with pytest.raises(BadInput, match="specimen id S-1 is already recorded"):
            record_many(
                ctx,
                [
                    Collection("C-01", Findings(), specimen_id="S-1"),
                    Collection("C-02", Findings(), specimen_id="S-1"),
                ],
            )
        with pytest.raises(BadInput, match="no client with code 'C-99'"):
            record_many(ctx, [Collection("C-01", Findings()), Collection("C-99", Findings())])
        assert _snapshot(day) == before
        # A dilute specimen orders an observed recollection; in the same batch, the
        # client's observed specimen goes to that recollection.
        answers = record_many(
            ctx,
            [
                Collection("C-03", Findings(positive=["THC"]), collected_at="09:10"),
                Collection("C-01", Findings(creatinine="3", specific_gravity="1.0020")),
                Collection("C-01", Findings(), observed=True),
                Collection("C-02", Findings(), sent_to_lab=True, specimen_id="S-2"),
            ],
        )
        ctx.database.dispose()
        day.ok("audit", "verify")
    assert [a["code"] for a in answers] == ["C-03", "C-01", "C-01", "C-02"]
    assert answers[1]["recollection"] == answers[2]["screening"]
    rows = {(r["code"], r["reason"]): r for r in _list(day)}
    assert rows[("C-01", "recollection")]["status"] == "collected"
    assert rows[("C-03", "random")]["status"] == "collected"
    assert rows[("C-02", "random")]["status"] == "collected"
    assert _snapshot(day)["result_versions"] == before["result_versions"] + 4


def test_a_lab_file_finds_no_specimen_of_another_site(day: Clinic) -> None:
    """Sites share the database; a lab file imported at one never amends another's."""
    south = day.folder / "south" / "screening.toml"

    def at_south(*args: str) -> str:
        result = day.run("--config", str(south), *args)
        assert result.exit_code == 0, (args, result.stderr)
        return result.stdout

    with freeze_time(MORNING):
        at_south("init", "--site", "south", "--timezone", "America/New_York")
        south.write_text(
            south.read_text().replace("tests_per_week = 2\n", "tests_per_week = 3\n", 1)
        )
        at_south("clients", "add", "S-01", "--track", "morning", "--phase", "1",
                 "--admitted", "2026-11-02")  # fmt: skip
        at_south("select")
    rows = [f"LAB-S,2026-11-23T09:45,{code},negative,,,LC-MS/MS,R-9" for code in URINE_PANEL]
    lab = write_csv(day.folder / "lab.csv", rows, header=LAB_HEADER)
    with freeze_time(LATER):
        at_south("results", "record", "S-01", "--sent-to-lab", "--specimen-id", "LAB-S",
                 "--collected-at", "09:45")  # fmt: skip
        refused = day.run("results", "import", str(lab))
        at_south("results", "import", str(lab))
    assert refused.exit_code == 2
    assert "no result has specimen id 'LAB-S'" in refused.stderr


def test_a_result_is_found_by_its_specimen_id_as_well_as_its_number(day: Clinic) -> None:
    with freeze_time(LATER):
        day.ok("results", "record", "C-03", "--positive", "THC", "--specimen-id", "SP-0193")
        number = _result_id(day, "C-03")
        by_label = json.loads(day.ok("results", "show", "SP-0193", "--json").stdout)
        by_number = json.loads(day.ok("results", "show", number, "--json").stdout)
        assert by_label == by_number and str(by_label["result"]) == number
        day.ok("results", "amend", "SP-0193", "--reason", "lab_confirmation", "--negative", "THC")
        shown = json.loads(day.ok("results", "show", number, "--json").stdout)
    assert shown["current"]["reason"] == "lab_confirmation"
    assert [v["reason"] for v in shown["history"]] == ["recorded"]


def test_a_repeated_analytes_option_keeps_every_value(clinic: Clinic) -> None:
    """`--positive COC --positive MTD,EDDP` is three positives, not the last option's two
    with COC left to the panel's default (negative)."""
    clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
    clinic.ok("results", "for-cause", "C-1", "--reason", "smelled of alcohol")
    clinic.ok("results", "record", "C-1", "--positive", "COC", "--positive", "MTD,EDDP")
    shown = clinic.ok("results", "show", "1").stdout
    assert "positive: COC, EDDP, MTD" in shown

"""Outcomes follow levels, in `results record`, `results amend` and a lab's file; what a
record leaves to the panel's default is said, and never a client's own prescription."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Clinic, write_csv

LAB_HEADER = "specimen_id,collected_at,analyte,outcome,level,cutoff,method,lab_report_id"


@pytest.fixture
def walk_in(clinic: Clinic) -> Clinic:
    clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
    clinic.ok("clients", "add", "C-2", "--track", "morning", "--phase", "1", "--meds", "Subutex")
    for code in ("C-1", "C-2"):
        clinic.ok("results", "for-cause", code, "--reason", "observed impairment")
    return clinic


def _result(clinic: Clinic, code: str) -> dict:
    [row] = json.loads(clinic.ok("results", "list", "--client", code, "--json").stdout)
    return row


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--negative", "COC", "--level", "COC=900"], "COC is given as negative, but its level"),
        (["--override-reason", "why not"], "--override-reason is given but every outcome agrees"),
        (["--not-tested", "COC", "--level", "COC=900"], "COC has a level (900) but is given"),
        (["--positive", "COC", "--not-tested", "COC"], "analyte COC is given as both"),
        (["--level", "COCA=900"], "--level: unknown analyte 'COCA'; did you mean COC?"),
        (["--level", "COC=lots"], "--level COC 'lots' is not a number"),
    ],
)
def test_contradictions_are_refused(walk_in: Clinic, args: list[str], message: str) -> None:
    result = walk_in.run("results", "record", "C-1", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert walk_in.sql("SELECT count(*) FROM results") == [(0,)]


def test_an_explicit_cutoff_wins(walk_in: Clinic) -> None:
    walk_in.ok("results", "record", "C-1", "--level", "COC=120", "--cutoff", "COC=100")
    assert "COC 120 ng/mL, screen cutoff 100: positive" in " ".join(_result(walk_in, "C-1")["says"])


def test_a_prescription_left_unsaid_is_asked_for(walk_in: Clinic) -> None:
    refused = walk_in.run("results", "record", "C-2", "--positive", "BUP")
    assert refused.exit_code == 2
    assert "C-2 is prescribed buprenorphine (NORBUP)" in refused.stderr
    assert "--negative NORBUP" in refused.stderr
    walk_in.ok("results", "record", "C-2", "--positive", "BUP,NORBUP")
    assert _result(walk_in, "C-2")["reading"] == "expected_positive"


def test_amendments_follow_levels_and_keep_an_override(walk_in: Clinic) -> None:
    walk_in.ok(
        "results", "record", "C-1", "--positive", "MAMP", "--level", "MAMP=80",
        "--override-reason", "cup line visible",
    )  # fmt: skip
    number = str(_result(walk_in, "C-1")["result"])
    # Another analyte amended: the override still stands, with its reason.
    walk_in.ok("results", "amend", number, "--reason", "corrected_report", "--note", "THC",
               "--positive", "THC")  # fmt: skip
    row = _result(walk_in, "C-1")
    assert row["override_reason"] == "cup line visible"
    # A corrected level alone: the outcome follows it.
    walk_in.ok("results", "amend", number, "--reason", "data_entry_error", "--note", "typo",
               "--level", "THC=20")  # fmt: skip
    row = _result(walk_in, "C-1")
    assert "THC 20 ng/mL, screen cutoff 50: negative" in row["says"]
    # The lab confirms below its own cutoff: negative, against the screen's outcome.
    walk_in.ok("results", "amend", number, "--reason", "lab_confirmation", "--level", "MAMP=100")
    row = _result(walk_in, "C-1")
    assert "MAMP 100 ng/mL, confirmation cutoff 250: negative, confirmed" in row["says"]
    assert row["override_reason"] is None
    assert "records match the ledger" in walk_in.ok("audit", "verify").stdout


def test_a_lab_row_against_its_own_cutoff_is_refused(walk_in: Clinic) -> None:
    walk_in.ok("results", "record", "C-1", "--sent-to-lab", "--specimen-id", "L-1")
    collected = json.loads(walk_in.ok("results", "show", "1", "--json").stdout)["collected_at"]
    when = collected.replace(" ", "T")
    path = write_csv(
        walk_in.folder / "lab.csv",
        [f"L-1,{when},COC,positive,90,150,immunoassay,R-1"],
        header=LAB_HEADER,
    )
    refused = walk_in.run("results", "import", str(path))
    assert refused.exit_code == 2
    assert "line 2, column outcome: positive, but the level 90 is below the cutoff 150" in (
        refused.stderr
    )
    path = write_csv(
        walk_in.folder / "lab.csv",
        [f"L-1,{when},COC,,90,,immunoassay,R-1"],
        header=LAB_HEADER,
    )
    walk_in.ok("results", "import", str(path))
    row = _result(walk_in, "C-1")
    assert "COC 90 ng/mL, screen cutoff 150: negative" in row["says"]
    assert row["reading"] == "pending"  # a partial report: the rest still awaited

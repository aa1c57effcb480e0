"""Files from Excel and the clinic's date style (issue 16): CSV separated by ";" or tabs,
with a byte order mark and CRLF line ends; dates written as the clinic writes them
(date_format under [locale]) in CSV files and on the command line; lists separated by
"," or ";" everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from freezegun import freeze_time

from screening.core.typed import parse_day, parse_moment, split_list
from tests.conftest import Clinic, Inits

HEADER = ["code", "name", "track", "phase", "admitted_on", "medications"]
LAB_HEADER = ["specimen_id", "collected_at", "analyte", "outcome", "level", "cutoff", "method",
              "lab_report_id"]  # fmt: skip
HINT = 'dates are YYYY-MM-DD here (or set date_format = "MM/DD/YYYY"'
MORNING = "2026-11-23T12:00:00Z"  # Monday 07:00 in New York: the draw
LATER = "2026-11-23T15:00:00Z"  # 10:00


def write(path: Path, rows: list[list[str]], sep: str = ",", end: str = "\n", bom: bool = False):
    """A file as Excel saves it: ``sep`` between fields, ``end`` after every line."""
    text = "".join(sep.join(row) + end for row in rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def date_format(clinic: Clinic, style: str) -> None:
    config = clinic.folder / "screening.toml"
    text = config.read_text()
    assert 'date_format = "YYYY-MM-DD"' in text  # the template names the setting
    config.write_text(text.replace('date_format = "YYYY-MM-DD"', f'date_format = "{style}"'))


def listed(clinic: Clinic) -> dict[str, dict]:
    return {c["code"]: c for c in json.loads(clinic.ok("clients", "list", "--json").stdout)}


# --- clients import ---------------------------------------------------------------------


@pytest.mark.parametrize("sep", [";", "\t"])
def test_clients_separated_by_semicolons_or_tabs_import(clinic: Clinic, sep: str) -> None:
    rows = [
        HEADER,
        ["C-001", "Test One", "morning", "1", "2026-11-02", "buprenorphine, methadone"],
        ["C-002", "Test Two", "evening", "2", "2026-11-03", ""],
    ]
    write(clinic.folder / "clients.csv", rows, sep)

    result = clinic.ok("clients", "import", "clients.csv")

    assert result.stderr == "enrolled 2 clients from clients.csv\n"
    clients = listed(clinic)
    assert clients["C-001"]["medications"] == ["buprenorphine", "methadone"]
    assert clients["C-002"]["admitted_on"] == "2026-11-03"


def test_an_excel_file_with_us_dates_imports_where_the_clinic_writes_them(
    clinic: Clinic,
) -> None:
    # Excel (US) "CSV UTF-8" where the list separator is ";": BOM, CRLF, M/D/YYYY dates.
    rows = [
        HEADER,
        ["C-001", "Test One", "morning", "1", "11/20/2026", "buprenorphine,naloxone"],
        ["C-002", "Test Two", "evening", "2", "1/5/2026", ""],
    ]
    path = write(clinic.folder / "clients.csv", rows, ";", "\r\n", bom=True)

    refused = clinic.run("clients", "import", "clients.csv")
    date_format(clinic, "MM/DD/YYYY")
    clinic.ok("clients", "import", str(path))

    assert refused.exit_code == 2
    assert refused.stderr.splitlines()[:2] == [
        "line 2, column admitted_on: admission date '11/20/2026' is not a date: "
        + HINT
        + " under [locale] in screening.toml)",
        "line 3, column admitted_on: admission date '1/5/2026' is not a date: dates are "
        'YYYY-MM-DD here (or set date_format = "MM/DD/YYYY" or "DD/MM/YYYY" under [locale] '
        "in screening.toml)",
    ]
    clients = listed(clinic)
    assert clients["C-001"]["admitted_on"] == "2026-11-20"
    assert clients["C-001"]["medications"] == ["buprenorphine", "naloxone"]
    assert clients["C-002"]["admitted_on"] == "2026-01-05"


@pytest.mark.parametrize("sep", [";", "\t"], ids=["semicolon", "tab"])
def test_excels_separator_line_is_read_and_a_comma_in_a_name_is_kept(
    clinic: Clinic, sep: str
) -> None:
    # Excel writes (and reads) a first line "sep=;" where asked to; names keep their commas.
    rows = [[f"sep={sep}"], HEADER, ["C-001", "Smith, Ann", "morning", "1", "2026-11-02", ""]]
    write(clinic.folder / "clients.csv", rows, sep, end="\r\n")

    clinic.ok("clients", "import", "clients.csv")

    assert listed(clinic)["C-001"]["name"] == "Smith, Ann"


def test_an_impossible_date_in_the_clinic_style_is_named_by_line_and_column(
    clinic: Clinic,
) -> None:
    date_format(clinic, "MM/DD/YYYY")
    rows = [
        HEADER,
        ["C-001", "A", "morning", "1", "2026-11-02", ""],
        ["C-002", "B", "morning", "1", "02/30/2026", ""],
        ["C-003", "C", "morning", "1", "20/11/2026", ""],
    ]
    write(clinic.folder / "clients.csv", rows, ";")

    result = clinic.run("clients", "import", "clients.csv")

    assert result.exit_code == 2
    assert result.stderr.splitlines()[:2] == [
        "line 3, column admitted_on: admission date '02/30/2026' is not a date: February "
        "2026 has 28 days (dates are MM/DD/YYYY here, set by date_format in screening.toml, "
        "or YYYY-MM-DD)",
        "line 4, column admitted_on: admission date '20/11/2026' is not a date: there is no "
        "month 20 (dates are MM/DD/YYYY here, set by date_format in screening.toml, or "
        "YYYY-MM-DD)",
    ]
    assert listed(clinic) == {}


def test_a_header_with_no_expected_column_says_which_are_expected(clinic: Clinic) -> None:
    write(clinic.folder / "clients.csv", [["Kod", "Nimi"], ["C-1", "A"]], ";")
    semicolons = write(clinic.folder / "other.csv", [["code", "name", "trak"]], ";")

    result = clinic.run("clients", "import", "clients.csv")
    misspelt = clinic.run("clients", "import", str(semicolons))

    assert result.exit_code == 2
    assert result.stderr == (
        "error: clients.csv, line 1: the header names none of the columns expected; it must "
        "be code,name,track,phase,admitted_on,medications, separated by commas, semicolons "
        "or tabs\n"
    )
    # Found as ";"-separated: the columns are named one by one, never "code;name;trak".
    assert misspelt.exit_code == 2
    assert "missing column 'track', 'phase', 'admitted_on', 'medications'" in misspelt.stderr
    assert "unknown column 'trak'; the header must be code;name;track;" in misspelt.stderr


# --- results import ---------------------------------------------------------------------


@pytest.fixture
def drawn(backend: str, tmp_path: Path, inits: Inits) -> Clinic:
    """Two morning clients drawn on Monday (3 tests a week on 3 days is p = 1); C-01's
    specimen LAB-1 collected at 09:45 and sent to the lab."""
    clinic = Clinic(tmp_path, backend)
    inits.prepare(clinic, "test_excel_files: drawn", _drawn)
    return clinic


def _drawn(clinic: Clinic) -> None:
    with freeze_time(MORNING):
        clinic.ok("init", "--timezone", "America/New_York")
        config = clinic.folder / "screening.toml"
        config.write_text(
            config.read_text().replace("tests_per_week = 2\n", "tests_per_week = 3\n", 1)
        )
        rows = [HEADER, *([f"C-0{i}", f"Client {i}", "morning", "1", "2026-11-02", ""]
                          for i in (1, 2))]  # fmt: skip
        clinic.ok("clients", "import", str(write(clinic.folder / "clients.csv", rows)))
        clinic.ok("select")
    with freeze_time(LATER):
        clinic.ok("results", "record", "C-01", "--sent-to-lab", "--specimen-id", "LAB-1",
                  "--collected-at", "09:45")  # fmt: skip


def lab_rows(collected_at: str) -> list[list[str]]:
    return [
        LAB_HEADER,
        ["LAB-1", collected_at, "BUP", "positive", "10", "5", "immunoassay", "R-1"],
        ["LAB-1", collected_at, "NORBUP", "negative", "", "5", "immunoassay", "R-1"],
    ]


def outcomes(clinic: Clinic) -> dict[str, str]:
    with freeze_time(LATER):
        result = clinic.ok("results", "list", "--client", "C-01", "--json")
        number = str(json.loads(result.stdout)[0]["result"])
        shown = json.loads(clinic.ok("results", "show", number, "--json").stdout)
    return {code: text.split()[0] for code, text in shown["current"]["analytes"].items()}


@pytest.mark.parametrize("sep", [";", "\t"])
def test_lab_results_separated_by_semicolons_or_tabs_import(drawn: Clinic, sep: str) -> None:
    path = write(drawn.folder / "lab.csv", lab_rows("2026-11-23T09:45"), sep, "\r\n")

    with freeze_time(LATER):
        done = drawn.ok("results", "import", str(path))

    assert "2 rows" in done.stderr
    found = outcomes(drawn)
    assert found["BUP"] == "positive" and found["NORBUP"] == "negative"


def test_a_lab_file_with_us_date_and_time_imports_where_the_clinic_writes_them(
    drawn: Clinic,
) -> None:
    path = write(drawn.folder / "lab.csv", lab_rows("11/23/2026 9:45 AM"), ";", "\r\n", True)

    with freeze_time(LATER):
        refused = drawn.run("results", "import", str(path))
        date_format(drawn, "MM/DD/YYYY")
        drawn.ok("results", "import", str(path))

    assert refused.exit_code == 2
    assert "line 2, column collected_at: '11/23/2026' is not a date: " + HINT in refused.stderr
    assert outcomes(drawn)["BUP"] == "positive"


def test_a_lab_time_in_the_clinic_style_still_matches_the_collection(drawn: Clinic) -> None:
    date_format(drawn, "DD/MM/YYYY")
    path = write(drawn.folder / "lab.csv", lab_rows("23/11/2026 14:45"), ";")

    with freeze_time(LATER):
        result = drawn.run("results", "import", str(path))

    assert result.exit_code == 2
    assert "the lab says 23/11/2026 14:45, the clinic recorded 2026-11-23 09:45" in result.stderr


# --- the command line -------------------------------------------------------------------


def test_a_date_option_takes_the_clinic_style_when_set_and_explains_it_when_not(
    clinic: Clinic,
) -> None:
    unset = clinic.run("clients", "add", "C-1", "--track", "morning", "--phase", "1",
                       "--admitted", "11/20/2026")  # fmt: skip
    listing = clinic.run("results", "list", "--from", "11/20/2026")
    date_format(clinic, "MM/DD/YYYY")
    clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1",
              "--admitted", "11/20/2026")  # fmt: skip
    held = clinic.ok("clients", "hold", "C-1", "--from", "12/24/2026", "--to", "2026-12-26",
                     "--reason", "travel")  # fmt: skip
    closed = clinic.ok("close", "12/25/2026", "--reason", "holiday")
    wrong = clinic.run("results", "list", "--from", "20/11/2026")

    assert unset.exit_code == 2
    assert unset.stderr == (
        "error: --admitted '11/20/2026' is not a date: " + HINT + " under [locale] in "
        "screening.toml)\n"
    )
    assert listing.exit_code == 2 and "--from '11/20/2026' is not a date: " in listing.stderr
    client = json.loads(clinic.ok("clients", "show", "C-1", "--json").stdout)
    assert client["admitted_on"] == "2026-11-20"
    assert held.stderr == "C-1 is on hold from 2026-12-24 to 2026-12-26 (hold 1)\n"
    assert closed.stderr == "closed on 2026-12-25\n"
    assert wrong.exit_code == 2
    assert wrong.stderr == (
        "error: --from '20/11/2026' is not a date: there is no month 20 (dates are "
        "MM/DD/YYYY here, set by date_format in screening.toml, or YYYY-MM-DD)\n"
    )


def test_lists_on_the_command_line_take_semicolons_as_in_csv(drawn: Clinic) -> None:
    with freeze_time(LATER):
        drawn.ok("clients", "add", "C-9", "--track", "evening", "--phase", "2",
                 "--meds", "buprenorphine; methadone")  # fmt: skip
        drawn.ok("results", "record", "C-02", "--negative", "BUP;NORBUP", "--positive", "THC")
        number = json.loads(drawn.ok("results", "list", "--client", "C-02", "--json").stdout)
        shown = drawn.ok("results", "show", str(number[0]["result"]), "--json").stdout

    assert listed(drawn)["C-9"]["medications"] == ["buprenorphine", "methadone"]
    found = {
        code: text.split()[0] for code, text in json.loads(shown)["current"]["analytes"].items()
    }
    assert (found["BUP"], found["NORBUP"], found["THC"]) == ("negative", "negative", "positive")


def test_a_date_and_time_option_takes_the_clinic_style(drawn: Clinic) -> None:
    date_format(drawn, "MM/DD/YYYY")
    with freeze_time(LATER):
        drawn.ok("results", "record", "C-02", "--collected-at", "11/23/2026 9:40 AM")
        rows = json.loads(drawn.ok("results", "list", "--client", "C-02", "--json").stdout)
        shown = drawn.ok("results", "show", str(rows[0]["result"]), "--json").stdout

    assert json.loads(shown)["collected_at"] == "2026-11-23 09:40"


# --- the rules themselves ---------------------------------------------------------------


def test_a_list_is_split_on_commas_and_semicolons() -> None:
    assert split_list("BUP,NORBUP; THC ;;") == ["BUP", "NORBUP", "THC"]


@pytest.mark.parametrize(
    ("text", "style", "day"),
    [
        ("2026-11-20", "MM/DD/YYYY", "2026-11-20"),  # ISO whatever the style
        ("11/20/2026", "MM/DD/YYYY", "2026-11-20"),
        ("1/5/2026", "MM/DD/YYYY", "2026-01-05"),
        ("20/11/2026", "DD/MM/YYYY", "2026-11-20"),
        ("20.11.2026", "DD/MM/YYYY", "2026-11-20"),
        ("2028-02-29", "YYYY-MM-DD", "2028-02-29"),
    ],
)
def test_dates_in_the_clinic_style(text: str, style: str, day: str) -> None:
    assert parse_day(text, style).isoformat() == day


@pytest.mark.parametrize(
    ("text", "style", "problem"),
    [
        ("20/11/2026", "YYYY-MM-DD", 'set date_format = "DD/MM/YYYY"'),
        ("03/04/2026", "YYYY-MM-DD", '"MM/DD/YYYY" or "DD/MM/YYYY"'),
        ("2027-02-29", "YYYY-MM-DD", "February 2027 has 28 days"),
        ("tomorrow", "MM/DD/YYYY", "write it as MM/DD/YYYY or YYYY-MM-DD"),
    ],
)
def test_dates_outside_the_clinic_style_say_why(text: str, style: str, problem: str) -> None:
    with pytest.raises(ValueError, match="is not a date") as refused:
        parse_day(text, style)
    assert problem in str(refused.value)


def test_times_as_excel_writes_them() -> None:
    assert parse_moment("11/23/2026 12:05 AM", "MM/DD/YYYY").isoformat() == "2026-11-23T00:05:00"
    assert parse_moment("11/23/2026 12:05 PM", "MM/DD/YYYY").isoformat() == "2026-11-23T12:05:00"
    assert parse_moment("23/11/2026 9:05:30", "DD/MM/YYYY").isoformat() == "2026-11-23T09:05:30"
    assert parse_moment("2026-11-23T09:45-05:00").utcoffset() is not None
    with pytest.raises(ValueError, match="is not a time"):
        parse_moment("11/23/2026 13:05 PM", "MM/DD/YYYY")

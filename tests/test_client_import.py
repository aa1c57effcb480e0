"""`screening clients import FILE.csv [--dry-run]`: every row enrolled, or none.

A bad file is refused with every bad row named by line, column and reason, exit 2, and a
one-line `error:` summary on stderr; the database is left exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.conftest import Clinic, sample_rows, write_csv

HEADER = "code,name,track,phase,admitted_on,medications"
REFUSED = "nothing was imported. Fix them and import the whole file again"


def csv_bytes(rows: list[str], header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return "".join(f"{line}\n" for line in [header, *rows]).encode(encoding)


def snapshot(clinic: Clinic, checkpoint: bool = False) -> dict[str, object]:
    """What a refused import must not change: the SQLite files' bytes and the row counts."""
    state: dict[str, object] = {}
    if clinic.is_sqlite:
        database = clinic.folder / "screening.db"
        if checkpoint:
            connection = sqlite3.connect(database)
            try:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                connection.close()
        for name in ("screening.db", "screening.db-wal"):
            path = clinic.folder / name
            state[name] = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
    state["ledger rows"] = clinic.sql("SELECT count(*) FROM ledger")[0][0]
    state["client rows"] = clinic.sql("SELECT count(*) FROM clients")[0][0]
    return state


@contextmanager
def database_unchanged(clinic: Clinic) -> Iterator[None]:
    before = snapshot(clinic, checkpoint=True)
    yield
    assert snapshot(clinic) == before


def listed(clinic: Clinic) -> list[dict]:
    return json.loads(clinic.ok("clients", "list", "--json").stdout)


def test_import_enrols_every_client_and_the_ledger_verifies(clinic: Clinic) -> None:
    write_csv(
        clinic.folder / "clients.csv",
        sample_rows(19)
        + [
            "C-020,Test Client 20,evening,2,2026-10-15,buprenorphine; Methadone",
        ],
    )
    before = snapshot(clinic, checkpoint=True)

    result = clinic.ok("clients", "import", "clients.csv")

    assert result.stdout == ""
    assert result.stderr == "enrolled 20 clients from clients.csv\n"
    clients = listed(clinic)
    assert [client["code"] for client in clients] == [f"C-{i:03d}" for i in range(1, 21)]
    assert clients[4] == {
        "code": "C-005",
        "name": "Test Client 5",
        "track": "evening",
        "phase": "3",
        "status": "active",
        "admitted_on": "2026-11-06",
        "discharged_on": None,
        "medications": ["buprenorphine"],
        "medication_problems": [],
    }
    assert clients[19]["medications"] == ["buprenorphine", "methadone"]
    after = snapshot(clinic)
    assert after != before
    assert after["client rows"] == 20
    # 20 enrolments, and the listing above (its `viewed` entry)
    assert after["ledger rows"] == before["ledger rows"] + 20 + 1
    verified = clinic.run("audit", "verify")
    assert verified.exit_code == 0, verified.stderr
    assert "records match the ledger: 20 clients" in verified.stdout


def test_a_utf8_bom_before_the_header_is_accepted(clinic: Clinic) -> None:
    # Excel's "CSV UTF-8" starts the file with a byte order mark.
    path = clinic.folder / "clients.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_bytes(sample_rows(3)))

    result = clinic.ok("clients", "import", "clients.csv")

    assert result.stderr == "enrolled 3 clients from clients.csv\n"
    assert [client["code"] for client in listed(clinic)] == ["C-001", "C-002", "C-003"]


def test_dry_run_checks_every_row_and_writes_nothing(clinic: Clinic) -> None:
    write_csv(clinic.folder / "clients.csv", sample_rows(20))

    with database_unchanged(clinic):
        result = clinic.ok("clients", "import", "--dry-run", "clients.csv")

    assert result.stdout == ""
    assert result.stderr == "clients.csv: all 20 rows are valid; nothing written (dry run)\n"
    assert listed(clinic) == []


def test_dry_run_reports_the_same_problems_as_an_import(clinic: Clinic) -> None:
    rows = sample_rows(3)
    rows[1] = "C-002,Test Client 2,noon,1,2026-11-03,"
    write_csv(clinic.folder / "clients.csv", rows)

    with database_unchanged(clinic):
        dry = clinic.run("clients", "import", "--dry-run", "clients.csv")
        real = clinic.run("clients", "import", "clients.csv")

    assert dry.exit_code == real.exit_code == 2
    assert dry.stderr == real.stderr
    assert "line 3, column track: unknown track 'noon'" in dry.stderr


ENROLLED = "C-900"  # enrolled with `clients add` before each bad file is imported
NOT_IMPORTED_1 = f"error: clients.csv: 1 problem; {REFUSED}"

BAD_FILES = [
    pytest.param(
        csv_bytes(
            ["C-001,A,morning,1,2026-11-01,"], header="code,name,track,admitted_on,medications"
        ),
        [
            "error: clients.csv, line 1: missing column 'phase'; the header must be "
            "code,name,track,phase,admitted_on,medications"
        ],
        id="missing-column",
    ),
    pytest.param(
        csv_bytes(["C-001,A,morning,1,2026-11-01,,123-45-6789"], header=HEADER + ",ssn"),
        [
            "error: clients.csv, line 1: unknown column 'ssn'; the header must be "
            "code,name,track,phase,admitted_on,medications"
        ],
        id="unknown-column",
    ),
    pytest.param(
        csv_bytes(
            [
                "C-001,A,morning,1,2026-11-01,",
                "C-002,B,evening,2,2026-11-01,",
                "C-001,C,evening,3,2026-11-02,",
            ]
        ),
        ["line 4, column code: 'C-001' already appears on line 2", NOT_IMPORTED_1],
        id="duplicate-code-in-file",
    ),
    pytest.param(
        csv_bytes(["C-001,A,morning,1,2026-11-01,", f"{ENROLLED},B,evening,2,2026-11-01,"]),
        [f"line 3, column code: client '{ENROLLED}' is already enrolled", NOT_IMPORTED_1],
        id="code-already-enrolled",
    ),
    pytest.param(
        csv_bytes(["C-001,A,morning,1,2026-11-01,", "C-002,B,noon,1,2026-11-01,"]),
        [
            "line 3, column track: unknown track 'noon'; known tracks: evening, morning",
            NOT_IMPORTED_1,
        ],
        id="unknown-track",
    ),
    pytest.param(
        csv_bytes(["C-001,A,morning,4,2026-11-01,"]),
        ["line 2, column phase: unknown phase '4'; known phases: 1, 2, 3", NOT_IMPORTED_1],
        id="unknown-phase",
    ),
    pytest.param(
        csv_bytes(["C-001,A,morning,1,2026-11-01,", "C-002,B,morning,1,2026-02-30,"]),
        [
            "line 3, column admitted_on: admission date '2026-02-30' is not a date: "
            "February 2026 has 28 days",
            NOT_IMPORTED_1,
        ],
        id="impossible-date",
    ),
    pytest.param(
        csv_bytes(["C-001,A,morning,1,11/03/2026,"]),
        [
            "line 2, column admitted_on: admission date '11/03/2026' is not a date: dates "
            'are YYYY-MM-DD here (or set date_format = "MM/DD/YYYY" or "DD/MM/YYYY" under '
            "[locale] in screening.toml)",
            NOT_IMPORTED_1,
        ],
        id="us-style-date",
    ),
    pytest.param(
        csv_bytes(
            ["C-001,Ana,morning,1,2026-11-01,", "C-002,José,morning,1,2026-11-01,"],
            encoding="latin-1",
        ),
        ['error: clients.csv is not UTF-8 text (line 3 has the byte 0xe9); save it as "CSV UTF-8"'],
        id="latin-1",
    ),
    pytest.param(
        b"",
        [
            "error: clients.csv is empty; it needs the header line "
            "code,name,track,phase,admitted_on,medications and a row a line"
        ],
        id="empty-file",
    ),
    pytest.param(
        b"\n \n",
        [
            "error: clients.csv is empty; it needs the header line "
            "code,name,track,phase,admitted_on,medications and a row a line"
        ],
        id="blank-lines-only",
    ),
    pytest.param(
        csv_bytes([]),
        ["error: clients.csv has a header but no clients; add one row a client"],
        id="header-only",
    ),
    pytest.param(
        csv_bytes(
            [
                "C-001,A,morning,1,2026-11-01,",
                "C-002,B,morning,1,2026-11-01",
                "C-003,C,morning,1,2026-11-01,,",
            ]
        ),
        [
            "line 3: 5 fields where the header has 6",
            "line 4: 7 fields where the header has 6",
            f"error: clients.csv: 2 problems; {REFUSED}",
        ],
        id="wrong-number-of-fields",
    ),
    pytest.param(
        csv_bytes(
            [
                "C-001,A,morning,1,2026-11-01,",
                "C-002,B,noon,1,2026-11-01,",
                "C-003,C,morning,1",
                "bad code!,D,morning,1,,",
                "C-005,E,morning,1,2026-11-31,",
                "C-001,F,evening,2,2026-11-01,",
                f"{ENROLLED},G,morning,1,2026-11-01,",
                "C-009,H,morning,1,2026-11-01,heroin?",
                "C-010,I,morning,1,2026-11-01,methadone",
            ]
        ),
        [
            "line 3, column track: unknown track 'noon'; known tracks: evening, morning",
            "line 4: 4 fields where the header has 6",
            "line 5, column code: client code 'bad code!' is not usable; "
            "use up to 64 letters, digits, . _ / -",
            "line 6, column admitted_on: admission date '2026-11-31' is not a date: "
            "November 2026 has 30 days",
            "line 7, column code: 'C-001' already appears on line 2",
            f"line 8, column code: client '{ENROLLED}' is already enrolled",
            "line 9, column medications: unknown medication 'heroin?' (generic and brand "
            "names are known; a clinic adds its own under [medications] in screening.toml)",
            f"error: clients.csv: 7 problems; {REFUSED}",
        ],
        id="every-bad-row-listed-in-line-order",
    ),
]


@pytest.mark.parametrize(("content", "expected"), BAD_FILES)
def test_a_bad_file_is_refused_and_nothing_is_written(
    clinic: Clinic, content: bytes, expected: list[str]
) -> None:
    clinic.ok("clients", "add", ENROLLED, "--track", "morning", "--phase", "1")
    (clinic.folder / "clients.csv").write_bytes(content)

    with database_unchanged(clinic):
        result = clinic.run("clients", "import", "clients.csv")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == expected
    assert [client["code"] for client in listed(clinic)] == [ENROLLED]


def test_a_duplicate_is_reported_even_when_its_first_row_has_another_problem(
    clinic: Clinic,
) -> None:
    write_csv(
        clinic.folder / "clients.csv",
        [
            "C-001,A,noon,1,2026-11-01,",
            "C-001,B,morning,1,2026-11-01,",
        ],
    )

    result = clinic.run("clients", "import", "clients.csv")

    assert result.exit_code == 2
    assert result.stderr.splitlines()[:2] == [
        "line 2, column track: unknown track 'noon'; known tracks: evening, morning",
        "line 3, column code: 'C-001' already appears on line 2",
    ]


def test_a_file_holding_only_a_byte_order_mark_is_empty(clinic: Clinic) -> None:
    (clinic.folder / "clients.csv").write_bytes(b"\xef\xbb\xbf")

    with database_unchanged(clinic):
        result = clinic.run("clients", "import", "clients.csv")

    assert result.exit_code == 2
    assert result.stderr.startswith("error: clients.csv is empty;")


def test_one_bad_row_in_ten_thousand_is_named_and_nothing_is_written(clinic: Clinic) -> None:
    rows = sample_rows(10_000)
    rows[7_344] = "C-7345,Test Client 7345,morning,1,2026-11-31,"
    write_csv(clinic.folder / "clients.csv", rows)

    with database_unchanged(clinic):
        result = clinic.run("clients", "import", "clients.csv")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "line 7346, column admitted_on: admission date '2026-11-31' is not a date: "
        "November 2026 has 30 days",
        f"error: clients.csv: 1 problem; {REFUSED}",
    ]
    assert listed(clinic) == []


def test_a_row_spanning_lines_is_reported_where_it_starts(clinic: Clinic) -> None:
    (clinic.folder / "clients.csv").write_text(
        f'{HEADER}\nC-001,"Two\nLines",noon,1,2026-11-01,\nC-002,B,morning,1,2026-11-01,\n',
        encoding="utf-8",
    )
    result = clinic.run("clients", "import", "clients.csv")
    assert result.exit_code == 2
    assert "line 2, column track: unknown track 'noon'" in result.stderr


def test_control_characters_in_a_name_are_refused(clinic: Clinic) -> None:
    write_csv(clinic.folder / "clients.csv", ["C-001,Jo\x00Example,morning,1,2026-11-01,"])
    with database_unchanged(clinic):
        result = clinic.run("clients", "import", "clients.csv")
    assert result.exit_code == 2
    assert "line 2, column name: name contains control characters" in result.stderr


def test_one_client_is_counted_in_the_singular(clinic: Clinic) -> None:
    write_csv(clinic.folder / "clients.csv", ["C-001,A,morning,1,2026-11-01,"])
    assert "enrolled 1 client from" in clinic.ok("clients", "import", "clients.csv").stderr

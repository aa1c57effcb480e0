"""A clinic written before issue 13 (schema 0005, tests/data/clinic-0005) upgrades, keeps
verifying, and goes on drawing and recording: nothing in its history is rewritten. Its
clients were enrolled with "suboxone" (a brand name, now read as buprenorphine) and
"buprenorphin" (a typo the old code took, now listed for staff to fix)."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
from freezegun import freeze_time
from typer.testing import CliRunner

from screening.cli import app
from screening.core import checkpoint as notes
from screening.core.merkle import consistency_proof, root_of, verify_consistency
from tests.conftest import ME, WORKING_ROLES

OLD = Path(__file__).parent / "data" / "clinic-0005"
AFTER = "2026-11-23T14:00:00Z"  # Monday 09:00 in New York, after the old ledger's head


@pytest.fixture
def old_clinic(tmp_path: Path) -> Path:
    folder = tmp_path / "clinic"
    shutil.copytree(OLD, folder)
    for name in ("screening.db", "screening.key", "screening.toml"):
        (folder / name).chmod(0o600)
    return folder


def _run(folder: Path, when: str, *args: str):  # type: ignore[no-untyped-def]
    with freeze_time(when):
        return CliRunner().invoke(app, ["--config", str(folder / "screening.toml"), *args])


def _ok(folder: Path, when: str, *args: str):  # type: ignore[no-untyped-def]
    result = _run(folder, when, *args)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result


def _medications(folder: Path) -> list[tuple[str, str]]:
    import sqlite3

    with sqlite3.connect(folder / "screening.db") as connection:
        return connection.execute("SELECT code, medications FROM clients ORDER BY code").fetchall()


def _hashes(folder: Path) -> list[bytes]:
    import sqlite3

    with sqlite3.connect(folder / "screening.db") as connection:
        rows = connection.execute("SELECT hash FROM ledger ORDER BY seq").fetchall()
    return [bytes.fromhex(h) for (h,) in rows]


def _checkpoints(folder: Path) -> list[Path]:
    return sorted((folder / "screening-witness").glob("screening-*/checkpoints/*.checkpoint"))


def _opened(path: Path) -> notes.Checkpoint:
    name, public = notes.parse_vkey((path.parent.parent / "witness.vkey").read_text())
    return notes.parse_checkpoint(notes.open_note(path.read_text(), name, public))


def test_an_old_clinic_must_be_upgraded_first(old_clinic: Path) -> None:
    result = _run(old_clinic, AFTER, "today")
    assert result.exit_code == 3
    assert "screening db upgrade" in result.stderr


def test_an_old_clinic_upgrades_and_keeps_verifying(old_clinic: Path) -> None:
    stored = _medications(old_clinic)
    upgraded = _ok(old_clinic, AFTER, "db", "upgrade")
    assert "client C-302: medication 'buprenorphin' is not in the vocabulary" in upgraded.stderr
    assert "did you mean buprenorphine" in upgraded.stderr
    assert "screening clients update C-302 --meds" in upgraded.stderr
    assert "C-301" not in upgraded.stderr  # "suboxone" is a brand of buprenorphine
    assert _medications(old_clinic) == stored  # read through the vocabulary, never rewritten
    assert "site 'main' is now recorded in the database, with time zone America/New_York" in (
        upgraded.stderr
    )
    # Roles begin here: the user who upgrades is the site's admin, and is told so.
    assert f"roles are recorded from now on: you ({ME}) are site main's admin" in upgraded.stderr
    listed = json.loads(_ok(old_clinic, AFTER, "access", "list", "--json").stdout)
    assert [(row["user"], row["role"]) for row in listed] == [(ME, "admin")]
    assert _run(old_clinic, AFTER, "results", "list").exit_code == 4  # admin only, so far
    # Witnessing starts here: a witness key, and a first checkpoint of the whole ledger,
    # saying that the history before it rests on the hash chain alone.
    hashes = _hashes(old_clinic)
    size = len(hashes)
    witness_key = old_clinic / "screening-witness.key"
    assert stat.S_IMODE(witness_key.stat().st_mode) == 0o600
    assert f"created the witness key {witness_key}" in upgraded.stderr
    assert "add a [witness] section to" in upgraded.stderr  # where checkpoints can go
    (first,) = _checkpoints(old_clinic)
    assert upgraded.stdout.splitlines()[-1] == (
        f"first checkpoint: entries 1-{size} (head {hashes[-1].hex()}) in {first}; the "
        f"history before it (entries 1-{size}) was written before witnessing and is vouched "
        "for by the hash chain only"
    )
    point = _opened(first)
    assert (point.size, point.root) == (size, root_of(hashes))
    assert len(list(first.parent.parent.glob("anchors/*.anchors"))) >= 12
    again_upgraded = _ok(old_clinic, AFTER, "db", "upgrade")  # said once
    assert "first checkpoint" not in again_upgraded.stdout
    assert "roles are recorded" not in again_upgraded.stderr
    _ok(old_clinic, AFTER, "access", "grant", ME, "staff", "clinician")
    assert len(_checkpoints(old_clinic)) == 1

    verified = _ok(old_clinic, AFTER, "audit", "verify")
    assert "ledger intact" in verified.stdout
    assert (
        f"entries 1 to {size} were written before the first checkpoint, and until it are "
        "vouched for by the hash chain only" in verified.stdout
    )
    assert "now recorded" not in verified.stdout + verified.stderr  # adopted once, above
    assert "records match the ledger: 8 clients" in verified.stdout

    # The brand name reads as its generic: C-301's buprenorphine positives are expected.
    rows = json.loads(
        _ok(old_clinic, AFTER, "results", "list", "--client", "C-301", "--json").stdout
    )
    assert rows and all(row["reading"] == "expected_positive" for row in rows)

    listed = json.loads(_ok(old_clinic, AFTER, "clients", "list", "--json").stdout)
    problems = {client["code"]: client["medication_problems"] for client in listed}
    assert problems["C-302"] and not problems["C-301"]
    _ok(old_clinic, "2026-11-23T14:05:00Z", "clients", "update", "C-302", "--meds", "buprenorphine")
    fixed = _ok(old_clinic, "2026-11-23T14:06:00Z", "clients", "list")
    assert "not in the vocabulary" not in fixed.stderr

    drawn = json.loads(_ok(old_clinic, "2026-11-23T14:10:00Z", "select", "--json").stdout)
    assert drawn["selected"]
    # The draw is witnessed, and the ledger then still holds the upgrade's checkpoint.
    hashes = _hashes(old_clinic)
    newest = _opened(_checkpoints(old_clinic)[-1])
    assert (newest.size, newest.root) == (len(hashes), root_of(hashes))
    proof = consistency_proof(hashes, point.size, newest.size)
    verify_consistency(point.size, newest.size, point.root, newest.root, proof)
    _ok(old_clinic, "2026-11-23T15:00:00Z", "results", "record", "C-304")
    again = _ok(old_clinic, "2026-11-23T20:00:00Z", "audit", "verify")
    assert "records match the ledger" in again.stdout
    # The upgraded policy (the interval floor counts from the last collection now) is a
    # change auditors see, with what changed.
    assert "flag: selection policy changed main entry" in again.stdout
    assert "interval_from" in again.stdout


def test_an_old_clinic_export_names_its_staff_only_on_purpose(old_clinic: Path) -> None:
    _ok(old_clinic, AFTER, "db", "upgrade")
    _ok(old_clinic, AFTER, "access", "grant", ME, *WORKING_ROLES)
    refused = _run(
        old_clinic,
        AFTER,
        "audit",
        "export",
        str(old_clinic / "out"),
        "--to",
        "State",
        "--purpose",
        "audit",
    )
    assert refused.exit_code == 2
    assert "--with-staff-names" in refused.stderr
    assert not (old_clinic / "out").exists()


def test_ids_an_older_database_skipped_are_listed_and_kept(old_clinic: Path) -> None:
    """An older PostgreSQL database has gaps in its ids (a rolled-back insert used up a
    sequence number): the upgrade lists them, renumbers nothing, and from then on every
    id follows on without a gap."""
    import sqlite3

    with sqlite3.connect(old_clinic / "screening.db") as connection:
        connection.execute("UPDATE holds SET id = 3 WHERE id = 1")  # as a sequence leaves it
    _ok(old_clinic, AFTER, "db", "upgrade")
    _ok(old_clinic, AFTER, "access", "grant", ME, *WORKING_ROLES)
    with sqlite3.connect(old_clinic / "screening.db") as connection:
        gaps = connection.execute("SELECT table_name, row_id FROM row_id_gaps").fetchall()
        salts = connection.execute(
            "SELECT count(*) FROM draws WHERE late_reason IS NULL AND salt != ''"
        ).fetchone()
    assert sorted(gaps) == [("holds", 1), ("holds", 2)]
    assert salts == (0,)  # a salt beside no text salted nothing: emptied
    _ok(old_clinic, AFTER, "audit", "verify")
    _ok(
        old_clinic, "2026-11-23T14:01:00Z", "clients", "hold", "C-303", "--from", "2026-12-01",
        "--to", "2026-12-02", "--reason", "travel",
    )  # fmt: skip
    with sqlite3.connect(old_clinic / "screening.db") as connection:
        assert connection.execute("SELECT max(id) FROM holds").fetchone() == (4,)
        connection.execute("UPDATE row_id_gaps SET row_id = 5 WHERE row_id = 2")
    broken = _run(old_clinic, "2026-11-23T14:02:00Z", "audit", "verify")
    assert broken.exit_code == 1
    assert "row_id_gaps row ('holds', 5) is not a gap" in broken.stderr

"""`audit verify` catches every kind of tampering, naming the first broken entry."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import Clinic


@pytest.fixture
def busy(clinic: Clinic) -> Clinic:
    """A clinic with clients, an update, a hold, a discharge and a closure."""
    for code, track in (("C-1", "morning"), ("C-2", "evening"), ("C-3", "morning")):
        clinic.ok(
            "clients",
            "add",
            code,
            "--track",
            track,
            "--phase",
            "1",
            "--admitted",
            "2026-11-02",
            "--name",
            f"Client {code}",
        )
    clinic.ok("clients", "update", "C-2", "--phase", "2")
    clinic.ok(
        "clients", "hold", "C-1", "--from", "2026-12-01", "--to", "2026-12-03", "--reason", "travel"
    )
    clinic.ok("clients", "discharge", "C-3", "--on", "2026-11-20")
    clinic.ok("close", "2026-12-25", "--reason", "holiday")
    return clinic


def _seq_of(clinic: Clinic, kind: str, nth: int = 0) -> int:
    return clinic.sql("SELECT seq FROM ledger WHERE kind = :kind ORDER BY seq", kind=kind)[nth][0]


def _fails(clinic: Clinic, *extra: str) -> str:
    result = clinic.run("audit", "verify", *extra)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stderr


def test_intact_ledger_verifies(busy: Clinic) -> None:
    result = busy.ok("audit", "verify")
    # init's 17 entries (its admin's grant last), the fixture's 3 grants, 7 of the day's
    assert "ledger intact: 27 entries" in result.stdout
    assert "3 clients, 1 hold, 1 closure" in result.stdout
    report = json.loads(busy.ok("audit", "verify", "--json").stdout)
    assert report["ok"] is True and report["entries"] == 27 and report["problem"] is None


def test_edited_client_row_is_caught(busy: Clinic) -> None:
    busy.sql("UPDATE clients SET phase = '3' WHERE code = 'C-1'")
    seq = busy.sql("SELECT ledger_seq FROM clients WHERE code = 'C-1'")[0][0]
    uid = busy.sql("SELECT uid FROM clients WHERE code = 'C-1'")[0][0]
    message = _fails(busy)
    assert (
        f"entry {seq} (client {uid})" in message and "differs from the ledger in phase" in message
    )
    assert "C-1" not in message, "verify output must not name clients by code"


def test_renamed_client_is_caught(busy: Clinic) -> None:
    busy.sql("UPDATE clients SET name = 'Someone Else' WHERE code = 'C-2'")
    message = _fails(busy)
    assert "differs from the ledger in name" in message
    assert "Someone Else" not in message


def test_edited_ledger_body_is_caught(busy: Clinic) -> None:
    busy.drop_ledger_guard()
    seq = _seq_of(busy, "hold")
    busy.sql(
        "UPDATE ledger SET canonical = replace(canonical, '2026-12-03', '2026-12-02') "
        "WHERE seq = :seq",
        seq=seq,
    )
    assert f"entry {seq}: its contents do not match its hash" in _fails(busy)


def test_rehashed_ledger_body_breaks_the_next_link(busy: Clinic) -> None:
    """Recomputing the edited entry's hash moves the break to the following entry."""
    from screening.core.canonical import sha256_hex

    busy.drop_ledger_guard()
    seq = _seq_of(busy, "hold")
    (text,) = busy.sql("SELECT canonical FROM ledger WHERE seq = :seq", seq=seq)[0]
    forged = text.replace("2026-12-03", "2026-12-02")
    busy.sql(
        "UPDATE ledger SET canonical = :c, hash = :h WHERE seq = :seq",
        c=forged,
        h=sha256_hex(forged.encode()),
        seq=seq,
    )
    assert f"entry {seq + 1}: its link to the previous entry is wrong" in _fails(busy)


def test_deleted_ledger_row_is_caught(busy: Clinic) -> None:
    busy.drop_ledger_guard()
    seq = _seq_of(busy, "client", 1)  # C-2's enrolment: its row now names the update
    busy.sql("DELETE FROM ledger WHERE seq = :seq", seq=seq)
    assert f"entry {seq}: entries {seq} to {seq} are missing" in _fails(busy)


def test_swapped_ledger_rows_are_caught(busy: Clinic) -> None:
    busy.drop_ledger_guard()
    a, b = _seq_of(busy, "client", 0), _seq_of(busy, "client", 1)
    (text_a, hash_a), (text_b, hash_b) = (
        busy.sql("SELECT canonical, hash FROM ledger WHERE seq = :s", s=s)[0] for s in (a, b)
    )
    busy.sql("UPDATE ledger SET hash = :h WHERE seq = :s", h="0" * 64, s=a)
    busy.sql("UPDATE ledger SET canonical = :c, hash = :h WHERE seq = :s", c=text_a, h=hash_a, s=b)
    busy.sql("UPDATE ledger SET canonical = :c, hash = :h WHERE seq = :s", c=text_b, h=hash_b, s=a)
    assert f"entry {a}: it is stored as entry {a} but says it is entry {b}" in _fails(busy)


def test_deleted_tail_needs_a_checkpoint(busy: Clinic) -> None:
    """A hash chain cannot show a removed tail; a checkpoint kept elsewhere can: the one
    `audit checkpoint` sent to the witness folder, or its SEQ:HASH kept by hand."""
    kept = busy.ok("audit", "checkpoint").stdout.strip()
    seq = int(kept.split(":")[0])
    busy.ok("audit", "verify", "--checkpoint", kept)
    busy.drop_ledger_guard()
    busy.sql("DELETE FROM closures")  # the tail entry records the closure
    busy.sql("DELETE FROM ledger WHERE seq = :seq", seq=seq)
    witnessed = _fails(busy)
    assert f"the ledger ends at entry {seq - 1}, but the checkpoint" in witnessed
    assert "entries were removed" in witnessed
    # With the witness folder gone too, the chain alone cannot tell: only SEQ:HASH can.
    shutil.rmtree(busy.folder / "screening-witness")
    assert busy.run("audit", "verify").exit_code == 0, "without a checkpoint this is undetectable"
    message = _fails(busy, "--checkpoint", kept)
    assert f"the ledger ends at entry {seq - 1} but the checkpoint names entry {seq}" in message


def test_rewritten_history_fails_the_checkpoint(busy: Clinic) -> None:
    kept = busy.ok("audit", "checkpoint").stdout.strip()
    seq, digest = kept.split(":")
    wrong = f"{seq}:{'f' * 64}"
    message = _fails(busy, "--checkpoint", wrong)
    assert f"entry {seq} does not match the checkpoint" in message
    bad = busy.run("audit", "verify", "--checkpoint", "banana")
    assert bad.exit_code == 2 and "SEQ:HASH" in bad.stderr
    assert len(digest) == 64


def test_deleted_client_row_is_caught(busy: Clinic) -> None:
    uid = busy.sql("SELECT uid FROM clients WHERE code = 'C-2'")[0][0]
    busy.sql("DELETE FROM clients WHERE code = 'C-2'")
    assert f"(client {uid}): the ledger records this client but the database row is gone" in _fails(
        busy
    )


def test_client_row_without_ledger_entry_is_caught(busy: Clinic) -> None:
    busy.sql(
        "INSERT INTO clients (id, uid, site, code, salt, track, phase, status, admitted_on, "
        "medications, ledger_seq) VALUES (4, '11111111-2222-4333-8444-555555555555', 'main', "
        "'C-9', 'aa', 'morning', '1', 'active', '2026-11-01', '[]', 1)"
    )
    assert (
        "client 11111111-2222-4333-8444-555555555555 has a row in the database but no ledger entry"
        in _fails(busy)
    )


def test_edited_hold_and_closure_rows_are_caught(busy: Clinic) -> None:
    busy.sql("UPDATE holds SET ends_on = '2026-12-10'")
    hold_seq = _seq_of(busy, "hold")
    assert f"entry {hold_seq} (hold): the database row differs from the ledger in to" in _fails(
        busy
    )
    busy.sql("UPDATE holds SET ends_on = '2026-12-03'")
    busy.ok("audit", "verify")
    busy.sql("UPDATE closures SET reason = 'snow'")
    assert "(closure): the database row differs from the ledger in reason" in _fails(busy)
    busy.sql("UPDATE closures SET reason = 'holiday'")
    busy.sql("DELETE FROM holds")
    assert "the ledger records a hold whose database row is gone" in _fails(busy)


def test_json_report_names_the_broken_entry(busy: Clinic) -> None:
    busy.sql("UPDATE clients SET track = 'evening' WHERE code = 'C-1'")
    result = busy.run("audit", "verify", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert (
        report["problem_seq"] == busy.sql("SELECT ledger_seq FROM clients WHERE code = 'C-1'")[0][0]
    )

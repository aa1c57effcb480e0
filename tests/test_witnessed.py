"""`audit verify` against the witness folders: a ledger rewritten with its whole chain
recomputed, cut short, or drawn again is caught by the checkpoints kept outside the
database, without any checkpoint given by hand (issue 14)."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from freezegun import freeze_time

from screening.core.checkpoint import Anchor, anchors_text, sign
from screening.core.merkle import consistency_proof, root_of, verify_consistency
from screening.core.witnessing import Follower
from tests.conftest import Clinic, Inits, forge, write_csv
from tests.witness_notes import log_folder, origin, publish, witness_key

WHEN = "2026-11-03T09:00:00Z"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _clinic(backend: str, tmp_path: Path, inits: Inits) -> Clinic:
    """Two clients drawn on Monday 2026-11-02 (every client every day), one positive for
    EtG; a checkpoint witnessed at init, after the draw (both by the program itself) and
    after the result (`audit checkpoint` by hand)."""
    clinic = Clinic(tmp_path, backend)
    inits.prepare(clinic, "test_witnessed: a witnessed clinic", _witnessed_clinic)
    return clinic


def _witnessed_clinic(clinic: Clinic) -> None:
    with freeze_time("2026-11-02T12:00:00Z"):
        clinic.ok("init", "--site", "main", "--timezone", "America/New_York")
        config = clinic.folder / "screening.toml"
        text = config.read_text().replace('days = "meeting"', 'days = "calendar"')
        config.write_text(text.replace("tests_per_week = 2", 'daily_probability = "1/1"', 1))
        rows = ["C-1,Ada Example,morning,1,2026-11-01,", "C-2,Bo Example,evening,1,2026-11-01,"]
        clinic.ok("clients", "import", str(write_csv(clinic.folder / "c.csv", rows)))
    with freeze_time("2026-11-02T13:00:00Z"):
        clinic.ok("select")
    with freeze_time("2026-11-02T15:00:00Z"):
        clinic.ok("results", "record", "C-1", "--positive", "ETG")
        clinic.ok("audit", "checkpoint")


def _verify(clinic: Clinic, *args: str, when: str = WHEN):  # type: ignore[no-untyped-def]
    with freeze_time(when):
        result = clinic.run("audit", "verify", *args)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _fails(clinic: Clinic, *args: str) -> str:
    result = _verify(clinic, *args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    return result.stderr


def _checkpoints(clinic: Clinic) -> list[Path]:
    return sorted((log_folder(clinic) / "checkpoints").iterdir())


@pytest.fixture
def witnessed(backend: str, tmp_path: Path, inits: Inits) -> Clinic:
    return _clinic(backend, tmp_path, inits)


def test_witnessed_checkpoints_hold_and_a_changed_or_foreign_note_fails(
    witnessed: Clinic, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clinic = witnessed
    first, drawn, result = _checkpoints(clinic)
    with freeze_time("2026-11-02T16:00:00Z"):
        clinic.ok("clients", "add", "C-3", "--track", "morning", "--phase", "1",
                  "--admitted", "2026-11-02")  # fmt: skip
    done = _verify(clinic)
    assert done.exit_code == 0, done.stderr
    size = int(result.name[:12])
    entries = clinic.sql("SELECT count(*) FROM ledger")[0][0]
    assert (
        f"witnessed: 3 checkpoints in 1 folder hold; the newest, of {size} entries, was made "
        f"18 hours ago (2026-11-02 10:00 EST); the head is consistent with it ({entries} "
        "entries)" in done.stdout
    )
    anchors = clinic.sql("SELECT count(*) FROM ledger WHERE kind = 'commitment'")[0][0]
    assert f"witnessed anchors match the ledger's commitments: {anchors}" in done.stdout
    start = int(first.name[:12])
    # The first checkpoint was made with the entries it holds (as `init` does): nothing
    # was written before witnessing.
    assert "written before the first checkpoint" not in done.stdout
    assert "warning: the only witness is the folder" in done.stderr
    assert "add a folder on another disk or share to [witness] folders" in done.stderr
    report = json.loads(_verify(clinic, "--json").stdout)["witness"]
    assert report["checkpoints"] == 3 and report["witnessed_from"] == start
    assert report["before_witnessing"] is False
    assert report["newest"]["file"] == str(result) and report["newest"]["size"] == size
    proof = [base64.b64decode(node) for node in report["consistency"]["proof"]]
    hashes = [bytes.fromhex(h) for (h,) in clinic.sql("SELECT hash FROM ledger ORDER BY seq")]
    verify_consistency(size, entries, root_of(hashes[:size]), root_of(hashes), proof)

    # A checkpoint kept by hand, as a file; changed, it fails.
    assert _verify(clinic, "--checkpoint", str(drawn)).exit_code == 0
    kept = tmp_path / "kept.checkpoint"
    kept.write_text(drawn.read_text().replace("time 2026-11-02T13", "time 2026-11-02T11"))
    assert f"the checkpoint file {kept} cannot be trusted: its signature" in _fails(
        clinic, "--checkpoint", str(kept)
    )
    missing = _verify(clinic, "--checkpoint", str(tmp_path / "nowhere.checkpoint"))
    assert missing.exit_code == 2 and "neither SEQ:HASH" in missing.stderr
    # Past max_age_days (2), a warning; not a failure.
    late = _verify(clinic, when="2026-11-05T16:00:00Z")
    assert late.exit_code == 0
    assert "warning: the newest witnessed checkpoint was made 3 days ago" in late.stderr
    # A second witness on another disk: read too; one that is not mounted is named.
    other, absent = tmp_path / "share", tmp_path / "unmounted"
    publish(clinic, other, at=_at("2026-11-02T17:00:00Z"))
    with monkeypatch.context() as patch:
        patch.setattr(
            "screening.services.witness.read.configured", lambda settings: ([other, absent], 2)
        )
        both = _verify(clinic)
        assert both.exit_code == 0 and "4 checkpoints in 2 folders hold" in both.stdout
        assert "the only witness" not in both.stderr
        assert f"warning: the witness folder {absent} is not there" in both.stderr

    # Without the witness key the notes cannot be checked: said, not a failure.
    key = clinic.folder / "screening-witness.key"
    key.rename(key.with_suffix(".away"))
    keyless = _verify(clinic)
    assert keyless.exit_code == 0 and "witnessed:" not in keyless.stdout
    assert f"warning: the key file {key} is missing" in keyless.stderr
    assert "the witnessed checkpoints and anchors were not checked without it" in keyless.stderr
    key.with_suffix(".away").rename(key)

    # A witnessed note with a changed byte, or signed by another key: named, and a failure.
    original = drawn.read_text()
    drawn.write_text(original.replace("time 2026-11-02T13", "time 2026-11-02T14"))
    assert (
        f"the witnessed note {drawn} cannot be trusted: its signature by this installation's "
        "witness key does not verify" in _fails(clinic)
    )
    drawn.write_text(original)
    forged = publish(clinic, at=_at("2026-11-02T18:00:00Z"), key=Ed25519PrivateKey.generate())
    assert (
        f"the witnessed note {forged} cannot be trusted: it is not signed by this "
        "installation's witness key" in _fails(clinic)
    )
    forged.unlink()
    # A commitment witnessed with another anchor than the ledger holds.
    seq, text = clinic.sql(
        "SELECT seq, canonical FROM ledger WHERE kind = 'commitment' ORDER BY seq"
    )[0]
    body = json.loads(text)["body"]
    note = log_folder(clinic) / "anchors" / f"main-{body['period']}.anchors"
    kept, name = note.read_text(), origin(clinic)
    wrong = Anchor("main", body["period"], body["length"], "ab" * 32, seq)
    note.write_text(sign(anchors_text(name, [wrong]), name, witness_key(clinic)))
    assert (
        f"entry {seq}: the commitment of site main for {body['period']} differs from the "
        f"one witnessed in {note}" in _fails(clinic)
    )
    note.write_text(kept)
    # The ledger replaced from its first entry on (a forged history): it is another log.
    witnessed_log = log_folder(clinic)
    forge(clinic, 1, lambda entry: entry["body"].update(installation="forged"))
    message = _fails(clinic)
    assert f"{witnessed_log} holds checkpoints signed by this installation's witness key" in message
    assert "the ledger was replaced, from its first entry on" in message


def test_a_rewrite_and_a_reroll_fail_against_the_witnessed_checkpoints(witnessed: Clinic) -> None:
    """A positive turned negative, its digest and every later hash recomputed: the chain
    looks intact, the checkpoint witnessed after the result does not. Then the re-roll:
    the day's draw and what followed cut off the tail, a hold added, the day drawn again."""
    from sqlmodel import Session

    from screening.services.audit.contents import version_states
    from screening.services.audit.unread import Unread

    clinic = witnessed
    _, drawn, result = _checkpoints(clinic)
    clinic.sql("UPDATE analyte_results SET outcome = 'negative' WHERE code = 'ETG'")
    seq = clinic.sql("SELECT seq FROM ledger WHERE kind = 'result'")[0][0]
    engine = clinic.engine()
    with Session(engine) as session:
        digest = next(
            state["content"] for s, _, state in version_states(session, Unread(session)) if s == seq
        )
    engine.dispose()
    forge(clinic, seq, lambda entry: entry["body"].update(content=digest))
    after = int(drawn.name[:12])
    assert (
        f"the ledger does not match the checkpoint witnessed in {result} ("
        f"{int(result.name[:12])} entries, made 2026-11-02T15:00:00Z): entries {after + 1} to "
        f"{int(result.name[:12])} were changed after they were witnessed (the checkpoint "
        f"before it, {drawn} ({after} entries, made 2026-11-02T13:00:00Z), holds)" in _fails(clinic)
    )

    draw = clinic.sql("SELECT seq FROM ledger WHERE kind = 'draw'")[0][0]  # guard dropped
    for table in ("analyte_results", "result_versions", "results", "screenings", "draws"):
        clinic.sql(f"DELETE FROM {table}")
    clinic.sql("DELETE FROM ledger WHERE seq >= :s", s=draw)
    cut = _fails(clinic)
    assert f"the ledger ends at entry {draw - 1}, but the checkpoint witnessed in {drawn}" in cut
    assert "entries were removed" in cut
    with freeze_time("2026-11-02T16:00:00Z"):
        clinic.ok("clients", "hold", "C-1", "--from", "2026-11-02", "--to", "2026-11-03",
                  "--reason", "travel")  # fmt: skip
        clinic.ok("select")
    assert f"the checkpoint witnessed in {drawn}" in _fails(clinic)


def test_a_result_entrys_own_fields_rewritten_with_the_chain_are_named(
    witnessed: Clinic,
) -> None:
    """Beside its content digest, a result entry states when the specimen was collected,
    how it was tested and what it was: each rewritten (every later hash recomputed, no
    checkpoint since) is named by verify against the database's row."""
    clinic = witnessed
    # No witness at all: the database's own rows must show the rewrite.
    shutil.rmtree(clinic.folder / "screening-witness")
    seq = clinic.sql("SELECT seq FROM ledger WHERE kind = 'result'")[0][0]
    was: dict[str, object] = {}
    for field, value, says in (
        ("collected_at", "2026-11-03T23:00:01Z", "differs from the ledger in collected"),
        ("method", "lab", "differs from the ledger in collected, method, specimen"),
        ("specimen_type", "hair", "differs from the ledger in collected, method, specimen"),
        ("action", "amend", "a result entry's action is 'amend'"),
    ):

        def edit(document: dict, f: str = field, v: str = value) -> None:  # type: ignore[type-arg]
            was[f] = document["body"][f]
            document["body"][f] = v

        forge(clinic, seq, edit)
        assert f"entry {seq}" in _fails(clinic) and says in _fails(clinic), field
        forge(clinic, seq, lambda document, f=field: document["body"].update({f: was[f]}))
        assert _verify(clinic).exit_code == 0, field


def test_an_emptied_database_fails_against_the_witnessed_checkpoints(witnessed: Clinic) -> None:
    """Every row of every table deleted: no entry is left to compare, but the witness
    folder still holds checkpoints this installation's key signed."""
    from screening.db.models import SQLModel

    clinic = witnessed
    clinic.drop_ledger_guard()
    tables = [table.name for table in SQLModel.metadata.sorted_tables]
    if clinic.is_sqlite:
        for name in reversed(tables):
            clinic.sql(f"DELETE FROM {name}")
    else:
        clinic.sql(f"TRUNCATE {', '.join(tables)} CASCADE")
    assert clinic.sql("SELECT count(*) FROM ledger")[0][0] == 0
    message = _fails(clinic)
    assert "error: ledger check failed: the ledger holds no entry, but" in message
    assert "the ledger was emptied" in message


def test_the_proof_to_the_head_is_rfc6962s() -> None:
    """The walk's consistency proof, from what it keeps, is the one RFC 6962 defines."""
    for n in range(1, 34):
        hashes = [hashlib.sha256(bytes([i])).digest() for i in range(n)]
        for m in range(1, n + 1):
            follower = Follower({m})
            for entry in hashes:
                follower.take(entry.hex(), "draw", "main", {})
            assert follower.proof() == consistency_proof(hashes, m, n), (m, n)


def test_the_configured_witness_folders_are_read_from_the_config(tmp_path: Path) -> None:
    from screening.config import load
    from screening.services.witness.read import configured

    config = tmp_path / "screening.toml"
    text = (Path(__file__).parent.parent / "screening/data/config.example.toml").read_text()
    text = text.replace("folders = []", 'folders = ["/mnt/auditor", "share"]')
    config.write_text(text.replace("max_age_days = 2", "max_age_days = 5"))
    assert configured(load(config)) == ([Path("/mnt/auditor"), tmp_path / "share"], 5)

"""`audit verify --from-checkpoint` (issue 21): a full verify writes a checkpoint, a later
verify reads only what was appended since, agrees with a full verify, catches a tamper
of what came after the checkpoint, and leaves what came before it to the full verify."""

from __future__ import annotations

import hashlib
import json
import pickle
import stat
from pathlib import Path
from typing import Any

import pytest

from screening.core.replay import saved
from tests.conftest import Inits
from tests.scenarios.conftest import Story, _scenario_phases

# The PostgreSQL case is the agreement of the two verifies; the rest is the same code.
ON_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

FIRST_DAY = (
    ("2026-11-02 06:40", "clients", "hold", "C-4", "--from", "2026-11-04", "--to", "2026-11-10",
     "--reason", "travel"),
    ("2026-11-02 06:48", "close", "2026-11-13", "--reason", "storm"),
    ("2026-11-02 07:00", "select"),
)  # fmt: skip


def _first_day(story: Story) -> None:
    story.ok("2026-11-01 09:00", "init", "--site", "main", "--timezone", "America/New_York")
    story.edit_config(_scenario_phases)
    story.enrol(
        "2026-11-02 06:30",
        "C-1,Ann Example,morning,1,2026-11-02,buprenorphine",
        "C-2,Bo Example,morning,1,2026-11-02,",
        "C-3,Cy Example,evening,1,2026-11-02,",
        "C-4,Di Example,morning,1,2026-11-02,",
        "C-5,Ed Example,evening,1,2026-11-02,",
    )
    for local, *args in FIRST_DAY:
        story.ok(local, *args)
    for code in ("C-1", "C-2", "C-3", "C-5"):  # those drawn: a result, else a no-show
        outcome = story.run("2026-11-02 10:00", "results", "record", code, "--negative", "THC")
        if outcome.exit_code != 0:
            story.ok("2026-11-02 10:01", "results", "for-cause", code, "--reason", "walk-in")


def _more_days(story: Story) -> None:
    """What comes after the checkpoint: a hold ended, a closure withdrawn, a discharge,
    a consent, two more days drawn (the first day's key revealed), results and an
    amendment of a result recorded before the checkpoint."""
    story.ok("2026-11-03 06:40", "clients", "hold-end", "C-4", "--hold", "1", "--to",
             "2026-11-05", "--reason", "back early")  # fmt: skip
    story.ok("2026-11-03 06:45", "close", "2026-11-13", "--withdraw", "--reason", "open")
    story.enrol("2026-11-03 06:50", "C-6,Fay Example,morning,1,2026-11-03,")
    story.ok("2026-11-03 07:00", "select")
    story.ok("2026-11-03 08:00", "clients", "update", "C-3", "--phase", "2")
    story.ok(
        "2026-11-03 09:30", "consent", "add", "C-1", "--type", "named", "--recipient",
        "Dana Example", "--purpose", "family_involvement", "--share", "attendance",
        "--expires", "end-of-treatment", "--signed", "2026-11-03", "--signed-by", "client",
        "--how-to-revoke", "tell any staff member",
    )  # fmt: skip
    specimen = story.clinic.sql("SELECT id FROM results ORDER BY id")[0][0]
    story.ok("2026-11-03 10:00", "results", "amend", str(specimen), "--reason", "lab_report",
             "--lab-report", "L-1", "--positive", "THC")  # fmt: skip
    story.ok("2026-11-04 07:00", "select")
    story.ok("2026-11-04 09:00", "clients", "discharge", "C-2", "--reason", "completed")


@pytest.fixture
def checkpointed(backend: str, tmp_path: Path, inits: Inits) -> tuple[Story, Path, int]:
    """A clinic verified in full with a checkpoint written after its first day; then
    more days."""
    from tests.conftest import Clinic

    story = Story(Clinic(tmp_path, backend))
    inits.prepare(story.clinic, ("incremental first day",), lambda made: _first_day(Story(made)))
    file = tmp_path / "verified" / "checkpoint"
    file.parent.mkdir()
    out = _verify(story, "--write-checkpoint", str(file))
    assert out.exit_code == 0 and f"checkpoint written: {file}" in out.stdout
    at = story.ledger_size()
    _more_days(story)
    return story, file, at


def _verify(story: Story, *extra: str) -> Any:
    """`audit verify` on the real clock (a frozen one makes dates of freezegun's own
    class, which a saved state refuses to build)."""
    return story.clinic.run("audit", "verify", *extra)


def _report(story: Story, *extra: str) -> dict[str, Any]:
    result = _verify(story, "--json", *extra)
    assert result.exit_code in (0, 1) and "Traceback" not in result.stderr, result.stderr
    assert result.stdout, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_incremental_agrees_with_the_full_verify(checkpointed: tuple[Story, Path, int]) -> None:
    story, file, at = checkpointed
    full = _report(story)
    incremental = _report(story, "--from-checkpoint", str(file))
    assert full["ok"] and incremental["ok"], (full["problem"], incremental["problem"])
    assert story.ledger_size() > at + 10
    since = incremental.pop("from_checkpoint")
    assert (since["first"], since["last"]) == (at + 1, story.ledger_size())
    # The rows the new entries made or changed, not every row (a draw's other
    # screenings come with it).
    assert since["rows_compared"] > 0
    assert full.pop("from_checkpoint") is None
    assert incremental == full  # the same verdict, head, counts, replays, flags, witnesses
    text = _verify(story, "--from-checkpoint", str(file)).stdout
    # It claims what it read, never the whole ledger.
    assert f"ledger intact from entry {at + 1} to {story.ledger_size()} (" in text
    assert f"entries up to {at} verified on " in text and f"not re-read: checkpoint {file}" in text
    assert "records made or changed since the checkpoint match the ledger: " in text
    assert "ledger intact:" not in text and "\nrecords match the ledger" not in text
    assert since["read"].startswith(f"entries {at + 1}..{story.ledger_size()} and the rows")
    assert since["not_read"].startswith(f"entries 1..{at} and every other row")
    # A day with nothing written since: the report says so, it does not count backwards.
    latest = file.parent / "latest"
    chained = _verify(story, "--from-checkpoint", str(file), "--write-checkpoint", str(latest))
    assert chained.exit_code == 0, chained.stderr
    idle = _report(story, "--from-checkpoint", str(latest))["from_checkpoint"]
    assert idle["read"] == "no entry: none was written after the checkpoint"
    assert idle["rows_compared"] == 0


@ON_SQLITE
def test_a_tamper_after_the_checkpoint_is_caught(checkpointed: tuple[Story, Path, int]) -> None:
    story, file, at = checkpointed
    # Each kind of row the new entries made or changed, edited and put back: a hold
    # entered before the checkpoint and ended after it, a client updated after it, a
    # screening drawn after it, a result amended after it, an entry appended after it.
    for table, column, value, where, named in (
        ("holds", "ended_on", "'2026-11-06'", "1 = 1", "hold"),
        ("clients", "phase", "'3'", "code = 'C-3'", "differs from the ledger in phase"),
        ("screenings", "status", "'excused'", f"created_seq > {at}", "screening"),
        ("results", "method", "'lab'", "id = 1", "result"),
        # A row's own checks, on the new rows: a link to nothing, a value of another type.
        ("screenings", "client_id", "9999", "id = (SELECT max(id) FROM screenings)", "not exist"),
        ("draws", "drawn_at", "'noon'", "id = (SELECT max(id) FROM draws)", "is not a time"),
    ):
        before = story.clinic.sql(f"SELECT id, {column} FROM {table} WHERE {where}")
        story.clinic.sql(f"UPDATE {table} SET {column} = {value} WHERE {where}")
        incremental = _report(story, "--from-checkpoint", str(file))
        assert not incremental["ok"] and named in incremental["problem"], (table, incremental)
        if table == "clients":  # worded as the full verify words it
            assert incremental["problem"] == _report(story)["problem"]
            assert incremental["problem"].startswith("entry ")
        for row_id, old in before:
            story.clinic.sql(f"UPDATE {table} SET {column} = :v WHERE id = :i", v=old, i=row_id)
    assert _report(story, "--from-checkpoint", str(file))["ok"]
    # A row the new entries touched, made to look older and unreadable: named, no traceback.
    kept = story.clinic.sql("SELECT collected_at, ledger_seq FROM results WHERE id = 1")[0]
    story.clinic.sql(
        "UPDATE results SET collected_at = 'garbage', ledger_seq = created_seq WHERE id = 1"
    )
    incremental = _report(story, "--from-checkpoint", str(file))
    assert not incremental["ok"] and "results row cannot be read" in incremental["problem"]
    story.clinic.sql("UPDATE results SET collected_at = :c, ledger_seq = :s WHERE id = 1",
                     c=kept[0], s=kept[1])  # fmt: skip
    story.clinic.drop_ledger_guard()
    story.clinic.sql(
        "UPDATE ledger SET canonical = replace(canonical, '2026-11-05', '2026-11-06') "
        "WHERE kind = 'hold'"
    )
    incremental = _report(story, "--from-checkpoint", str(file))
    assert not incremental["ok"] and incremental["problem_seq"] > at


@ON_SQLITE
def test_a_tamper_before_the_checkpoint_is_left_to_the_full_verify(
    checkpointed: tuple[Story, Path, int],
) -> None:
    story, file, at = checkpointed
    # C-5's row was written before the checkpoint and no later entry touches it.
    story.clinic.sql("UPDATE clients SET track = 'morning' WHERE code = 'C-5'")
    assert _report(story, "--from-checkpoint", str(file))["ok"]
    full = _report(story)
    assert not full["ok"] and "differs from the ledger in track" in full["problem"]


@ON_SQLITE
def test_a_history_changed_before_the_checkpoint_fails(
    checkpointed: tuple[Story, Path, int],
) -> None:
    story, file, at = checkpointed
    story.clinic.drop_ledger_guard()
    story.clinic.sql("DELETE FROM ledger WHERE seq > :s", s=at - 1)
    result = _verify(story, "--from-checkpoint", str(file))
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "the history up to the checkpoint has changed (run a full `audit verify` to see " in (
        result.stderr
    )


@ON_SQLITE
def test_refused_checkpoints(checkpointed: tuple[Story, Path, int], tmp_path: Path) -> None:
    story, file, at = checkpointed
    state = _state_of(file)
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    data = state.read_bytes()
    for name in (b"Ann Example", b"C-1", b"Dana Example", b"staff1"):
        assert name not in data, name  # uids, digests and dates only

    def refused(path: Path, words: str) -> None:
        result = _verify(story, "--from-checkpoint", str(path))
        assert result.exit_code == 2, (result.stdout, result.stderr)
        assert words in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1

    refused(tmp_path / "nowhere", "no checkpoint file")
    other = tmp_path / "other"  # the same state, for a ledger whose first entry differs
    _rewrite(file, other, "ledger", "0" * 64)
    (tmp_path / state.name).write_bytes(data)
    refused(other, "written for another ledger: it belongs to another clinic's ledger")
    _rewrite(file, other, "site", "elsewhere")
    refused(other, 'by the verify of site "elsewhere", not of site "main": run it with')
    other.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    refused(other, f"{other} is not a verify checkpoint: run a full `audit verify")
    (tmp_path / "old").write_text("screening verify checkpoint 0\n")
    refused(tmp_path / "old", "not a checkpoint of this version")
    state.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    refused(file, "its SHA-256 differs")
    state.write_bytes(b"garbage, not a verify state" * 40)  # and its SHA-256 named
    _rewrite(file, file, "state-sha256", hashlib.sha256(state.read_bytes()).hexdigest())
    refused(file, f"the state file {state} is damaged (not a verify state): run a full")
    state.unlink()
    refused(file, "is gone (a checkpoint's state must stay beside it under that name)")


def _state_of(file: Path) -> Path:
    """The state file a checkpoint names, beside it."""
    return file.with_name(file.read_text().split("\nstate ")[1].split()[0])


def _rewrite(file: Path, to: Path, field: str, value: str, check: bool = True) -> None:
    """``file`` with ``field`` set to ``value``, written to ``to``; its check line made
    to match unless ``check`` is False (a hand edit)."""
    lines = [
        f"{field} {value}" if line.startswith(f"{field} ") else line
        for line in file.read_text().splitlines()
        if not line.startswith("check ")
    ]
    body = "\n".join(lines) + "\n"
    kept = file.read_text().split("\ncheck ")[1]
    to.write_text(body + "check " + (hashlib.sha256(body.encode()).hexdigest() if check else kept))


def test_the_saved_state_builds_no_other_class() -> None:
    class Sneaky:
        def __reduce__(self) -> Any:
            return (print, ("pwned",))

    with pytest.raises(saved.Refused, match="builtins.print"):
        saved.loads(pickle.dumps({"a": Sneaky()}))
    with pytest.raises(saved.Refused, match="cannot be read"):
        saved.loads(b"not a pickle")
    from zoneinfo import ZoneInfo

    assert saved.loads(saved.dumps({"zone": ZoneInfo("America/New_York")}))["zone"].key == (
        "America/New_York"
    )


@ON_SQLITE
def test_a_day_after_a_checkpoint_costs_the_day(checkpointed: tuple[Story, Path, int]) -> None:
    """An incremental verify may write the next checkpoint; the one after it reads the
    one entry appended since and the one row it changed, however long the ledger."""
    story, file, at = checkpointed
    daily = file.with_name("daily")
    assert (
        _verify(story, "--from-checkpoint", str(file), "--write-checkpoint", str(daily)).exit_code
        == 0
    )
    assert f"full {file.read_text().split('full ')[1].split()[0]}" in daily.read_text()
    size = story.ledger_size()
    story.ok("2026-11-04 09:30", "clients", "update", "C-1", "--phase", "2")
    assert story.ledger_size() == size + 1
    incremental = _report(story, "--from-checkpoint", str(daily))
    assert incremental["ok"], incremental["problem"]
    since = incremental["from_checkpoint"]
    assert (since["first"], since["last"], since["rows_compared"]) == (size + 1, size + 1, 1)
    full = _report(story)
    assert {k: v for k, v in incremental.items() if k != "from_checkpoint"} == {
        k: v for k, v in full.items() if k != "from_checkpoint"
    }


@ON_SQLITE
def test_a_rich_history_agrees(backend: str, tmp_path: Path, inits: Inits) -> None:
    """test_tamper's few days (consents and a disclosure, a late draw, a reversal, a
    recollection, a time zone change ...) verified into a checkpoint; then another day."""
    from tests.conftest import Clinic
    from tests.test_tamper import _live_a_few_days

    story = Story(Clinic(tmp_path, backend))
    inits.prepare(story.clinic, ("tamper's few days",), lambda made: _live_a_few_days(Story(made)))
    file = tmp_path / "checkpoint"
    assert _verify(story, "--write-checkpoint", str(file)).exit_code == 0
    at = story.ledger_size()
    story.ok("2026-11-06 07:00", "select")
    story.ok("2026-11-06 07:10", "consent", "restrict", "C-1", "--note", "asked")
    story.ok("2026-11-06 07:20", "clients", "discharge", "C-4", "--reason", "completed")
    story.ok("2026-11-06 07:30", "close", "2026-11-20", "--reason", "holiday")
    drawn = story.clinic.sql(
        "SELECT code FROM clients JOIN screenings ON screenings.client_id = clients.id "
        "WHERE screenings.status = 'pending' ORDER BY code"
    )
    assert drawn, "the day drew nobody"
    for (code,) in drawn[:2]:
        story.ok(
            "2026-11-06 09:00",
            "results",
            "record",
            code,
            "--negative",
            "THC",
            "--not-tested",
            "BUP,NORBUP",
        )
    assert story.ledger_size() > at + 4
    full = _report(story)
    incremental = _report(story, "--from-checkpoint", str(file))
    assert full["ok"] and incremental["ok"], (full["problem"], incremental["problem"])
    assert incremental.pop("from_checkpoint")["first"] == at + 1
    full.pop("from_checkpoint")
    assert incremental == full


def _folder(file: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(file.parent.iterdir())}


@ON_SQLITE
def test_a_checkpoint_is_written_over_nothing_but_a_checkpoint(
    checkpointed: tuple[Story, Path, int], tmp_path: Path
) -> None:
    story, file, at = checkpointed
    report = tmp_path / "report.txt"
    report.write_text("a report the user keeps\n")
    clinics = [tmp_path / "screening.db", *tmp_path.glob("*.key"), *tmp_path.glob("*.toml")]
    assert len(clinics) >= 3 and all(path.is_file() for path in clinics)
    state = _state_of(file)
    for target, since, words in [
        *((path, (), "would destroy it") for path in clinics),
        (report, (), "exists and is not a verify checkpoint"),
        (state, ("--from-checkpoint", str(file)), "is the state file of the checkpoint"),
    ]:
        before = target.read_bytes()
        result = _verify(story, *since, "--write-checkpoint", str(target))
        assert result.exit_code == 2 and words in result.stderr, (target, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert target.read_bytes() == before
    # The daily run writes over its own checkpoint: a state of its own, the old one gone.
    result = _verify(story, "--from-checkpoint", str(file), "--write-checkpoint", str(file))
    assert result.exit_code == 0, result.stderr
    assert not state.exists() and sorted(_folder(file)) == ["checkpoint", _state_of(file).name]
    assert _report(story, "--from-checkpoint", str(file))["ok"]


@ON_SQLITE
@pytest.mark.parametrize("fails", ["the state", "the commit", "a full disk"])
def test_a_failed_write_leaves_the_old_checkpoint(
    checkpointed: tuple[Story, Path, int], monkeypatch: pytest.MonkeyPatch, fails: str
) -> None:
    """Interrupted (Ctrl-C) as the state is saved, or as the checkpoint is moved into
    place, or failing there: the old pair is left whole and nothing else (no temporary);
    the chain goes on from it."""
    import errno
    import os

    story, file, at = checkpointed
    before = _folder(file)
    replace = os.replace

    def interrupted(source: Any, target: Any) -> None:
        if fails == "the state" and str(source).endswith(".partial"):  # the state saved
            raise KeyboardInterrupt
        if fails == "the commit" and Path(target) == file:
            raise KeyboardInterrupt
        if fails == "a full disk" and Path(target) == file:
            raise OSError(errno.ENOSPC, "No space left on device")
        replace(source, target)

    monkeypatch.setattr(os, "replace", interrupted)
    result = _verify(story, "--from-checkpoint", str(file), "--write-checkpoint", str(file))
    monkeypatch.setattr(os, "replace", replace)
    assert result.exit_code != 0 and "Traceback" not in result.stderr
    if fails == "a full disk":
        assert result.exit_code == 3 and f"in the folder {file.parent} (" in result.stderr
        assert "choose another folder for --write-checkpoint" in result.stderr
    assert _folder(file) == before
    assert _report(story, "--from-checkpoint", str(file))["ok"]


@ON_SQLITE
def test_an_edited_or_moved_checkpoint(
    checkpointed: tuple[Story, Path, int], tmp_path: Path
) -> None:
    story, file, at = checkpointed
    # Moved with its state to another folder, then renamed: still the same checkpoint.
    moved = tmp_path / "moved"
    moved.mkdir()
    (moved / _state_of(file).name).write_bytes(_state_of(file).read_bytes())
    (moved / "renamed").write_bytes(file.read_bytes())
    assert _report(story, "--from-checkpoint", str(moved / "renamed"))["ok"]
    # A head edited by hand is a damaged checkpoint (exit 2), not a changed ledger.
    edited = tmp_path / "edited"
    _rewrite(file, edited, "head", f"{at}:{'0' * 64}", check=False)
    (tmp_path / _state_of(file).name).write_bytes(_state_of(file).read_bytes())
    result = _verify(story, "--from-checkpoint", str(edited))
    assert result.exit_code == 2 and "is damaged or was edited" in result.stderr
    # A checkpoint verified after this computer's clock: warned; no checkpoint after it.
    later = tmp_path / "later"
    _rewrite(file, later, "verified", "2099-01-01T00:00:00Z")
    result = _verify(story, "--from-checkpoint", str(later))
    assert result.exit_code == 0 and "warning: this computer's clock (" in result.stderr
    assert "is behind the time the checkpoint" in result.stderr
    result = _verify(story, "--from-checkpoint", str(later), "--write-checkpoint", str(later))
    assert result.exit_code == 2 and "set it right before writing" in result.stderr

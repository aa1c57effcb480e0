"""Checkpoints that keep themselves (issue 14): after every draw, amendment or commitment,
on `init`, once a day from the daily job and on `audit checkpoint`, a signed checkpoint
of the whole ledger (and the anchors of each period, the day they are committed) goes to
every witness: the local folder, [witness] folders, e-mail addresses and commands. A
witness that fails is a warning, never a failed command, and gets the newest checkpoint
and the anchors it lacks the next time."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from freezegun import freeze_time

from screening import config
from screening.core import checkpoint as notes
from screening.core.merkle import consistency_proof, root_of, verify_consistency
from screening.db.engine import Database, resolve_url
from screening.services.plumbing.context import Actor, Context
from screening.services.plumbing.keys import read_witness_key
from tests.conftest import WORKING_ROLES, Clinic, Inits, write_csv

INIT = "2026-11-20T12:00:00Z"  # a Friday; anchors are committed for 2026-11 to 2027-11
MONDAY = "2026-11-23T14:00:00Z"  # 09:00 in New York, a meeting day of the morning track


@pytest.fixture
def clinic(backend: str, tmp_path: Path, inits: Inits) -> Clinic:
    made = Clinic(tmp_path, backend)
    inits.prepare(made, "test_witness: clinic", _clinic)
    return made


def _clinic(clinic: Clinic) -> None:
    with freeze_time(INIT):
        clinic.ok("init", "--site", "main", "--timezone", "America/New_York")


def at(clinic: Clinic, when: str, *args: str):  # type: ignore[no-untyped-def]
    with freeze_time(when):
        return clinic.run(*args)


def ok(clinic: Clinic, when: str, *args: str):  # type: ignore[no-untyped-def]
    result = at(clinic, when, *args)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result


def enrol(clinic: Clinic, when: str = "2026-11-23T13:00:00Z", count: int = 6) -> None:
    rows = [f"C-{i:02d},,morning,1,2026-11-01," for i in range(count)]
    ok(clinic, when, "clients", "import", str(write_csv(clinic.folder / "c.csv", rows)))


def configure(clinic: Clinic, **witness: object) -> None:
    """Set [witness] entries of the clinic's config (TOML values as JSON)."""
    path = clinic.folder / "screening.toml"
    text = path.read_text(encoding="utf-8")
    for key, value in witness.items():
        line = next(line for line in text.splitlines() if line.startswith(f"{key} = "))
        text = text.replace(line, f"{key} = {json.dumps(value)}")
    path.write_text(text, encoding="utf-8")


def log_folder(folder: Path) -> Path:
    (found,) = [p for p in folder.iterdir() if p.is_dir() and p.name.startswith("screening-")]
    return found


def local(clinic: Clinic) -> Path:
    return log_folder(clinic.folder / "screening-witness")


def checkpoints(folder: Path) -> list[Path]:
    return sorted((folder / "checkpoints").glob("*.checkpoint"))


def opened(path: Path, folder: Path) -> str:
    """A note's text, its signature checked with the folder's witness.vkey."""
    name, public = notes.parse_vkey((folder / "witness.vkey").read_text())
    return notes.open_note(path.read_text(encoding="utf-8"), name, public)


def hashes(clinic: Clinic) -> list[bytes]:
    return [bytes.fromhex(h) for (h,) in clinic.sql("SELECT hash FROM ledger ORDER BY seq")]


def commitments(clinic: Clinic) -> dict[str, notes.Anchor]:
    found = {}
    for seq, site, text in clinic.sql(
        "SELECT seq, site, canonical FROM ledger WHERE kind = 'commitment' ORDER BY seq"
    ):
        body = json.loads(text)["body"]
        found[f"{site}-{body['period']}"] = notes.Anchor(
            site, body["period"], body["length"], body["anchor"], seq
        )
    return found


def anchors_in(folder: Path) -> dict[str, list[notes.Anchor]]:
    return {
        path.stem: notes.parse_anchors(opened(path, folder))[1]
        for path in sorted((folder / "anchors").glob("*.anchors"))
    }


def test_a_draw_publishes_a_signed_checkpoint_of_the_whole_ledger(clinic: Clinic) -> None:
    folder = local(clinic)
    # init: the first checkpoint, the 13 periods' anchors, and the key that signs them.
    key = read_witness_key(clinic.folder / "screening-witness.key")
    name, public = notes.parse_vkey((folder / "witness.vkey").read_text())
    assert public == notes.public_bytes(key.public_key())
    (first,) = checkpoints(folder)
    # Of all init wrote: the working roles the tests' fixture grants come after it.
    made_by_init = len(hashes(clinic)) - len(WORKING_ROLES)
    assert first.name == f"{made_by_init:012d}-20261120T120000Z.checkpoint"
    assert anchors_in(folder) == {label: [a] for label, a in commitments(clinic).items()}
    assert len(anchors_in(folder)) == 13
    state = clinic.folder / "screening-witness" / "deliveries.json"
    assert stat.S_IMODE(state.stat().st_mode) == 0o600

    (clinic.folder / "offsite").mkdir()
    configure(clinic, folders=["offsite"])
    enrol(clinic)
    assert len(checkpoints(folder)) == 1  # enrolment neither draws nor commits anchors
    drawn = ok(clinic, MONDAY, "select")
    assert "warning" not in drawn.stderr

    _, second = checkpoints(folder)
    ledger = hashes(clinic)
    point = notes.parse_checkpoint(opened(second, folder))
    assert point.size == len(ledger)
    assert point.root == root_of(ledger)
    assert point.head == ledger[-1].hex()
    assert point.origin == notes.origin_of(ledger[0].hex()) == name
    assert point.time == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    # The witnessed first checkpoint is a prefix of the ledger now.
    older = notes.parse_checkpoint(opened(first, folder))
    proof = consistency_proof(ledger, older.size, point.size)
    verify_consistency(older.size, point.size, older.root, point.root, proof)

    # The folder on another disk has the same checkpoint, and every anchor it lacked.
    offsite = log_folder(clinic.folder / "offsite")
    assert (offsite / "checkpoints" / second.name).read_bytes() == second.read_bytes()
    assert anchors_in(offsite) == anchors_in(folder)

    by_hand = ok(clinic, "2026-11-23T14:05:00Z", "audit", "checkpoint")
    assert by_hand.stdout == f"{len(ledger)}:{ledger[-1].hex()}\n"  # as before issue 14
    third = checkpoints(folder)[-1]
    assert f"signed checkpoint of entries 1-{len(ledger)}: {third}" in by_hand.stderr
    assert str(clinic.folder / "offsite") in by_hand.stderr
    as_json = json.loads(ok(clinic, "2026-11-23T14:06:00Z", "audit", "checkpoint", "--json").stdout)
    assert (
        as_json["size"] == len(ledger)
        and as_json["vkey"] == (folder / "witness.vkey").read_text().strip()
    )
    assert len(checkpoints(folder)) == 4 and not as_json["failed"]


def test_the_next_periods_anchors_are_published_the_day_they_are_committed(
    clinic: Clinic,
) -> None:
    folder = local(clinic)
    assert "main-2027-12" not in anchors_in(folder)
    # The first write in December commits 2027-12, twelve periods ahead.
    ok(
        clinic,
        "2026-12-01T15:00:00Z",
        "clients",
        "add",
        "C-1",
        "--track",
        "morning",
        "--phase",
        "1",
    )
    assert anchors_in(folder)["main-2027-12"] == [commitments(clinic)["main-2027-12"]]
    newest = notes.parse_checkpoint(opened(checkpoints(folder)[-1], folder))
    assert newest.size == len(hashes(clinic))


def test_a_failing_witness_warns_the_draw_stands_and_the_next_checkpoint_delivers(
    clinic: Clinic,
) -> None:
    unmounted, other = clinic.folder / "unmounted", clinic.folder / "other"
    # A folder that witnesses another installation's key.
    (other / log_folder(clinic.folder / "screening-witness").name).mkdir(parents=True)
    foreign = notes.vkey("screening/0000000000000000", b"\x07" * 32)
    (log_folder(other) / "witness.vkey").write_text(foreign + "\n")
    configure(clinic, folders=["unmounted", "other"], commands=[["/bin/false"]])
    enrol(clinic)

    drawn = at(clinic, MONDAY, "select")

    assert drawn.exit_code == 0, drawn.stderr
    assert clinic.sql("SELECT count(*) FROM draws")[0][0] == 1
    size = len(hashes(clinic))
    warnings = [line for line in drawn.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: the checkpoint of entries 1-{size} did not reach the witness folder "
        f"{unmounted}: the folder {unmounted} does not exist (is the disk or share mounted?); "
        "check that the folder (disk or share) is there and this user may write to it. It is "
        "sent again with the next checkpoint",
        f"warning: the witness folder {other}: {log_folder(other) / 'witness.vkey'} holds "
        "another witness public key than this installation's: the folder witnesses a key that "
        "was replaced or another installation; restore this installation's witness key from "
        "its backup, or give a new, empty folder (the checkpoints there stay as they are)",
        f"warning: the checkpoint of entries 1-{size} did not reach the witness command "
        "/bin/false: the command /bin/false exited with status 1; run the command by hand to "
        "see why it fails. It is sent again with the next checkpoint",
    ]
    assert (log_folder(other) / "witness.vkey").read_text() == foreign + "\n"  # kept
    assert not (log_folder(other) / "checkpoints").exists()
    assert len(checkpoints(local(clinic))) == 2  # the local folder has it

    # Fixed: the share is mounted, the command works. The next checkpoint reaches both,
    # with every anchor they lacked; the undelivered checkpoint is superseded.
    unmounted.mkdir()
    received = clinic.folder / "received.txt"
    script = 'cat >> "$0"; echo "what=$SCREENING_WITNESS_WHAT" >> "$0"'
    configure(clinic, folders=["unmounted"], commands=[["/bin/sh", "-c", script, str(received)]])
    again = ok(clinic, "2026-11-23T14:30:00Z", "audit", "checkpoint")
    assert "warning" not in again.stderr
    newest = checkpoints(local(clinic))[-1]
    assert [p.name for p in checkpoints(log_folder(unmounted))] == [newest.name]
    assert anchors_in(log_folder(unmounted)) == anchors_in(local(clinic))
    sent = received.read_text()
    assert sent.count("what=checkpoint") == 1 and sent.count("what=anchors") == 13
    assert sent.startswith(newest.read_text())

    # Delivered: the next checkpoint sends the checkpoint only, no anchor again.
    ok(clinic, "2026-11-23T14:40:00Z", "audit", "checkpoint")
    sent = received.read_text()
    assert sent.count("what=checkpoint") == 2 and sent.count("what=anchors") == 13


def _job(clinic: Clinic):  # type: ignore[no-untyped-def]
    from screening.render.day_list import list_files
    from screening.services.daily.job import DailyJob

    settings = config.load(clinic.folder / "screening.toml")
    database = Database(resolve_url(clinic.url, settings.folder))

    def contexts() -> Context:
        now = datetime.now(UTC)
        return Context(
            settings, database, Actor("scheduler"), now, now.astimezone(settings.zone).date()
        )

    return DailyJob(contexts, list_files), database


def test_the_daily_job_writes_one_checkpoint_a_day(clinic: Clinic) -> None:
    job, database = _job(clinic)
    try:
        # 05:00 in New York, before the draw at 06:30: the upkeep alone.
        for when in ("2026-11-21T10:00:00Z", "2026-11-21T10:05:00Z", "2026-11-21T11:20:00Z"):
            with freeze_time(when):
                job.upkeep()
        assert [p.name[13:] for p in checkpoints(local(clinic))] == [
            "20261120T120000Z.checkpoint",
            "20261121T100000Z.checkpoint",
        ]
        with freeze_time("2026-11-22T10:00:00Z"):
            job.upkeep()
    finally:
        database.dispose()
    assert len(checkpoints(local(clinic))) == 3


def test_a_batch_publishes_once_it_has_committed(clinic: Clinic) -> None:
    from screening.services import draws

    enrol(clinic)
    settings = config.load(clinic.folder / "screening.toml")
    database = Database(resolve_url(clinic.url, settings.folder))
    try:
        with freeze_time(MONDAY):
            now = datetime.now(UTC)
            ctx = Context(settings, database, Actor("staff1"), now, now.date())
            with pytest.raises(RuntimeError, match="undone"), database.batch():
                draws.select_day(ctx)
                raise RuntimeError("the batch is undone")
            assert len(checkpoints(local(clinic))) == 1  # nothing committed, nothing sent
            with database.batch():
                draws.select_day(ctx)
                assert len(checkpoints(local(clinic))) == 1  # not committed yet
            assert len(checkpoints(local(clinic))) == 2
    finally:
        database.dispose()
    newest = notes.parse_checkpoint(opened(checkpoints(local(clinic))[-1], local(clinic)))
    assert newest.size == len(hashes(clinic)) and newest.root == root_of(hashes(clinic))


def test_checkpoints_and_anchors_reach_an_auditor_by_email(tmp_path: Path) -> None:
    import socket

    from aiosmtpd.controller import Controller

    received: list[tuple[list[str], bytes]] = []

    class Inbox:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            received.append((envelope.rcpt_tos, envelope.content))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = Controller(Inbox(), hostname="127.0.0.1", port=port)
    server.start()
    try:
        clinic = Clinic(tmp_path, f"sqlite:///{tmp_path / 'screening.db'}")
        with freeze_time(INIT):
            clinic.ok("init", "--site", "main", "--timezone", "America/New_York")
        configure(clinic, email=["auditor@clinic.test"])
        path = clinic.folder / "screening.toml"
        path.write_text(
            path.read_text()
            + f'\n[notify.smtp]\nhost = "127.0.0.1"\nport = {port}\nstarttls = false\n'
            'sender = "screening@clinic.test"\n'
        )
        enrol(clinic)
        drawn = ok(clinic, MONDAY, "select")
    finally:
        server.stop()
    assert "warning" not in drawn.stderr
    from email import message_from_bytes

    mails = [(to, message_from_bytes(content)) for to, content in received]
    assert all(to == ["auditor@clinic.test"] for to, _ in mails)
    folder = local(clinic)
    origin = notes.parse_checkpoint(opened(checkpoints(folder)[-1], folder)).origin
    size = len(hashes(clinic))
    subjects = [mail["Subject"] for _, mail in mails]
    assert subjects[0] == f"screening checkpoint {origin} {size}"
    assert sorted(subjects[1:]) == [
        f"screening anchors {origin} main {period}"
        for period in sorted(label[5:] for label in commitments(clinic))
    ]
    # The body is the note itself, as the folder keeps it (mail sends CRLF line ends).
    body = mails[0][1].get_payload(decode=True).decode().replace("\r\n", "\n")
    assert body == checkpoints(folder)[-1].read_text()


def test_the_documented_example_notes_open_with_the_documented_key() -> None:
    """docs/ledger-format.md shows a real checkpoint, anchors note and verifier key."""
    import re

    doc = (Path(__file__).parent.parent / "docs" / "ledger-format.md").read_text("utf-8")
    section = doc[doc.index("## Checkpoints and witnesses") : doc.index("## Exports")]
    blocks = [
        "\n".join(line[4:] for line in block.splitlines()) + "\n"
        for block in re.findall(r"\n\n((?:    .*\n|\n(?=    ))+)", section)
    ]
    (vkey,) = [b.strip() for b in blocks if re.fullmatch(r"screening/\S+\+\S+\n", b)]
    name, public = notes.parse_vkey(vkey)
    signed = [b for b in blocks if "\n\n\u2014 " in b]
    assert len(signed) == 2
    point = notes.parse_checkpoint(notes.open_note(signed[0], name, public))
    origin, anchors = notes.parse_anchors(notes.open_note(signed[1], name, public))
    assert point.origin == origin == name
    assert f"{point.size:012d}-{point.time:%Y%m%dT%H%M%SZ}.checkpoint" in section
    assert [a.period for a in anchors] == ["2026-12"]


def test_a_lost_witness_key_is_never_replaced_silently(clinic: Clinic) -> None:
    key = clinic.folder / "screening-witness.key"
    key.rename(clinic.folder / "elsewhere.key")
    enrol(clinic)

    drawn = ok(clinic, MONDAY, "select")  # the draw stands

    assert drawn.stderr.count("warning:") == 1
    assert (
        f"warning: no checkpoint was made for the witnesses: the witness key file {key} is "
        "missing; restore it from its backup" in drawn.stderr
    )
    assert not key.exists() and len(checkpoints(local(clinic))) == 1
    by_hand = at(clinic, "2026-11-23T14:05:00Z", "audit", "checkpoint")
    assert by_hand.exit_code == 3
    assert by_hand.stdout.startswith(f"{len(hashes(clinic))}:")  # the head, as before

    (clinic.folder / "elsewhere.key").rename(key)  # restored: caught up at once
    ok(clinic, "2026-11-23T14:06:00Z", "audit", "checkpoint")
    newest = notes.parse_checkpoint(opened(checkpoints(local(clinic))[-1], local(clinic)))
    assert newest.size == len(hashes(clinic))


def test_a_rewritten_history_is_named_when_the_next_checkpoint_is_made(clinic: Clinic) -> None:
    from tests.conftest import forge

    folder = local(clinic)
    witnessed = anchors_in(folder)["main-2026-12"][0]
    before = len(hashes(clinic)) - len(WORKING_ROLES)  # the checkpoint init made

    def new_anchor(document: dict) -> None:  # type: ignore[type-arg]
        document["body"]["anchor"] = "ab" * 32

    # An intruder rewrites December's commitment and recomputes every later hash.
    forge(clinic, witnessed.seq, new_anchor)
    enrol(clinic)
    made = checkpoints(folder)
    drawn = ok(clinic, MONDAY, "select")

    assert (
        f"warning: no checkpoint was made for the witnesses: the first {before} entries of "
        "the ledger no longer hash to the checkpoint made at 2026-11-20T12:00:00+00:00: the "
        "history was changed; run `screening audit verify`. No checkpoint was signed, so the "
        "witnesses keep vouching for the history as it was" in drawn.stderr
    )
    # Nothing signed over the rewritten history: no checkpoint, no anchors note.
    assert checkpoints(folder) == made
    assert anchors_in(folder)["main-2026-12"] == [witnessed]
    by_hand = at(clinic, "2026-11-23T14:05:00Z", "audit", "checkpoint")
    assert by_hand.exit_code == 1 and "No checkpoint was signed" in by_hand.stderr


def test_checkpoints_or_anchors_removed_from_the_local_folder_are_named(
    clinic: Clinic,
) -> None:
    """The delivery record says what went into the local folder: wiping the checkpoints
    that would show a cut tail, or the anchors, is itself caught."""
    enrol(clinic)
    ok(clinic, MONDAY, "select")
    folder = local(clinic)
    newest = checkpoints(folder)[-1]
    kept = newest.read_bytes()
    newest.unlink()
    removed = at(clinic, MONDAY, "audit", "verify")
    assert removed.exit_code == 1
    assert "no witness folder holds a checkpoint that large: checkpoints were removed" in (
        removed.stderr
    )
    newest.write_bytes(kept)
    assert at(clinic, MONDAY, "audit", "verify").exit_code == 0
    for note in (folder / "anchors").iterdir():
        note.unlink()
    wiped = at(clinic, MONDAY, "audit", "verify")
    assert wiped.exit_code == 1 and "witnessed anchors were removed" in wiped.stderr


def test_a_checkpoint_dated_ahead_of_the_clock_is_said_and_a_wrong_file_is_bad_input(
    clinic: Clinic, tmp_path: Path
) -> None:
    enrol(clinic)
    ok(clinic, MONDAY, "select")
    earlier = at(clinic, "2026-11-20T10:00:00Z", "audit", "verify")
    assert "after this computer's clock (2026-11-20T10:00:00Z): this clock, or the one of" in (
        earlier.stderr
    )
    assert "more than [witness] max_age_days" not in earlier.stderr
    given = tmp_path / "notes.txt"
    given.write_text("root:x:0:0:root:/root:/bin/sh\n")
    wrong = at(clinic, MONDAY, "audit", "verify", "--checkpoint", str(given))
    assert wrong.exit_code == 2 and "is not a checkpoint file" in wrong.stderr


def test_a_hanging_witness_command_is_stopped_with_what_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command that never ends is a failed delivery after the time allowed, and the
    processes it started go with it (none left running in the background)."""
    import os
    import time

    from screening.services.plumbing.transport import DeliveryFailed, run_command

    monkeypatch.setattr("screening.services.plumbing.transport.COMMAND_SECONDS", 1)
    script = tmp_path / "hang.sh"
    script.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {tmp_path}/child\nwait\n")
    script.chmod(0o755)
    with pytest.raises(DeliveryFailed, match="took over 1 s"):
        run_command([str(script)], "a note\n")
    child = int((tmp_path / "child").read_text())
    for _ in range(50):
        try:
            state = Path(f"/proc/{child}/stat").read_text().split(") ")[1][0]
        except FileNotFoundError:
            break  # gone
        if state == "Z":
            break  # killed, waiting only to be reaped
        time.sleep(0.1)
    else:
        os.kill(child, 9)
        raise AssertionError("the command's child was left running")

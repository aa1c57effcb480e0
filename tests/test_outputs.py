"""Outputs never overwrite the clinic's own files (issue 14), and the smaller promises
around them: a failed write is whole-or-nothing and said plainly, a draw is never made
twice to get its file, a closed pipe is quiet, unusable arguments get one line.

One SQLite clinic serves the whole module (the refusals touch nothing, and each test
checks so); PostgreSQL has no database file, so one case shows its config is guarded.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer.testing
from freezegun import freeze_time

from tests.conftest import Clinic, write_csv

MONDAY = "2026-11-23T12:00:00Z"  # 07:00 in New York
TUESDAY = "2026-11-24T12:00:00Z"
WEDNESDAY = "2026-11-25T12:00:00Z"

# The clinic's own files, by what a user might call them, relative to its folder.
OWN = {
    "database": "screening.db",
    "wal": "screening.db-wal",
    "key": "screening.key",
    "config": "screening.toml",
    "witness key": "screening-witness.key",
    "witness folder": "screening-witness/000000000016-20261123T120000Z.checkpoint",
}
COMMANDS: dict[str, Callable[[str], list[str]]] = {
    "select --csv": lambda target: ["select", "--csv", target],
    "report team --out": lambda target: ["report", "team", "--format", "csv", "--out", target],
    "report reconcile --out": lambda target: ["report", "reconcile", "--out", target],
    "timeline --out": lambda target: ["timeline", "C-01", "--format", "html", "--out", target],
    "db backup": lambda target: ["db", "backup", target],
    "audit export": lambda target: [
        "audit", "export", target, "--to", "State Auditor", "--purpose", "audit",
    ],
}  # fmt: skip


_built = functools.cache(typer.testing._get_command)


@pytest.fixture(autouse=True)
def _command_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Typer builds the click command afresh for each CliRunner.invoke: that is most of
    an in-process invocation, and this module makes about a hundred."""
    monkeypatch.setattr(typer.testing, "_get_command", _built)


@dataclass
class Shop:
    clinic: Clinic
    config: Path

    @property
    def folder(self) -> Path:
        return self.clinic.folder

    def run(self, *args: str):  # type: ignore[no-untyped-def]
        return self.clinic.run("--config", str(self.config), *args)

    def ok(self, *args: str):  # type: ignore[no-untyped-def]
        result = self.run(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result

    def snapshot(self) -> dict[str, bytes | None]:
        """The bytes of every one of the clinic's own files (None: absent)."""
        files = {}
        for name in OWN.values():
            path = self.folder / name
            files[name] = path.read_bytes() if path.exists() else None
        return files

    def entries(self) -> int:
        return self.clinic.sql("SELECT count(*) FROM ledger")[0][0]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """Thirty clients, Monday's draw made; the witness key and folder present as they
    will be once checkpoints are witnessed; a reader holding the WAL file open, as the
    daily job would."""
    folder = tmp_path_factory.mktemp("clinic")
    made = Shop(Clinic(folder, f"sqlite:///{folder / 'screening.db'}"), folder / "screening.toml")
    with freeze_time(MONDAY):
        made.ok("init", "--timezone", "America/New_York")
        rows = [
            f"C-{i:02d},Client {i},{('morning', 'evening')[i % 2]},1,2026-11-01," for i in range(30)
        ]
        made.ok("clients", "import", str(write_csv(folder / "c.csv", rows)))
        made.ok("select")
    assert stat.S_IMODE((folder / "screening.db").stat().st_mode) == 0o600
    witness_key = folder / OWN["witness key"]
    if not witness_key.exists():
        witness_key.write_text("ab" * 32 + "\n")
        witness_key.chmod(0o600)
    checkpoint = folder / OWN["witness folder"]
    checkpoint.parent.mkdir(exist_ok=True)
    if not checkpoint.exists():
        checkpoint.write_text("screening/0011223344556677\n16\nroot\n")
    reader = sqlite3.connect(folder / "screening.db")
    reader.execute("SELECT count(*) FROM ledger").fetchone()
    assert (folder / OWN["wal"]).exists()
    try:
        yield made
    finally:
        reader.close()


def _targets(shop: Shop) -> dict[str, Path]:
    """Each of the clinic's own files by its name, by a symlink, and the key by a hard
    link too: every way a user could name them by mistake."""
    links = shop.folder / "links"
    links.mkdir(exist_ok=True)
    targets = {}
    for what, name in OWN.items():
        own = shop.folder / name
        targets[what] = own
        link = links / f"to-{what.replace(' ', '-')}"
        if not link.is_symlink():
            link.symlink_to(own)
        targets[f"symlink to the {what}"] = link
    hard = links / "key-again"
    if not hard.exists():
        os.link(shop.folder / OWN["key"], hard)
    targets["hard link to the key"] = hard
    return targets


@pytest.mark.parametrize("command", list(COMMANDS))
def test_no_output_option_overwrites_the_clinics_own_files(shop: Shop, command: str) -> None:
    before, entries = shop.snapshot(), shop.entries()
    for what, target in _targets(shop).items():
        with freeze_time(MONDAY):
            result = shop.run(*COMMANDS[command](str(target)))
        assert result.exit_code == 2, (command, what, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (command, what, lines)
        assert "would destroy it" in lines[0] or "inside the local witness folder" in lines[0]
        assert shop.snapshot() == before, f"{command} onto the {what} changed a file"
        assert target.is_symlink() == what.startswith("symlink"), "a link was replaced"
    assert shop.entries() == entries, "a refused output still wrote to the ledger"


def test_refusals_say_which_file_it_is_and_what_to_do(shop: Shop) -> None:
    link = shop.folder / "links" / "to-key"
    key = shop.run("report", "team", "--out", str(link))
    assert key.stderr.strip() == (
        f"error: --out {link} is the master key ({shop.folder / 'screening.key'}); "
        "writing there would destroy it: give another file name"
    )
    wal = shop.run("db", "backup", str(shop.folder / "screening.db-journal"))
    assert "PATH" in wal.stderr and "the database's journal file" in wal.stderr


@pytest.mark.postgresql
def test_postgresql_guards_the_config_and_the_key(tmp_path: Path) -> None:
    from tests.conftest import _pg_schema_url

    urls = _pg_schema_url()
    clinic = Clinic(tmp_path, next(urls))
    try:
        with freeze_time(MONDAY):
            clinic.ok("init", "--timezone", "America/New_York")
            (tmp_path / "link.toml").symlink_to(tmp_path / "screening.toml")
            config = (tmp_path / "screening.toml").read_bytes()
            for target in ("screening.toml", "link.toml"):
                result = clinic.run("select", "--csv", target)
                assert result.exit_code == 2 and "is the config" in result.stderr
            key = clinic.run("report", "team", "--out", "screening.key")
            assert key.exit_code == 2 and "is the master key" in key.stderr
        assert (tmp_path / "screening.toml").read_bytes() == config
        assert clinic.sql("SELECT count(*) FROM draws") == [(0,)], "drawn despite the refusal"
    finally:
        urls.close()


def test_a_symlink_to_an_ordinary_file_is_written_through(shop: Shop, tmp_path: Path) -> None:
    real = tmp_path / "reports" / "team.csv"
    real.parent.mkdir()
    real.write_text("last week's\n")
    (tmp_path / "team-link.csv").symlink_to(real)
    with freeze_time(MONDAY):
        written = shop.ok("report", "team", "--format", "csv", "--out", "team-link.csv")
    assert (tmp_path / "team-link.csv").is_symlink()
    assert real.read_text().startswith("code,name,ph")
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert "readable by you only" in written.stderr
    assert [p.name for p in real.parent.iterdir()] == ["team.csv"], "a temporary file was left"


def test_a_device_is_written_as_it_is(shop: Shop) -> None:
    """/dev/null (or /dev/stdout) cannot be replaced by a renamed file, nor made private."""
    with freeze_time(MONDAY):
        result = shop.ok("report", "team", "--out", "/dev/null")
    assert result.stderr.strip() == "written to /dev/null"
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_failed_write_leaves_the_old_file_whole(
    shop: Shop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills while the report is written: the old report stays, no half file."""
    old = tmp_path / "team.csv"
    old.write_text("last week's\n")

    def full(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with freeze_time(MONDAY):
        result = shop.run("report", "team", "--format", "csv", "--out", str(old))
    monkeypatch.undo()
    assert result.exit_code == 3
    assert result.stderr.strip() == (
        f"error: writing the report to {old} failed: No space left on device"
    )
    assert old.read_text() == "last week's\n"
    assert [p.name for p in tmp_path.iterdir()] == ["team.csv"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_list_that_cannot_be_written_never_leads_to_a_second_draw(
    shop: Shop, tmp_path: Path
) -> None:
    def count(kind: str) -> int:
        return shop.clinic.sql("SELECT count(*) FROM ledger WHERE kind = :k", k=kind)[0][0]

    draws, amendments = count("draw"), count("draw_amend")
    with freeze_time(TUESDAY):
        failed = shop.run("select", "--csv", "/dev/full")
        assert failed.exit_code == 3
        assert failed.stderr.strip().splitlines()[-1] == (
            "error: the draw for 2026-11-24 is recorded, but writing the CSV to /dev/full "
            "failed: No space left on device; run `screening select --csv FILE` to write "
            "the list"
        )
        assert "Screening list for 2026-11-24" in failed.stdout, "the list was not shown"
        again = shop.ok("select", "--csv", "tuesday.csv")
        assert count("draw") == draws + 1, "the rerun drew again"
        assert (tmp_path / "tuesday.csv").read_text().startswith("code,name,track")
        assert "drawn at" in again.stderr

        shop.ok("clients", "add", "C-90", "--track", "evening", "--phase", "1")
        reason = ["--amend", "--reason", "admitted this morning"]
        failed = shop.run("select", *reason, "--csv", "/dev/full")
        assert failed.exit_code == 3
        assert "the draw for 2026-11-24 and its amendment are recorded, but" in failed.stderr
        assert "run `screening select --csv FILE` (without --amend)" in failed.stderr
        rerun = shop.ok("select", *reason, "--csv", "tuesday.csv")
        assert count("draw_amend") == amendments + 1, "the rerun amended again"
        assert "no amendment recorded" in rerun.stderr
        assert "C-90" in (tmp_path / "tuesday.csv").read_text()
        assert "amended once" in rerun.stderr
    with freeze_time(WEDNESDAY):  # Sunday's draw, missed, drawn late
        late = ["--late", "2026-11-22", "--reason", "server down"]
        failed = shop.run("select", *late, "--csv", "/dev/full")
        assert failed.exit_code == 3
        assert "run `screening select --late 2026-11-22 --reason .. --csv FILE`" in failed.stderr
        shop.ok("select", *late, "--csv", "sunday.csv")
        assert count("draw") == draws + 2, "the late draw was made twice"
        assert (tmp_path / "sunday.csv").exists()


def test_a_closed_pipe_ends_a_command_quietly(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    """`audit verify --json | head -1`: the reader is gone before the output is."""

    def gone(value: object) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("screening.render.output.emit_json", gone)
    with freeze_time(WEDNESDAY):
        result = shop.run("audit", "verify", "--json")
    # Verify's own warnings (about the witnesses) may come first; no error follows them.
    assert result.exit_code == 141
    assert [line for line in result.stderr.splitlines() if not line.startswith("warning:")] == []


def test_a_closed_pipe_at_the_last_flush_is_quiet_too() -> None:
    """What is still buffered when the command returns meets the closed pipe at exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "screening", "--version"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 141
    assert stderr == b""


def test_text_that_is_not_utf8_is_refused_in_one_line(shop: Shop, tmp_path: Path) -> None:
    """Bytes a terminal could not decode reach Python as lone surrogates."""
    for args, named in (
        (["clients", "show", "C-\udcff"], "CODE"),
        (["timeline", "C-\udcff\udcfe"], "CODE"),
        (["clients", "hold", "C-01", "--from", "2026-12-01", "--to", "2026-12-02",
          "--reason", "trip \udce9"], "--reason"),
    ):  # fmt: skip
        result = shop.run(*args)
        assert result.exit_code == 2, (args, result.stderr)
        assert result.stderr.strip() == (
            f"error: {named} is not valid UTF-8 text (check the terminal's or file's "
            "encoding); type it again"
        )
    # A file name may be any bytes: such a name is written, not refused. (A read is
    # recorded in the ledger, so its clock is not behind the module's latest write.)
    with freeze_time(WEDNESDAY):
        shop.ok("report", "team", "--out", "team-\udcff.txt")
    assert (tmp_path / os.fsdecode(b"team-\xff.txt")).exists()


def test_a_path_too_long_for_the_system_is_one_line_and_exit_2(shop: Shop) -> None:
    long = "/tmp/" + "x" * 100_000
    for args in (
        ["report", "team", "--out", long],
        ["select", "--csv", long],
        ["clients", "import", long],
        ["db", "backup", long],
        ["audit", "export", long, "--to", "State Auditor", "--purpose", "audit"],
    ):
        with freeze_time(MONDAY):
            result = shop.run(*args)
        assert result.exit_code == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
        assert len(result.stderr) < 400 and "too long" in result.stderr
        assert "internal error" not in result.stderr


def test_an_export_into_an_existing_empty_folder_is_private(shop: Shop, tmp_path: Path) -> None:
    folder = tmp_path / "for-the-auditor"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    with freeze_time(WEDNESDAY):
        shop.ok("audit", "export", str(folder), "--to", "State Auditor", "--purpose", "audit")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert (folder / "manifest.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".screening-")]


def test_a_database_others_can_read_is_warned_about_once(shop: Shop) -> None:
    database = shop.folder / "screening.db"
    database.chmod(0o644)
    try:
        with freeze_time(WEDNESDAY):
            result = shop.ok("today")
    finally:
        database.chmod(0o600)
    warnings = [line for line in result.stderr.splitlines() if "chmod 600" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"warning: the database {database} can be read by other users")
    assert f"`chmod 600 {database} {database}-wal {database}-shm`" in warnings[0]
    with freeze_time(WEDNESDAY):
        assert "chmod" not in shop.ok("today").stderr


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="no /dev/shm on this system")
def test_a_file_under_dev_shm_is_replaced_not_appended_to(shop: Shop) -> None:
    """Only names of open files (/dev/stdout, /proc/self/fd/N) are written as they are;
    an ordinary file that happens to live under /dev is replaced like any other."""
    target = Path("/dev/shm") / f"screening-test-{os.getpid()}-{id(shop)}.csv"
    try:
        with freeze_time(WEDNESDAY):
            shop.ok("report", "team", "--format", "csv", "--out", str(target))
            once = target.read_bytes()
            shop.ok("report", "team", "--format", "csv", "--out", str(target))
        assert target.read_bytes() == once
    finally:
        target.unlink(missing_ok=True)

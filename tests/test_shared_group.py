"""SQLite on a shared server (issue 17): `init --group NAME` lets the OS users of one group
work on one clinic, and keeps a user outside it out; the file's permissions are the
boundary, so the checks of file modes accept that group and no other.

The test with real OS users needs root (the test machine and CI run as root): it adds a
group, two members and an outsider, and removes them afterwards. The venv's Python lives
under /root (mode 0700), so each user's command runs in a forked child of this process
(every module it needs imported already) rather than in a new interpreter."""

from __future__ import annotations

import grp
import os
import pwd
import secrets
import shutil
import sqlite3
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from screening.cli import app
from screening.db.engine import Database
from screening.errors import EnvironmentProblem
from screening.services.plumbing.keys import create_key, read_key
from tests.conftest import ME
from tests.logins import as_user as _as
from tests.logins import screening

# What every member does on the shared clinic, in one place so that it follows the
# roles (issue 17): the roles each member is granted by init's user (root) with
# `access grant USER ROLE`, once the CLI has `access`; then a command that reads and
# one that writes ({day}: a day of the member's own).
ROLES = ("staff",)
READ = ("clients", "list")
WRITE = ("close", "{day}", "--reason", "staff meeting")


@dataclass(frozen=True)
class People:
    group: str
    members: tuple[pwd.struct_passwd, pwd.struct_passwd]
    outsider: pwd.struct_passwd
    folder: Path  # the clinic's folder: the group's, set-group-ID, traversable from /tmp

    @property
    def gid(self) -> int:
        return grp.getgrnam(self.group).gr_gid


def _files(folder: Path) -> dict[str, list[int]]:
    return {
        name: [stat.S_IMODE((status := (folder / name).stat()).st_mode), status.st_gid]
        for name in sorted(os.listdir(folder))
        if (folder / name).is_file()
    }


@pytest.fixture(scope="module")
def people() -> Iterator[People]:
    if os.geteuid() != 0:
        pytest.skip("adds OS users and a group (useradd, groupadd): run as root, as CI does")
    if shutil.which("useradd") is None:
        pytest.skip("no useradd on this system")
    tag = f"{os.getpid() % 100000:05d}{secrets.token_hex(2)}"
    group, names = f"scr{tag}", [f"scr{tag}{who}" for who in ("a", "b", "x")]
    made: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="screening-shared-"))
    try:
        subprocess.run(["groupadd", group], check=True, capture_output=True)
        for name in names:
            # No home, no group of their own: a member reaches the clinic's group only
            # as a supplementary group, as a login added with `usermod -aG` does.
            member = [] if name.endswith("x") else ["-G", group]
            subprocess.run(
                ["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", *member, name],
                check=True,
                capture_output=True,
            )
            made.append(name)
        os.chown(folder, -1, grp.getgrnam(group).gr_gid)
        os.chmod(folder, 0o2770)
        users = [pwd.getpwnam(name) for name in names]
        yield People(group, (users[0], users[1]), users[2], folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for name in made:
            subprocess.run(["userdel", name], check=False, capture_output=True)
        subprocess.run(["groupdel", group], check=False, capture_output=True)


def test_two_members_of_the_group_work_on_one_clinic_and_an_outsider_cannot(
    people: People,
) -> None:
    config = people.folder / "screening.toml"
    created = screening(None, config, "init", "--timezone", "UTC", "--group", people.group)
    assert created.code == 0, created.stderr + created.crash
    assert f'group = "{people.group}"' in config.read_text()
    files = _files(people.folder)
    for name in ("screening.toml", "screening.db", "screening-deliveries.json"):
        assert files[name] == [0o660, people.gid], name
    for name in ("screening.key", "screening-witness.key"):
        assert files[name] == [0o640, people.gid], name
    for login in (ME, *(user.pw_name for user in people.members)):
        for role in ROLES:
            granted = screening(None, config, "access", "grant", login, role)
            assert granted.code == 0, granted.stderr + granted.crash

    # init's user works first, in this process (which so imports what the commands need
    # before forking), then each member, then the first again, on what the second left.
    day = datetime.now(UTC).date() + timedelta(days=40)
    for number, user in enumerate((None, *people.members, people.members[0])):
        name = ME if user is None else user.pw_name
        ran = [
            screening(user, config, *(a.format(day=day + timedelta(number)) for a in command))
            for command in (READ, WRITE)
        ]
        for command, run in zip((READ, WRITE), ran, strict=True):
            assert run.code == 0, f"{name} {' '.join(command)}: {run.stderr}{run.crash}"
            assert "warning" not in run.stderr, run.stderr

    # What SQLite makes beside the database while a member has it open takes the
    # database's mode, and the folder's group.
    def open_and_look() -> dict[str, list[int]]:
        connection = sqlite3.connect(people.folder / "screening.db")
        try:
            connection.execute("SELECT count(*) FROM ledger").fetchone()
            return _files(people.folder)
        finally:
            connection.close()

    seen = _as(people.members[1], open_and_look)
    for name in ("screening.db-wal", "screening.db-shm"):
        assert seen[name] == [0o660, people.gid], name
    for name, (mode, gid) in _files(people.folder).items():
        assert gid == people.gid and not mode & stat.S_IRWXO, (name, oct(mode))

    # A backup has the database's own mode and group.
    backup = people.folder / "copy.db"
    assert screening(None, config, "db", "backup", str(backup)).code == 0
    assert _files(people.folder)["copy.db"] == [0o660, people.gid]

    outsider = screening(people.outsider, config, *READ)
    assert outsider.code == 3, outsider.stderr + outsider.crash
    assert len(outsider.stderr.strip().splitlines()) == 1, outsider.stderr
    assert "permission denied" in outsider.stderr and "Traceback" not in outsider.stderr


def test_init_group_needs_a_member_of_the_group(people: People) -> None:
    own = Path(tempfile.mkdtemp(prefix="screening-outsider-"))
    try:
        os.chown(own, people.outsider.pw_uid, -1)
        refused = screening(
            people.outsider, own / "screening.toml", "init", "--timezone", "UTC",
            "--group", people.group,
        )  # fmt: skip
        assert refused.code == 2, refused.stderr + refused.crash
        assert f"you are not a member of the OS group {people.group!r}" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
        assert os.listdir(own) == []
    finally:
        shutil.rmtree(own, ignore_errors=True)


def test_init_group_refuses_a_group_that_does_not_exist(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["init", "--timezone", "UTC", "--group", "no-such-grp9"])
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("error: there is no OS group 'no-such-grp9'")
    assert len(result.stderr.strip().splitlines()) == 1
    assert os.listdir(tmp_path) == []


def test_init_group_is_refused_on_postgresql(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = CliRunner().invoke(
        app, ["--db", url, "init", "--timezone", "UTC", "--group", _own_group()]
    )
    assert result.exit_code == 2, result.stderr
    assert result.stderr.strip() == (
        "error: --group is for SQLite; on PostgreSQL the database's own roles are the "
        "boundary (screening db roles)"
    )
    assert os.listdir(tmp_path) == []


def _own_group() -> str:
    return grp.getgrgid(os.getegid()).gr_name


def test_the_configs_group_may_read_the_database_and_keys_and_no_other(tmp_path: Path) -> None:
    """Mode checks without root: this user's own group stands for the config's group."""
    mine, other = _own_group(), "no-such-grp9"
    file = tmp_path / "screening.db"
    file.write_bytes(b"")
    database = Database(make_url(f"sqlite:///{file}"), mine)
    file.chmod(0o660)
    assert database.exposure() is None
    assert Database(make_url(f"sqlite:///{file}")).exposure() is not None  # no group named
    warned = Database(make_url(f"sqlite:///{file}"), other).exposure()
    assert warned is not None and f"the config shares it with {other}" in warned
    assert f"chgrp {other} {file}" in warned and "chmod 660" in warned
    file.chmod(0o664)  # the world may read it
    assert database.exposure() is not None

    key = tmp_path / "screening.key"
    create_key(key)
    key.chmod(0o640)
    assert len(read_key(key, group=mine)) == 32
    for group, mode in ((None, 0o640), (other, 0o640), (mine, 0o660), (mine, 0o644)):
        key.chmod(mode)
        with pytest.raises(EnvironmentProblem, match="readable by other users"):
            read_key(key, group=group)


def test_config_check_takes_a_group_and_refuses_a_name_no_group_has(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--timezone", "UTC", "--group", _own_group()]).exit_code == 0
    assert runner.invoke(app, ["config", "check"]).exit_code == 0
    config = tmp_path / "screening.toml"
    text = config.read_text()
    config.write_text(text.replace(f'group = "{_own_group()}"', 'group = "two words"'))
    result = runner.invoke(app, ["config", "check"])
    assert result.exit_code == 2 and "group" in result.stderr, result.stderr

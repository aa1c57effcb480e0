"""Running the CLI as another OS user (forked, its groups, group and user set as a login
sets them) or as another PostgreSQL login: the tests that show who may do what.

/root is 0700 here and the interpreter lives under it, so a command is never exec'd as
another user: the test process forks, and the child drops to the user and runs the CLI
in-process. The parent runs a command first, so that the child imports nothing new.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import subprocess
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from screening.cli import app


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    crash: str  # the traceback of an exception the CLI did not turn into an error


def as_user(user: pwd.struct_passwd | None, work: Callable[[], Any], fork: bool = False) -> Any:
    """``work()``'s JSON-able result, computed as ``user`` in a forked child (its groups,
    group and user set as a login would set them); None: in this process, which then
    imports what the work needs before any child is forked (with ``fork``, in a child
    as this process's user: for work that signals itself)."""
    if user is None and not fork:
        return json.loads(json.dumps(work()))
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover  (the child's coverage is not collected)
        status = 70
        try:
            os.close(reading)
            if user is not None:
                os.setgroups(os.getgrouplist(user.pw_name, user.pw_gid))
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)
                os.environ.update(USER=user.pw_name, LOGNAME=user.pw_name, HOME="/tmp")
                os.chdir("/tmp")
            with os.fdopen(writing, "w") as pipe:
                pipe.write(json.dumps(work()))
            status = 0
        finally:
            os._exit(status)
    os.close(writing)
    with os.fdopen(reading) as pipe:
        text = pipe.read()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and text, f"the child as {user} failed"
    return json.loads(text)


def cli(*args: str) -> Callable[[], list[Any]]:
    def work() -> list[Any]:
        result = CliRunner().invoke(app, list(args))
        crash = ""
        # Exit codes come as SystemExit (code 0 too, with no exception recorded).
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            crash = "".join(traceback.format_exception(*result.exc_info))
        return [result.exit_code, result.stdout, result.stderr, crash]

    return work


def screening(user: pwd.struct_passwd | None, config: Path, *args: str) -> Run:
    return Run(*as_user(user, cli("--config", str(config), *args)))


@contextmanager
def os_users(names: list[str], group: str | None = None) -> Iterator[list[pwd.struct_passwd]]:
    """OS users (no home, no login shell), members of ``group`` if given (made too);
    removed afterwards, with the group."""
    made: list[str] = []
    try:
        if group is not None:
            subprocess.run(["groupadd", group], check=True, capture_output=True)
        for name in names:
            member = ["-G", group] if group is not None else []
            subprocess.run(
                ["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", *member, name],
                check=True,
                capture_output=True,
            )
            made.append(name)
        yield [pwd.getpwnam(name) for name in names]
    finally:
        for name in made:
            subprocess.run(["userdel", name], check=False, capture_output=True)
        if group is not None:
            subprocess.run(["groupdel", group], check=False, capture_output=True)


def tag() -> str:
    """A short unique suffix for the names of users, groups and logins a test makes."""
    return f"{os.getpid() % 100000:05d}{secrets.token_hex(2)}"

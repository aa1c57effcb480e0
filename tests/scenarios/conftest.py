"""The scenario suite: one small file per story a clinician could read.

Each story is a clinic in New York living through some days. Staff, clinicians and
auditors type commands at a local time (``story.at("2026-11-30 07:00", ...)``), and the
story says what `timeline`, `report team`, `report reconcile` and `audit verify` must
then say. Every story runs on SQLite and on PostgreSQL (the ``backend`` fixture).

The clinic's config makes the draw certain where a story needs it to be:

- phase ``1``: 3 tests a week, so a morning client (mon, wed, fri) is drawn every
  meeting day (p = 1) and an evening client (tue, thu) too;
- phase ``2``: no random tests, but drawn anyway after 7 days (the interval floor);
- phase ``3``: one test every two weeks (p = 1/6 on the morning track).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from tests.conftest import Clinic, Inits, write_csv

ZONE = ZoneInfo("America/New_York")
PHASES = """
[phases.1]
tests_per_week = 3
max_days_between_tests = 14

[phases.2]
tests_per_week = 0
max_days_between_tests = 7

[phases.3]
tests_per_week = 0.5
"""


def instant(local: str) -> datetime:
    """``"YYYY-MM-DD HH:MM"`` at the clinic (New York) as an aware UTC instant."""
    moment = datetime.fromisoformat(local)
    return moment.replace(tzinfo=ZONE).astimezone(UTC)


@dataclass
class Story:
    """A clinic and the commands its people type, each at a local time."""

    clinic: Clinic

    @property
    def folder(self) -> Path:
        return self.clinic.folder

    @property
    def config(self) -> Path:
        return self.clinic.folder / "screening.toml"

    @contextmanager
    def clock(self, local: str) -> Iterator[None]:
        with freeze_time(instant(local)):
            yield

    def run(self, local: str, *args: str, env: dict[str, str] | None = None) -> Any:
        """The command as typed at ``local`` time; the result, whatever its exit code."""
        with self.clock(local):
            return self.clinic.run(*args, env=env)

    def ok(self, local: str, *args: str) -> Any:
        result = self.run(local, *args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result

    def out(self, local: str, *args: str) -> str:
        """What the command prints on stdout (it must succeed)."""
        return self.ok(local, *args).stdout

    def json(self, local: str, *args: str) -> Any:
        """The command's JSON: ``--format json`` for `timeline` and `report`, else ``--json``."""
        flag = ["--format", "json"] if args[0] in ("timeline", "report") else ["--json"]
        return json.loads(self.ok(local, *args, *flag).stdout)

    def refused(self, local: str, exit_code: int, *args: str) -> str:
        """The command must fail with ``exit_code``; returns its one-line error."""
        result = self.run(local, *args)
        assert result.exit_code == exit_code, (args, result.exit_code, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        return result.stderr

    def ledger_size(self) -> int:
        return self.clinic.sql("SELECT count(*) FROM ledger")[0][0]

    def enrol(self, local: str, *rows: str) -> None:
        """Clients as CSV rows ``code,name,track,phase,admitted_on,medications``."""
        path = write_csv(self.folder / "enrol.csv", list(rows))
        self.ok(local, "clients", "import", str(path))

    def edit_config(self, edit: Callable[[str], str]) -> None:
        self.config.write_text(edit(self.config.read_text()))

    def verify(self, local: str) -> str:
        """`audit verify` must say the ledger is intact and every record matches it."""
        return self.out(local, "audit", "verify")


def _scenario_phases(text: str) -> str:
    start = text.index("[phases.1]")
    end = text.index("# Panels:")
    return text[:start] + PHASES.lstrip() + "\n" + text[end:]


@pytest.fixture
def story(backend: str, tmp_path: Path, inits: Inits) -> Story:
    """A New York clinic set up on Sunday 2026-11-01 at 09:00, with no clients yet."""
    made = Story(Clinic(tmp_path, backend))
    with made.clock("2026-11-01 09:00"):
        inits.init(made.clinic, "--site", "main", "--timezone", "America/New_York")
    made.edit_config(_scenario_phases)
    return made


def standalone_verifier(story: Story, local: str) -> str:
    """`audit export`, then the auditor's own screening-verify.py (stdlib Python only)."""
    folder = story.folder / "export"
    story.ok(local, "audit", "export", str(folder), "--to", "State Auditor", "--purpose", "audit")
    python = shutil.which("python3", path="/usr/bin:/usr/local/bin") or "python3"
    done = subprocess.run(
        [python, "-I", str(folder / "screening-verify.py"), str(folder)],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout

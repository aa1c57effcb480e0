"""The README's walkthrough works as written, and CI runs the README's own commands."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from screening.cli import app

ROOT = Path(__file__).parent.parent
runner = CliRunner()


def _shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def test_ci_runs_the_readme_setup_and_test_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    setup, tests = _shell_blocks(readme)[0].splitlines()[0], _shell_blocks(readme)[1].strip()
    assert setup in ci.splitlines(), "README set-up command differs from .ci/run"
    assert tests in ci.splitlines(), "README test command differs from .ci/run"


def test_walkthrough_from_init_to_a_caught_edit(tmp_path: Path) -> None:
    def ok(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, (args, result.stderr)
        return result.stdout + result.stderr

    ok("init", "--site", "main", "--timezone", "America/New_York")
    assert "enrolled 20 clients" in ok("clients", "import", str(ROOT / "docs/examples/clients.csv"))
    assert "20 clients" in ok("audit", "verify")
    with sqlite3.connect(tmp_path / "screening.db") as connection:
        connection.execute("UPDATE clients SET phase = '3' WHERE code = 'C-101'")
        (seq,) = connection.execute(
            "SELECT ledger_seq FROM clients WHERE code = 'C-101'"
        ).fetchone()
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"entry {seq} (client" in result.stderr
    assert "differs from the ledger in phase" in result.stderr

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


def _section(text: str, heading: str) -> str:
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _console_commands(section: str) -> list[list[str]]:
    """The `$ screening ...` lines of a section's console blocks, as argument lists (the
    comment after `#` left out)."""
    import shlex

    commands = []
    for block in re.findall(r"```console\n(.*?)```", section, flags=re.S):
        for line in block.splitlines():
            if line.startswith("$ screening "):
                words = shlex.split(line[len("$ screening ") :], comments=True)
                commands.append(
                    [w.replace("../docs/examples/", f"{ROOT}/docs/examples/") for w in words]
                )
    return commands


def test_the_results_examples_run_as_written_and_read_as_the_text_says(tmp_path: Path) -> None:
    """README, "Recording results": on the walkthrough's fresh clinic, every command runs
    as printed, in order, on one day, and each client's result reads as the text after
    the examples says."""
    import json
    from datetime import UTC, datetime, timedelta

    from freezegun import freeze_time

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = _console_commands(_section(readme, "Recording results"))
    assert commands[0][:2] == ["results", "for-cause"]  # how to get screenings first
    clock = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York

    def ok(*args: str) -> str:
        nonlocal clock
        clock += timedelta(minutes=1)
        with freeze_time(clock):
            result = runner.invoke(app, list(args))
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result.stdout

    ok("init", "--site", "main", "--timezone", "America/New_York")
    ok("clients", "import", str(ROOT / "docs/examples/clients.csv"))
    for command in commands:
        ok(*command)

    rows = json.loads(ok("results", "list", "--json"))
    by_code: dict[str, list[dict]] = {}
    for row in rows:
        by_code.setdefault(row["code"], []).append(row)

    def one(code: str) -> dict:
        [row] = by_code[code]
        return row

    assert one("C-101")["reading"] == "negative"
    c103 = json.loads(ok("results", "show", "SP-0193", "--json"))
    assert [v["reading"] for v in c103["history"]] == ["unexpected_positive"]
    assert c103["current"]["reading"] == "expected_positive"
    assert "THC 9 ng/mL, confirmation cutoff 15: negative, confirmed" in c103["current"]["says"]
    assert one("C-107")["reading"] == "expected_positive"
    first, again = sorted(by_code["C-113"], key=lambda row: row["screening"])
    assert first["validity"] == "dilute" and again["reason"] == "recollection"
    assert again["status"] == "collected"
    c112 = one("C-112")
    assert c112["reading"] == "expected_positive"
    assert "not tested: EDDP, MDMA, MTD" in c112["levels"]
    assert [one(code)["status"] for code in ("C-110", "C-111", "C-114", "C-115")] == [
        "no_show",
        "refused",
        "excused",
        "pending",
    ]
    # Nobody on buprenorphine or methadone is flagged for possible diversion by accident.
    assert not [row for row in rows for flag in row["flags"] if "diversion" in flag]
    assert "ledger intact" in ok("audit", "verify")

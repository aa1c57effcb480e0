"""The README's walkthrough works as written, and CI runs the README's own commands."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time
from typer.testing import CliRunner

from screening.cli import app
from tests.conftest import isolate

ROOT = Path(__file__).parent.parent
runner = CliRunner()


def _shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def test_ci_runs_the_readme_setup_and_test_commands() -> None:
    """The README's first line is the set-up, then the demo; CI runs both halves (the
    demo in a scratch folder, so that it does not leave screening-demo/ in the clone)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    main, tests = _shell_blocks(readme)[0].strip(), _shell_blocks(readme)[1].strip()
    setup, demo = main.split(" && screening demo", 1)
    assert setup in ci.splitlines(), "README set-up command differs from .ci/run"
    assert f"screening demo{demo}" in ci, "README's demo command differs from .ci/run"
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


# The instant the demo is made: Tuesday 2026-12-08, 15:00 in New York. Every example then
# runs a minute after the one before, on the same day, as the README asks.
MADE = datetime(2026, 12, 8, 20, 0, tzinfo=UTC)
# Examples that cannot run in a test, and why.
NOT_RUN = {
    "schedule run": "runs in the foreground until stopped (tests/test_schedule*.py run it)",
}


@pytest.fixture(scope="module")
def demo_made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`screening demo` as the README's first line runs it, once for the module."""
    folder = tmp_path_factory.mktemp("readme")
    with pytest.MonkeyPatch.context() as patch, freeze_time(MADE):
        isolate(folder, patch)
        result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.stdout + result.stderr
    return folder / "screening-demo"


@dataclass
class Reader:
    """A newcomer typing the README's examples in the demo's folder, a minute apart."""

    folder: Path
    scratch: Path
    clock: datetime = MADE

    def run(self, words: list[str], folder: Path | None = None) -> Any:
        self.clock += timedelta(minutes=1)
        with freeze_time(self.clock), pytest.MonkeyPatch.context() as patch:
            patch.chdir(folder or self.folder)
            return runner.invoke(app, words)

    def ok(self, *words: str) -> str:
        result = self.run(list(words))
        assert result.exit_code == 0, (words, result.stdout, result.stderr)
        return result.stdout


@pytest.fixture
def reader(demo_made: Path, tmp_path: Path) -> Reader:
    folder = tmp_path / "screening-demo"
    shutil.copytree(demo_made, folder)
    return Reader(folder, tmp_path)


def _examples(text: str) -> list[tuple[int, str, int]]:
    """Every `$ ` line of the text's console blocks, in order: (block, line, the exit
    status the README shows after it as `exit N`, else 0)."""
    found = []
    for number, block in enumerate(re.findall(r"```console\n(.*?)```", text, flags=re.S)):
        lines = block.splitlines()
        for n, line in enumerate(lines):
            if not line.startswith("$ "):
                continue
            status = 0
            for after in lines[n + 1 :]:
                if after.startswith("$ "):
                    break
                if match := re.fullmatch(r"exit (\d+)", after.strip()):
                    status = int(match.group(1))
            found.append((number, line[2:], status))
    return found


def test_every_readme_example_runs_as_written_in_the_demo_folder(reader: Reader) -> None:
    """Each `$ ...` line of the README's console blocks, in order, in the demo's folder,
    exits as the README shows. Outside things are made local: /media/usb is a folder of
    the test, `> FILE` and `$(cat FILE)` are done by the test, `sqlite3` changes a copy of
    the clinic (for the rest of its block), `init` runs in a new empty folder."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    usb = reader.scratch / "usb"
    usb.mkdir()
    ran, tampered, tampered_block = 0, None, -1
    for block, line, status in _examples(readme):
        line = line.replace("/media/usb", str(usb))
        line = line.replace('; echo "exit $?"', "")
        redirect = None
        if " > " in line:
            line, redirect = (part.strip() for part in line.split(" > ", 1))
        words = shlex.split(line, comments=True)
        words = [
            Path(w[len("$(cat ") : -1]).read_text(encoding="utf-8").strip()
            if w.startswith("$(cat ")
            else w
            for w in words
        ]
        where = tampered if block == tampered_block else None
        if words[0] == "sqlite3":
            tampered, tampered_block = reader.scratch / "tampered", block
            shutil.copytree(reader.folder, tampered)
            with sqlite3.connect(tampered / words[1]) as connection:
                connection.execute(words[2])
            continue
        if words[0] == "python3":
            done = subprocess.run(
                [sys.executable, "-I", *words[1:]], capture_output=True, text=True, check=False
            )
            assert done.returncode == status, (line, done.stdout, done.stderr)
            continue
        assert words[0] == "screening", f"README example the test cannot run: {line}"
        if " ".join(words[1:3]) in NOT_RUN:
            continue
        if words[1] == "init":
            where = reader.scratch / "own-clinic"
            where.mkdir()
        result = reader.run(words[1:], where)
        assert result.exit_code == status, (line, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        if redirect is not None:
            Path(redirect).write_text(result.stdout, encoding="utf-8")
        ran += 1
    assert ran >= 40


def test_the_results_examples_read_as_the_text_says(reader: Reader) -> None:
    """README, "Recording results": in the demo's folder, every command runs as printed,
    in order, on one day, and each client's result reads as the text after the examples
    says."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for _, line, _ in _examples(_section(readme, "Recording results")):
        reader.ok(*shlex.split(line.removeprefix("screening "), comments=True))

    rows = json.loads(reader.ok("results", "list", "--json", "--from", str(MADE.date())))
    by_code: dict[str, list[dict]] = {}
    for row in rows:
        by_code.setdefault(row["code"], []).append(row)

    def one(code: str) -> dict:
        [row] = by_code[code]
        return row

    assert one("C-101")["reading"] == "negative"
    c103 = json.loads(reader.ok("results", "show", "SP-0193", "--json"))
    assert [v["reading"] for v in c103["history"]] == ["unexpected_positive"]
    assert c103["current"]["reading"] == "expected_positive"
    assert "THC 9 ng/mL, confirmation cutoff 15: negative, confirmed" in c103["current"]["says"]
    assert one("C-107")["reading"] == "expected_positive"
    first, again = sorted(by_code["C-119"], key=lambda row: row["screening"])
    assert first["validity"] == "dilute" and again["reason"] == "recollection"
    assert again["status"] == "collected"
    c112 = one("C-112")
    assert c112["reading"] == "expected_positive"
    assert "not tested: EDDP, MDMA, MTD" in c112["levels"]
    assert [one(code)["status"] for code in ("C-110", "C-111", "C-114")] == [
        "no_show",
        "refused",
        "excused",
    ]
    assert "pending" in [row["status"] for row in by_code["C-115"]]
    # C-113's dilute specimen, weeks ago, and its observed recollection.
    history = json.loads(reader.ok("results", "list", "--client", "C-113", "--json"))
    assert any(row.get("validity") == "dilute" for row in history)
    assert any(row["reason"] == "recollection" for row in history)
    # Nobody on buprenorphine or methadone is flagged for possible diversion by accident.
    assert not [row for row in rows for flag in row["flags"] if "diversion" in flag]
    assert "ledger intact" in reader.ok("audit", "verify")


def _section(text: str, heading: str) -> str:
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]

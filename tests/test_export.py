"""`audit export DIR` and screening-verify.py: an auditor verifies with stdlib Python alone."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time

from tests.conftest import BACKENDS, Clinic, _pg_schema_url, isolate, write_csv

PYTHON = shutil.which("python3", path="/usr/bin:/usr/local/bin") or "python3"


def _verifier(folder: Path) -> subprocess.CompletedProcess[str]:
    """The system's Python, isolated from this project and its virtual environment."""
    return subprocess.run(
        [PYTHON, "-I", str(folder / "screening-verify.py"), str(folder)],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )


def _in_process_verifier(folder: Path) -> Callable[[Path], tuple[int, str]]:
    """The export's own screening-verify.py loaded in this process: a function of a folder
    that gives its exit code and stderr. For the many runs of one test; the first test
    proves it runs on stdlib Python alone."""
    path = folder / "screening-verify.py"
    spec = importlib.util.spec_from_file_location("screening_verify", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def verify(export: Path) -> tuple[int, str]:
        errors = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(errors):
            code = module.main(["screening-verify.py", str(export)])
        return code, errors.getvalue()

    return verify


class SharedClinic(Clinic):
    """The module's clinic, usable from any test's folder: the config is named outright."""

    def run(self, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        config = {"SCREENING_CONFIG": str(self.folder / "screening.toml")}
        return super().run(*args, env={**config, **(env or {})})


@pytest.fixture(scope="module", params=BACKENDS)
def _export(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Clinic, Path]]:
    """Built once per backend; each test gets its own copy of the export (``exported``)."""
    tmp_path = tmp_path_factory.mktemp("exported")
    with pytest.MonkeyPatch.context() as mp:
        isolate(tmp_path, mp)
        if request.param == "sqlite":
            yield _build_export(SharedClinic(tmp_path, f"sqlite:///{tmp_path / 'screening.db'}"))
        else:
            urls = _pg_schema_url()
            try:
                yield _build_export(SharedClinic(tmp_path, next(urls)))
            finally:
                urls.close()


@pytest.fixture
def exported(_export: tuple[Clinic, Path], tmp_path: Path) -> tuple[Clinic, Path]:
    clinic, built = _export
    folder = tmp_path / "export"
    shutil.copytree(built, folder)
    return clinic, folder


def _build_export(clinic: Clinic) -> tuple[Clinic, Path]:
    tmp_path = clinic.folder
    start = date(2026, 11, 2)
    with freeze_time(f"{start}T12:00:00Z"):
        clinic.ok("init", "--timezone", "America/New_York")
        config = clinic.folder / "screening.toml"
        config.write_text(config.read_text().replace('days = "meeting"', 'days = "calendar"'))
        rows = [
            f"C-{i:02d},Client {i},{('morning', 'evening')[i % 2]},{1 + i % 3},2026-10-01,"
            for i in range(24)
        ]
        clinic.ok("clients", "import", str(write_csv(tmp_path / "c.csv", rows)))
        clinic.ok(
            "clients",
            "hold",
            "C-01",
            "--from",
            "2026-11-04",
            "--to",
            "2026-11-06",
            "--reason",
            "travel",
        )
        clinic.ok("close", "2026-11-08", "--reason", "holiday")
    for offset in range(12):
        day = start + timedelta(days=offset)
        with freeze_time(f"{day}T12:00:00Z"):
            clinic.ok("select")
            if offset == 3:
                clinic.ok(
                    "clients",
                    "add",
                    "C-90",
                    "--track",
                    "morning",
                    "--phase",
                    "1",
                    "--admitted",
                    day.isoformat(),
                )
                clinic.ok("select", "--amend", "--reason", "admitted this morning")
            if offset == 5:
                ordered = clinic.ok("results", "for-cause", "C-02", "--reason", "concern")
                # C-02 may be drawn that day too: the cancellation names its screening.
                number = ordered.stderr.split("for-cause screening ")[1].split()[0]
                clinic.ok(
                    "results", "cancel", "C-02", "--screening", number,
                    "--reason", "entered in error",
                )  # fmt: skip
    with freeze_time("2026-11-14T15:00:00Z"):
        clinic.ok("select", "--late", "2026-11-13", "--reason", "server down")
        folder = tmp_path / "export"
        done = clinic.ok(
            "audit", "export", str(folder), "--to", "State Auditor", "--purpose", "audit"
        )
    assert "recorded as a disclosure to State Auditor" in done.stderr
    return clinic, folder


def test_the_export_verifies_with_the_standard_library_alone(exported) -> None:  # type: ignore[no-untyped-def]
    clinic, folder = exported
    done = _verifier(folder)
    assert done.returncode == 0, done.stderr
    revealed = clinic.sql("SELECT count(*) FROM ledger WHERE kind = 'reveal'")[0][0]
    amended = clinic.sql("SELECT count(*) FROM ledger WHERE kind = 'draw_amend'")[0][0]
    assert f"{revealed + amended} draws replayed from revealed keys" in done.stdout
    assert revealed >= 12 and amended == 1
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(
        stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600)
        for p in folder.rglob("*")
    )
    text = (folder / "ledger.jsonl").read_text()
    for private in ("Client 1", "C-01", "travel", "holiday", "concern", "server down"):
        assert private not in text
    # The export is recorded as a disclosure to State Auditor: the entry after the
    # exported ledger's last, naming the export by the SHA-256 of its manifest.json.
    last = json.loads(text.splitlines()[-1])
    ((seq, canonical),) = clinic.sql(
        "SELECT seq, canonical FROM ledger WHERE kind = 'disclosure' AND seq = :s",
        s=last["seq"] + 1,
    )
    body = json.loads(canonical)["body"]
    assert body["basis"] == "audit" and body["purpose"] == "audit"
    assert body["content"] == hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
    assert clinic.sql("SELECT recipient FROM disclosures WHERE seq = :s", s=seq) == [
        ("State Auditor",)
    ]


def test_any_changed_byte_of_any_line_is_caught_and_named(exported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, folder = exported
    lines = (folder / "ledger.jsonl").read_bytes().split(b"\n")[:-1]
    verify = _in_process_verifier(folder)
    copy = tmp_path / "copy"  # the export with one line changed: the rest as exported
    shutil.copytree(folder, copy)
    for index in range(len(lines)):
        line = bytearray(lines[index])
        middle = len(line) // 2
        line[middle] = ord("7") if line[middle] != ord("7") else ord("8")
        changed = lines[:index] + [bytes(line)] + lines[index + 1 :]
        (copy / "ledger.jsonl").write_bytes(b"\n".join(changed) + b"\n")
        code, errors = verify(copy)
        assert code == 1, (index, errors)
        assert errors.startswith("problem: ")


def test_a_rewritten_history_with_new_hashes_fails_the_replay(exported) -> None:  # type: ignore[no-untyped-def]
    _, folder = exported
    lines = (folder / "ledger.jsonl").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    draw = next(
        e
        for e in entries
        if e["kind"] == "draw"
        and e["body"]["pool"]
        and len(e["body"]["selected"]) < len(e["body"]["pool"])
    )
    chosen = {s["uid"] for s in draw["body"]["selected"]}
    extra = next(p["uid"] for p in draw["body"]["pool"] if p["uid"] not in chosen)
    draw["body"]["selected"] = sorted(
        draw["body"]["selected"] + [{"uid": extra, "why": "random"}], key=lambda s: s["uid"]
    )
    prev = "0" * 64
    out = []
    for entry in entries:
        entry["prev"] = prev
        text = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        prev = hashlib.sha256(text.encode()).hexdigest()
        out.append(text)
    data = ("\n".join(out) + "\n").encode()
    (folder / "ledger.jsonl").write_bytes(data)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["head"] = f"{len(out)}:{prev}"
    manifest["files"]["ledger.jsonl"] = hashlib.sha256(data).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    done = _verifier(folder)
    assert done.returncode == 1
    assert f"entry {draw['seq']} (draw" in done.stderr
    assert "the selection is not what the revealed key draws" in done.stderr


def test_export_refuses_a_used_folder_and_a_bad_purpose(exported) -> None:  # type: ignore[no-untyped-def]
    clinic, folder = exported
    size = clinic.sql("SELECT count(*) FROM ledger")[0][0]
    with freeze_time("2026-11-14T16:00:00Z"):
        used = clinic.run(
            "audit", "export", str(folder), "--to", "State Auditor", "--purpose", "audit"
        )
        bad = clinic.run(
            "audit", "export", str(folder.parent / "new"), "--to", "X", "--purpose", "curiosity"
        )
    assert used.exit_code == 2 and "is not empty" in used.stderr
    assert bad.exit_code == 2 and "--purpose 'curiosity' is not one of" in bad.stderr
    assert clinic.sql("SELECT count(*) FROM ledger")[0][0] == size
    assert not (folder.parent / "new").exists()
    with freeze_time("2026-11-14T16:00:00Z"):
        clinic.ok("audit", "verify")

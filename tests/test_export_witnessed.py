"""`audit export` ships the witnessed checkpoints and anchors with the witness public key,
and screening-verify.py checks them, and every field of the manifest (issue 14).

The exported verifier runs in-process here (loaded from the export, as the auditor's
Python would run it); one run with the system's Python, isolated from this project,
shows it still needs nothing of screening."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from freezegun import freeze_time

from screening.core.checkpoint import Anchor, anchors_text, public_bytes, sign, vkey
from tests.conftest import Clinic, Inits
from tests.test_witnessed import _witnessed_clinic
from tests.witness_notes import origin, witness_key

PYTHON = shutil.which("python3", path="/usr/bin:/usr/local/bin") or "python3"


@pytest.fixture
def exported(backend: str, tmp_path: Path, inits: Inits) -> tuple[Clinic, Path]:
    clinic = Clinic(tmp_path, backend)
    inits.prepare(clinic, "test_export_witnessed: exported", _exported)
    return clinic, tmp_path / "export"


def _exported(clinic: Clinic) -> None:
    _witnessed_clinic(clinic)
    with freeze_time("2026-11-03T09:00:00Z"):
        clinic.ok("audit", "export", str(clinic.folder / "export"), "--to", "State Auditor",
                  "--purpose", "audit")  # fmt: skip


def _verifier(folder: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "exported_verifier", folder / "screening-verify.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(folder: Path, capsys: pytest.CaptureFixture[str], *args: str, module: Any = None):  # type: ignore[no-untyped-def]
    code = (module or _verifier(folder)).main(["screening-verify.py", str(folder), *args])
    out, err = capsys.readouterr()
    return code, out, err


def _copy(folder: Path, name: str) -> Path:
    copy = folder.parent / name
    shutil.copytree(folder, copy)
    return copy


def _rewrite_manifest(folder: Path, edit) -> None:  # type: ignore[no-untyped-def]
    manifest = json.loads((folder / "manifest.json").read_text())
    edit(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _rehash(folder: Path, name: str) -> None:
    digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    _rewrite_manifest(folder, lambda m: m["files"].__setitem__(name, digest))


def test_the_export_ships_the_witnessed_notes_and_its_verifier_checks_them(
    exported: tuple[Clinic, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    clinic, folder = exported
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == "screening-export/2"
    shipped = sorted(name for name in manifest["files"] if name.startswith("witness/"))
    checkpoints = [name for name in shipped if name.endswith(".checkpoint")]
    assert len(checkpoints) == 3 and "witness/witness.vkey" in shipped
    assert any(name.endswith(".anchors") for name in shipped)
    code, out, err = _run(folder, capsys)
    assert code == 0, err
    assert "witnessed: 3 checkpoints hold" in out
    assert "signatures checked with the witness key shipped in the export" in out
    assert "for a stronger check pass --vkey" in err

    # Standalone: the system's Python, isolated from this project.
    done = subprocess.run(
        [PYTHON, "-I", str(folder / "screening-verify.py"), str(folder)],
        capture_output=True, text=True, check=False, cwd="/",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "witnessed: 3 checkpoints hold" in done.stdout

    # The auditor's own copy of the witness key: stronger, and another key is refused.
    name, own = origin(clinic), witness_key(clinic)
    code, out, err = _run(folder, capsys, "--vkey", vkey(name, public_bytes(own.public_key())))
    assert code == 0 and "signatures checked with the witness key you gave (--vkey)" in out
    assert "warning" not in err
    stranger = public_bytes(Ed25519PrivateKey.generate().public_key())
    code, _, err = _run(folder, capsys, "--vkey", vkey(name, stranger))
    assert code == 1
    assert "the witness key shipped in the export is not the witness key you gave" in err
    code, _, err = _run(folder, capsys, "--vkey", vkey("screening/0123456789abcdef", stranger))
    assert code == 1 and "the ledger is not the one that was witnessed" in err

    for bad in (["--vkey", "banana"], ["--witnessed", str(folder / "nowhere")]):
        with pytest.raises(SystemExit) as usage:
            _run(folder, capsys, *bad)
        assert usage.value.code == 2
    assert "--witnessed" in capsys.readouterr().err

    # The anchors against the auditor's witnessed copies (the clinic's witness folder).
    witness = clinic.folder / "screening-witness"
    code, out, err = _run(folder, capsys, "--witnessed", str(witness))
    assert code == 0, err
    assert "witnessed: 3 checkpoints hold" in out
    commitments = clinic.sql("SELECT count(*) FROM ledger WHERE kind = 'commitment'")[0][0]
    assert f"witnessed anchors match the ledger's commitments: {commitments}" in out
    seq, text = clinic.sql("SELECT seq, canonical FROM ledger WHERE kind = 'commitment'")[0]
    body = json.loads(text)["body"]
    note = next((witness / name.replace("/", "-") / "anchors").glob(f"main-{body['period']}*"))
    wrong = Anchor("main", body["period"], body["length"], "cd" * 32, seq)
    note.write_text(sign(anchors_text(name, [wrong]), name, own))
    code, _, err = _run(folder, capsys, "--witnessed", str(witness))
    assert code == 1
    assert f"the commitment of site main for {body['period']} differs from the one witnessed" in err


def test_a_changed_manifest_field_or_shipped_checkpoint_is_rejected(
    exported: tuple[Clinic, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, folder = exported
    module = _verifier(folder)
    entries = json.loads((folder / "manifest.json").read_text())["entries"]
    for number, (field, value, says) in enumerate(
        [
            ("entries", entries + 1, f"the ledger holds {entries} entries, the manifest says"),
            ("entries", "many", "entries 'many' is not a number of entries"),
            ("format", "screening-export/9", "manifest.json says format 'screening-export/9'"),
            ("head", "1:" + "0" * 64, "the manifest says 1:"),
            ("extra", "x", "manifest.json has the fields entries, extra, files, format, head"),
        ]
    ):
        copy = _copy(folder, f"field{number}")
        _rewrite_manifest(copy, lambda manifest, f=field, v=value: manifest.__setitem__(f, v))
        code, _, err = _run(copy, capsys, module=module)
        assert code == 1 and err.startswith("problem: ") and says in err, (field, err)

    # A changed byte in a shipped checkpoint: its manifest hash, else its signature.
    name = sorted(n for n in json.loads((folder / "manifest.json").read_text())["files"]
                  if n.endswith(".checkpoint"))[1]  # fmt: skip
    copy = _copy(folder, "changed")
    note = (copy / name).read_text()
    (copy / name).write_text(note.replace("time 2026-11-02T13", "time 2026-11-02T12"))
    code, _, err = _run(copy, capsys, module=module)
    assert code == 1 and name in err and "does not verify with the witness key" in err
    _rehash(copy, name)
    code, _, err = _run(copy, capsys, module=module)
    assert code == 1 and f"{name}: its signature does not verify with the witness key" in err
    (copy / name).write_text(note)
    code, _, err = _run(copy, capsys, module=module)
    assert code == 1 and f"{name} does not match its hash in the manifest" in err

    # Without `cryptography` the signatures are not checked (said plainly), but a changed
    # tree head still fails against the ledger.
    module.SIGNATURES = False
    code, out, err = _run(folder, capsys, module=module)
    assert code == 0 and "signatures NOT checked" in out
    assert "warning: signatures were NOT checked: the Python package `cryptography`" in err
    lines = note.split("\n")
    lines[2] = base64.b64encode(bytes(32)).decode()
    (copy / name).write_text("\n".join(lines))
    _rehash(copy, name)
    code, _, err = _run(copy, capsys, module=module)
    assert code == 1 and f"the ledger does not match the checkpoint {name}" in err


def test_an_export_stripped_of_its_witnessed_notes_fails_the_check_the_auditor_asked_for(
    exported: tuple[Clinic, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """witness/ removed and the manifest made to match: with the auditor's own key
    (--vkey) there is nothing to check it with, and that is a failure, not a warning."""
    clinic, folder = exported
    vkey = (folder / "witness" / "witness.vkey").read_text().strip()
    copy = _copy(folder, "stripped")
    shutil.rmtree(copy / "witness")
    _rewrite_manifest(
        copy,
        lambda manifest: manifest.__setitem__(
            "files", {n: d for n, d in manifest["files"].items() if not n.startswith("witness/")}
        ),
    )
    module = _verifier(copy)
    code, _, err = _run(copy, capsys, module=module)
    assert code == 0 and "the export carries no witnessed checkpoint" in err
    code, _, err = _run(copy, capsys, "--vkey", vkey, module=module)
    assert code == 1 and "no witnessed checkpoint could be checked" in err
    module.SIGNATURES = False
    code, _, err = _run(folder, capsys, "--vkey", vkey, module=module)
    assert code == 1 and "need the Python package `cryptography`" in err


def test_a_file_beside_the_export_is_named_and_format_1_carries_no_witness_files(
    exported: tuple[Clinic, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, folder = exported
    copy = _copy(folder, "extra")
    (copy / "witness" / "checkpoints" / "000000000099-20261102T150000Z.checkpoint").write_text("x")
    (copy / "evil.py").write_text("print('hello')\n")
    code, _, err = _run(copy, capsys)
    assert code == 0
    assert "warning: evil.py is in the export folder but not in its manifest" in err
    assert "witness/checkpoints/000000000099-20261102T150000Z.checkpoint is in the export" in err
    older = _copy(folder, "older")
    _rewrite_manifest(older, lambda manifest: manifest.__setitem__("format", "screening-export/1"))
    code, _, err = _run(older, capsys)
    assert code == 1 and "format screening-export/1, which carries no witnessed notes" in err

"""`audit receipt CODE DATE` and `screening-verify.py --receipt FILE`: a client's receipt
of one day's draw verifies alone; a receipt with any one character changed does not.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from screening.core import beacon
from screening.core.ledger import make_entry
from screening.core.receipt import (
    NOT_SELECTED,
    RANDOM,
    BeaconPart,
    DayReceipt,
    check_line,
    render,
)
from screening.core.selection import anchor, day_key, day_seed, is_selected, score
from tests.beacon_chain import RECORDED
from tests.conftest import Clinic

SCRIPT = Path(__file__).resolve().parents[1] / "screening" / "data" / "screening_verify.py"
NEW_YORK = "America/New_York"


@pytest.fixture(scope="module")
def verifier() -> ModuleType:
    spec = importlib.util.spec_from_file_location("screening_verify_receipt", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    """The verifier as an auditor runs it: the file, in a Python of its own."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )


def recheck(text: str) -> str:
    """``text`` with its check line made again: a forger's first step."""
    body = text[: text.rindex("check: ")]
    return body + check_line(body)


def fails(verifier: ModuleType, text: str) -> str:
    with pytest.raises(verifier.Problem) as caught:
        verifier.check_receipt(text)
    return str(caught.value)


# --- a clinic's receipts (no beacon governs) -----------------------------------------


@pytest.fixture
def drawn(backend: str, tmp_path: Path) -> Clinic:
    """A client on a Mon/Wed/Fri track drawn each day from 2 to 6 November 2026."""
    clinic = Clinic(tmp_path, backend)
    with freeze_time("2026-11-02T12:00:00Z"):
        clinic.ok("init", "--timezone", NEW_YORK)
        clinic.ok("clients", "add", "C-1", "--track", "morning", "--phase", "1")
        clinic.ok("clients", "add", "C-2", "--track", "morning", "--phase", "3")
    for day in range(2, 7):
        with freeze_time(f"2026-11-{day:02d}T12:00:00Z"):
            clinic.ok("select")
    return clinic


def test_a_receipt_of_a_day_over_verifies_alone(drawn: Clinic, tmp_path: Path) -> None:
    out = tmp_path / "receipt.txt"
    with freeze_time("2026-11-06T15:00:00Z"):
        printed = drawn.ok("audit", "receipt", "C-1", "2026-11-04").stdout
        drawn.ok("audit", "receipt", "C-1", "2026-11-04", "--out", str(out))
    assert out.read_text(encoding="utf-8") == printed
    uid = drawn.sql("SELECT uid FROM clients WHERE code = 'C-1'")[0][0]
    assert f"client: {uid}\n" in printed and "C-1" not in printed
    assert "daily chance: 2/3\n" in printed
    assert "beacon: none" in printed and "score: " in printed
    done = run_script("--receipt", str(out))
    assert done.returncode == 0, done.stderr
    assert "checked: day key: opens the anchor" in done.stdout
    assert "checked: score: recomputed from the day key" in done.stdout
    assert "not checked: the client's uid, daily chance" in done.stdout
    # The same outcome the draw recorded.
    outcome = printed.split("outcome: ")[1].split("\n")[0]
    selected = drawn.sql(
        "SELECT count(*) FROM screenings s JOIN clients c ON c.id = s.client_id "
        "WHERE c.code = 'C-1' AND s.date = '2026-11-04'"
    )[0][0]
    assert (outcome != NOT_SELECTED) == bool(selected)


def test_every_changed_character_fails(drawn: Clinic, verifier: ModuleType) -> None:
    with freeze_time("2026-11-06T15:00:00Z"):
        text = drawn.ok("audit", "receipt", "C-2", "2026-11-04").stdout
    verifier.check_receipt(text)
    for position, character in enumerate(text):
        changed = "x" if character != "x" else "y"
        if character == "\n":
            changed = " "
        variant = text[:position] + changed + text[position + 1 :]
        with pytest.raises(verifier.Problem):
            verifier.check_receipt(variant)
    assert "check line does not match" in fails(verifier, text.replace("2026-11-04", "2026-11-05"))


def test_a_forger_who_remakes_the_check_line_is_caught(drawn: Clinic, verifier: ModuleType) -> None:
    with freeze_time("2026-11-06T15:00:00Z"):
        text = drawn.ok("audit", "receipt", "C-2", "2026-11-04").stdout
    facts = verifier.parse_receipt(text[: text.rindex("check: ")])
    flipped = "yes" if text.split("2^256: ")[1][:2] == "no" else "no"
    other = RANDOM if NOT_SELECTED in text else NOT_SELECTED
    cases = {
        "outcome": text.replace(facts["outcome"], other),
        "test": text.replace("2^256: yes", "2^256: no").replace(
            "2^256: no\n", f"2^256: {flipped}\n"
        ),
        "score": text.replace(f"score: {facts['score']:064x}", f"score: {facts['score'] ^ 1:064x}"),
        "key": text.replace(
            facts["key"], facts["key"][:-1] + "0" if facts["key"][-1] != "0" else "1"
        ),
        "commitment": text.replace('"length":31', '"length":30'),
        "zone": text.replace("(07:00 America/New_York)", "(07:00 America/Chicago)"),
        "date": text.replace("date: 2026-11-04", "date: 2026-11-03"),
    }
    for what, variant in cases.items():
        assert variant != text, what
        with pytest.raises(verifier.Problem):
            verifier.check_receipt(recheck(variant))


def test_a_day_not_over_verifies_what_it_can(drawn: Clinic, tmp_path: Path) -> None:
    with freeze_time("2026-11-06T15:00:00Z"):
        text = drawn.ok("audit", "receipt", "C-1", "2026-11-06").stdout
    assert "day key: not revealed yet: the clinic reveals it with its first write after 2026-11-06 ends" in text
    assert "score:" not in text
    path = tmp_path / "today.txt"
    path.write_text(text, encoding="utf-8")
    done = run_script("--receipt", str(path))
    assert done.returncode == 0, done.stderr
    assert "not checked: the outcome: the day key of 2026-11-06 is not revealed yet" in done.stdout


def test_a_receipt_checked_against_the_export(drawn: Clinic, tmp_path: Path) -> None:
    path = tmp_path / "receipt.txt"
    with freeze_time("2026-11-06T15:00:00Z"):
        drawn.ok("audit", "receipt", "C-1", "2026-11-05", "--out", str(path))
        drawn.ok(
            "audit", "export", str(tmp_path / "export"), "--to", "Auditor", "--purpose", "audit"
        )
    done = run_script(str(tmp_path / "export"), "--receipt", str(path))
    assert done.returncode == 0, done.stderr
    assert "checked: against the export: the draw entry" in done.stdout
    assert "clinic's statement" not in done.stdout
    # A reason to be left out that the ledger does not give, with the check line remade:
    # alone it passes (the reason is the clinic's statement); the export tells.
    text = path.read_text(encoding="utf-8")
    assert "outcome: not in the draw: not a meeting day of their track" in text
    path.write_text(recheck(text.replace("not a meeting day of their track", "on hold")))
    assert run_script("--receipt", str(path)).returncode == 0
    done = run_script(str(tmp_path / "export"), "--receipt", str(path))
    assert done.returncode == 1
    assert "gives the client another chance or outcome" in done.stderr
    # A selectable day checks against the export too.
    with freeze_time("2026-11-06T15:00:00Z"):
        drawn.ok("audit", "receipt", "C-1", "2026-11-04", "--out", str(tmp_path / "wed.txt"))
    done = run_script(str(tmp_path / "export"), "--receipt", str(tmp_path / "wed.txt"))
    assert done.returncode == 0, done.stderr


def test_refusals(drawn: Clinic) -> None:
    with freeze_time("2026-11-06T15:00:00Z"):
        unknown = drawn.run("audit", "receipt", "C-9", "2026-11-04")
        future = drawn.run("audit", "receipt", "C-1", "2026-11-07")
        none = drawn.run("audit", "receipt", "C-1", "2026-11-01")
        bad = drawn.run("audit", "receipt", "C-1", "yesterday")
    assert unknown.exit_code == 2 and "C-9" in unknown.stderr
    assert future.exit_code == 2 and "2026-11-07 is in the future" in future.stderr
    assert none.exit_code == 2 and "no draw for 2026-11-01 at main" in none.stderr
    assert bad.exit_code == 2
    assert run_script().returncode == 2


def test_a_receipt_is_a_read_of_the_chart(drawn: Clinic) -> None:
    uid = drawn.sql("SELECT uid FROM clients WHERE code = 'C-1'")[0][0]
    with freeze_time("2026-11-06T15:00:00Z"):
        by_uid = drawn.ok("audit", "receipt", uid, "2026-11-04").stdout
    viewed = [
        json.loads(text)["body"]
        for (text,) in drawn.sql("SELECT canonical FROM ledger WHERE kind = 'viewed'")
    ]
    assert {"command": "audit receipt", "clients": [uid]} in viewed
    assert by_uid.startswith("screening day receipt")


# --- receipts of beacon days: a published quicknet round ----------------------------

MASTER = bytes(range(32))
DAY = date(2023, 9, 15)


def beacon_receipt(
    *, missing: str | None = None, p: str = "1/6", uid: str = "7d2f1c3e-0a4b-4c5d-8e9f-101112131415"
) -> str:
    """The receipt of 2023-09-15 in New York with run_at 07:00: round 657413, as drand
    quicknet published it (the clinic made with the DESIGN §5 test key)."""
    zone = ZoneInfo(NEW_YORK)
    drawn_at = datetime(2023, 9, 15, 11, 0, 41, tzinfo=UTC)
    rule = beacon.draw_time(DAY, time(7, 0), zone)
    number = beacon.round_after(beacon.QUICKNET, rule)
    signature = RECORDED[number]["signature"]
    randomness = hashlib.sha256(bytes.fromhex(signature)).hexdigest()
    commitment = make_entry(
        seq=4,
        prev="ab" * 32,
        at=datetime(2023, 8, 20, 9, 0, tzinfo=UTC),
        actor={"os_digest": "cd" * 32},
        site="main",
        kind="commitment",
        body={"period": "2023-09", "length": 31, "anchor": anchor(MASTER, "main", "2023-09").hex()},
    )
    key = day_key(MASTER, "main", DAY)
    if missing is None:
        seed = day_seed(key, "main", DAY, f"drand-quicknet:{number}", bytes.fromhex(randomness))
    else:
        seed = day_seed(key, "main", DAY)
    x = score(seed, uid)
    p_num, p_den = (int(part) for part in p.split("/"))
    from fractions import Fraction

    picked = is_selected(x, Fraction(p_num, p_den))
    part = BeaconPart(
        kind="drand-quicknet",
        round=number,
        round_time=beacon.round_time(beacon.QUICKNET, number),
        chain=beacon.QUICKNET.chain_hash,
        run_at="07:00",
        zone=NEW_YORK,
        draw_time=rule,
        signature=None if missing else signature,
        randomness=None if missing else randomness,
        missing=missing,
    )
    return render(
        DayReceipt(
            site="main",
            day=DAY,
            uid=uid,
            chance=p,
            per_day=0,
            outcome=RANDOM if picked else NOT_SELECTED,
            draw_seq=812,
            draw_hash="ef" * 32,
            amended=False,
            late=False,
            drawn_at=drawn_at,
            zone=NEW_YORK,
            beacon=part,
            commitment=commitment.canonical,
            commitment_hash=commitment.hash,
            key=key.hex(),
            reveal_seq=830,
            reveal_at=datetime(2023, 9, 16, 11, 0, tzinfo=UTC),
            score=x,
        )
    )


def test_a_beacon_day_receipt_verifies_alone(tmp_path: Path) -> None:
    text = beacon_receipt()
    assert "beacon: drand-quicknet round 657413, published 2023-09-15T11:00:03Z\n" in text
    assert "draw time: 2023-09-15T11:00:00Z (run_at 07:00 in America/New_York)" in text
    path = tmp_path / "receipt.txt"
    path.write_text(text, encoding="utf-8")
    done = run_script("--receipt", str(path))
    assert done.returncode == 0, done.stderr
    assert "checked: beacon round: 657413 is the first published after" in done.stdout
    assert "checked: beacon signature: round 657413 verifies" in done.stdout
    assert "checked: score: recomputed from the day key and the beacon" in done.stdout


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda t: t.replace("round 657413,", "round 657414,"), "not the first round after"),
        (lambda t: t.replace("run_at 07:00", "run_at 07:01"), "not run_at 07:01"),
        (lambda t: t.replace("beacon signature: b7", "beacon signature: b6"), "randomness"),
    ],
)
def test_a_beacon_changed_and_rechecked_fails(verifier: ModuleType, edit, named: str) -> None:  # type: ignore[no-untyped-def]
    text = edit(beacon_receipt())
    assert named in fails(verifier, recheck(text))


def test_a_signature_that_does_not_verify_fails(verifier: ModuleType) -> None:
    text = beacon_receipt()
    signature = text.split("beacon signature: ")[1][:96]
    flipped = bytearray(bytes.fromhex(signature))
    flipped[20] ^= 1
    text = text.replace(signature, flipped.hex()).replace(
        hashlib.sha256(bytes.fromhex(signature)).hexdigest(),
        hashlib.sha256(bytes(flipped)).hexdigest(),
    )
    assert "the beacon signature of round 657413" in fails(verifier, recheck(text))


def test_every_changed_character_of_a_beacon_receipt_fails(verifier: ModuleType) -> None:
    text = beacon_receipt()
    verifier.check_receipt(text)
    for position in range(0, len(text), 3):
        variant = text[:position] + ("x" if text[position] != "x" else "y") + text[position + 1 :]
        with pytest.raises(verifier.Problem):
            verifier.check_receipt(variant)


def test_a_fallback_day_receipt_says_so(tmp_path: Path) -> None:
    text = beacon_receipt(missing="no relay answered with a valid round within 60 minutes")
    assert "beacon missing: no relay answered" in text
    assert "flag: drawn without its beacon" in text
    path = tmp_path / "receipt.txt"
    path.write_text(text, encoding="utf-8")
    done = run_script("--receipt", str(path))
    assert done.returncode == 0, done.stderr
    assert "flag: drawn without its beacon (round 657413: no relay answered" in done.stdout
    assert "score: recomputed from the day key\n" in done.stdout


def test_without_a_bls_library_the_signature_is_said_unchecked(
    verifier: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verifier, "bls_library", lambda: None)
    _, checked, unchecked, _ = verifier.check_receipt(beacon_receipt())
    assert any("BLS signature: no BLS library" in line for line in unchecked)
    assert not any(line.startswith("beacon signature") for line in checked)


def test_the_day_before_the_round_rule_is_pinned(verifier: ModuleType) -> None:
    # The script's copy of the round rule agrees with the core's on the spec's example.
    chain = verifier.BEACON_CHAINS[beacon.QUICKNET.chain_hash]
    rule = verifier.fire_time(DAY, time(7, 0), ZoneInfo(NEW_YORK))
    assert verifier.beacon_round_after(chain, rule) == 657413
    for moment in (rule, rule + timedelta(seconds=3), beacon.round_time(beacon.QUICKNET, 657413)):
        assert verifier.beacon_round_after(chain, moment) == beacon.round_after(
            beacon.QUICKNET, moment
        )

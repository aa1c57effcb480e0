"""Receipts of real beacon draws (issue 20): days drawn by `screening select` with a beacon
round fetched from a relay on 127.0.0.1, each client's receipt checked by the exported
`screening-verify.py` run as a file in a Python of its own, alone.

The test chain (tests/beacon_chain.py) is made known to the script's pinned chains in
that subprocess only, by a wrapper that loads the script, adds the chain and calls its
main(): the shipped script accepts no chain from its input. A published quicknet round
(657413) is checked with the real pinned key, by the script as shipped.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from screening.core import beacon
from screening.core.beacon import Chain
from screening.core.receipt import FLAG_NO_BEACON, NOT_SELECTED, RANDOM, check_line
from tests.beacon_chain import RECORDED, Relay, recorded_round, signed_round, use_test_chain
from tests.conftest import Clinic
from tests.test_beacon_draw import _open

SCRIPT = Path(__file__).resolve().parents[1] / "screening" / "data" / "screening_verify.py"
ON_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
OPENED = "2026-03-02T15:00:00Z"  # the beacon governs from 3 March
DRAWN = "2026-03-03T12:00:10Z"  # 07:00:10 in New York: the round of 07:00 is out
SAME_DAY = "2026-03-03T15:00:00Z"
NEXT_DRAW = "2026-03-04T12:00:10Z"  # the next draw reveals 3 March's key
NEXT_DAY = "2026-03-04T15:00:00Z"
HELD = "C-19"
NEW_YORK = ZoneInfo("America/New_York")

# The script, with one more pinned chain, in this subprocess only.
WRAPPER = """\
import runpy, sys
script = runpy.run_path({script!r}, run_name="screening_verify")
script["BEACON_CHAINS"][{chain_hash!r}] = {{
    "kind": {kind!r}, "public_key": bytes.fromhex({key!r}), "genesis": {genesis!r},
    "period": {period!r},
}}
sys.exit(script["main"](["screening-verify.py", *sys.argv[1:]]))
"""


@pytest.fixture
def clinic(backend: str, tmp_path: Path) -> Clinic:
    return Clinic(tmp_path, backend)


def verify_alone(
    text: str, folder: Path, chain: Chain | None = None
) -> subprocess.CompletedProcess[str]:
    """``screening-verify.py --receipt`` on ``text``, as a client runs it: the file, in a
    Python of its own (with the test chain pinned too when ``chain`` is given)."""
    path = folder / "receipt.txt"
    path.write_text(text, encoding="utf-8")
    command = [sys.executable, str(SCRIPT)]
    if chain is not None:
        wrapper = folder / "verify_with_test_chain.py"
        wrapper.write_text(
            WRAPPER.format(
                script=str(SCRIPT),
                chain_hash=chain.chain_hash,
                kind=chain.kind,
                key=chain.public_key.hex(),
                genesis=chain.genesis,
                period=chain.period,
            )
        )
        command = [sys.executable, str(wrapper)]
    return subprocess.run(
        [*command, "--receipt", str(path)], capture_output=True, text=True, check=False
    )


def _script_with(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The script loaded in this process, the test chain pinned in it for this test."""
    spec = importlib.util.spec_from_file_location("screening_verify_beacon", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(
        module.BEACON_CHAINS,
        chain.chain_hash,
        {
            "kind": chain.kind,
            "public_key": chain.public_key,
            "genesis": chain.genesis,
            "period": chain.period,
        },
    )
    return module


def _changed(text: str, position: int) -> str:
    """``text`` with the character at ``position`` changed (a newline to a space)."""
    character = text[position]
    changed = " " if character == "\n" else ("x" if character != "x" else "y")
    return text[:position] + changed + text[position + 1 :]


def _draw(clinic: Clinic, day: str) -> dict[str, Any]:
    [(text,)] = clinic.sql(
        "SELECT canonical FROM ledger WHERE kind = 'draw' AND canonical LIKE :d",
        d=f'%"date":"{day}"%',
    )
    return json.loads(text)["body"]


def _uid(clinic: Clinic, code: str) -> str:
    return clinic.sql("SELECT uid FROM clients WHERE code = :c", c=code)[0][0]


def _receipt(clinic: Clinic, when: str, client: str, day: str) -> str:
    with freeze_time(when):
        return clinic.ok("audit", "receipt", client, day).stdout


@pytest.fixture
def drawn(clinic: Clinic, monkeypatch: pytest.MonkeyPatch) -> tuple[Clinic, Chain]:
    """20 clients in New York drawing at 07:00 with the test chain's beacon; C-19 on hold
    from 3 March; 3 March drawn with its round."""
    chain = use_test_chain(monkeypatch)
    with Relay(chain, signed_round) as relay:
        _open(clinic, OPENED, [relay.url])
        with freeze_time(OPENED):
            clinic.ok(
                "clients", "hold", HELD, "--from", "2026-03-03", "--to", "2026-03-10",
                "--reason", "travel",
            )  # fmt: skip
        with freeze_time(DRAWN):
            clinic.ok("select")
    return clinic, chain


def _next_draw(clinic: Clinic, chain: Chain) -> None:
    with Relay(chain, signed_round) as relay:
        config = clinic.folder / "screening.toml"
        text = config.read_text()
        start = text.index("relays = [") + len("relays = [")
        config.write_text(text[:start] + json.dumps(relay.url) + text[text.index("]", start) :])
        with freeze_time(NEXT_DRAW):
            clinic.ok("select")


@ON_SQLITE
def test_a_beacon_day_receipt_verifies_alone_before_and_after_the_day_ends(
    drawn: tuple[Clinic, Chain], tmp_path: Path
) -> None:
    clinic, chain = drawn
    body = _draw(clinic, "2026-03-03")
    number = beacon.round_of_day(chain, date(2026, 3, 3), time(7), NEW_YORK)
    assert body["beacon_id"] == f"drand-quicknet:{number}"
    uid = body["selected"][0]["uid"]
    # Before the day is over: what can be checked is, and the key is said not revealed.
    early = _receipt(clinic, SAME_DAY, uid, "2026-03-03")
    assert f"beacon: drand-quicknet round {number}, published " in early
    assert f"beacon signature: {body['beacon']['signature']}\n" in early
    assert "day key: not revealed yet" in early and "score:" not in early
    done = verify_alone(early, tmp_path, chain)
    assert done.returncode == 0, done.stderr
    assert f"checked: beacon round: {number} is the first published after" in done.stdout
    assert f"checked: beacon signature: round {number} verifies" in done.stdout
    assert "not checked: the outcome: the day key of 2026-03-03 is not revealed yet" in done.stdout
    assert "checked: day key" not in done.stdout
    # The shipped script does not know the test chain: it refuses, it is not fooled.
    alone = verify_alone(early, tmp_path)
    assert alone.returncode == 1 and "is not drand-quicknet's pinned chain" in alone.stderr
    # After the day ends (the next draw reveals its key): the same client's receipt in full.
    _next_draw(clinic, chain)
    late = _receipt(clinic, NEXT_DAY, uid, "2026-03-03")
    assert "day key: not revealed" not in late and "\nscore: " in late
    assert f"outcome: {RANDOM}\n" in late
    done = verify_alone(late, tmp_path, chain)
    assert done.returncode == 0, done.stderr
    assert "checked: day key: opens the anchor (H^3(key) == anchor)" in done.stdout
    assert "checked: score: recomputed from the day key and the beacon" in done.stdout
    assert "checked: outcome: the score is below" in done.stdout
    assert "flag:" not in done.stdout


@ON_SQLITE
def test_a_selected_a_not_selected_and_a_held_client_each_verify(
    drawn: tuple[Clinic, Chain], tmp_path: Path
) -> None:
    clinic, chain = drawn
    _next_draw(clinic, chain)
    body = _draw(clinic, "2026-03-03")
    picked = {item["uid"] for item in body["selected"]}
    passed = [item["uid"] for item in body["pool"] if item["uid"] not in picked]
    assert picked and passed
    held = _uid(clinic, HELD)
    assert {"uid": held, "reason": "hold"} in body["left_out"]
    cases = [
        (sorted(picked)[0], RANDOM, "is below"),
        (passed[0], NOT_SELECTED, "is not below"),
        (held, "not in the draw: on hold", None),
    ]
    for uid, outcome, compared in cases:
        text = _receipt(clinic, NEXT_DAY, uid, "2026-03-03")
        assert f"client: {uid}\noutcome: " not in text  # the chance line comes between
        assert f"outcome: {outcome}\n" in text, uid
        done = verify_alone(text, tmp_path, chain)
        assert done.returncode == 0, (uid, done.stderr)
        assert f"for main 2026-03-03: {outcome}\n" in done.stdout
        if compared is None:
            assert "daily chance: none (not in the draw)" in text and "score:" not in text
            assert "checked: score" not in done.stdout
        else:
            assert f"checked: outcome: the score {compared} " in done.stdout


@ON_SQLITE
def test_one_changed_character_of_a_real_beacon_receipt_fails(
    drawn: tuple[Clinic, Chain], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clinic, chain = drawn
    _next_draw(clinic, chain)
    uid = _draw(clinic, "2026-03-03")["selected"][0]["uid"]
    text = _receipt(clinic, NEXT_DAY, uid, "2026-03-03")
    assert verify_alone(text, tmp_path, chain).returncode == 0
    # Every position in this process (a subprocess each would take minutes), a sample of
    # them by the script file.
    script = _script_with(chain, monkeypatch)
    script.check_receipt(text)
    for position in range(len(text)):
        with pytest.raises(script.Problem):
            script.check_receipt(_changed(text, position))
    for position in range(0, len(text), len(text) // 12):
        done = verify_alone(_changed(text, position), tmp_path, chain)
        assert done.returncode == 1 and done.stderr.startswith("problem: "), position
    # The beacon lines, changed and with the check line remade, fail on their own check.
    body = text[: text.rindex("check: ")]
    signature = body.split("beacon signature: ")[1][:96]
    forged = body.replace(signature, signature[:-2] + ("00" if signature[-2:] != "00" else "01"))
    done = verify_alone(forged + check_line(forged), tmp_path, chain)
    assert done.returncode == 1 and "beacon randomness is not the SHA-256" in done.stderr


def _same_form(character: str) -> str:
    """Another character of the same kind: a digit for a digit, a hex letter for one."""
    if character.isdigit():
        return str((int(character) + 1) % 10)
    if character in "abcdef":
        return "abcdef"[("abcdef".index(character) + 1) % 6]
    return "x" if character != "x" else "y"


@ON_SQLITE
def test_a_forger_who_remakes_the_check_line_changes_only_the_clinics_statement(
    drawn: tuple[Clinic, Chain], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each character changed for one of its kind, the check line made again: what still
    verifies alone lies in the lines the verifier names as the clinic's statement (the
    draw entry, when it was drawn, which entry revealed the key and when), which the
    export then decides."""
    clinic, chain = drawn
    _next_draw(clinic, chain)
    uid = _draw(clinic, "2026-03-03")["selected"][0]["uid"]
    text = _receipt(clinic, NEXT_DAY, uid, "2026-03-03")
    script = _script_with(chain, monkeypatch)
    body = text[: text.rindex("check: ")]
    passed: set[str] = set()
    for position, character in enumerate(body):
        if character == "\n":
            continue
        variant = body[:position] + _same_form(character) + body[position + 1 :]
        try:
            script.check_receipt(variant + check_line(variant))
        except script.Problem:
            continue
        line = body[: body.index("\n", position)].rsplit("\n", 1)[-1]
        start = position - body.rindex("\n", 0, position) - 1
        passed.add(
            line[:start].split(" ")[0] + (" revealed" if " revealed in " in line[:start] else "")
        )
    assert passed == {"draw", "drawn", "day revealed"}, passed
    done = verify_alone(text, tmp_path, chain)
    assert (
        "not checked: the client's uid, daily chance and place in the draw, the draw entry "
        "and when it was drawn, and which entry revealed the day key and when, whether a "
        "beacon governed the day and its rule's run_at and zone, are the clinic's statement"
    ) in done.stdout


@ON_SQLITE
@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("date: 2026-03-03", "date: 2026-13-03", "the receipt's date 2026-13-03 is not a date"),
        ("daily chance: 1/", "daily chance: 1/0", "divides by zero"),
        ("(run_at 07:00 in", "(run_at 77:00 in", "run_at 77:00 is not a time of day"),
        (" in America/New_York);", " in America/Nowhere);", "'America/Nowhere' is not one"),
        ("drawn at: 2026-03-03T", "drawn at: 2026-93-03T", "time 2026-93-03T"),
    ],
)
def test_a_malformed_value_with_the_check_line_remade_is_one_problem(
    drawn: tuple[Clinic, Chain], tmp_path: Path, old: str, new: str, named: str
) -> None:
    clinic, chain = drawn
    uid = _draw(clinic, "2026-03-03")["pool"][0]["uid"]
    text = _receipt(clinic, SAME_DAY, uid, "2026-03-03")
    body = text[: text.rindex("check: ")]
    if old == "daily chance: 1/":
        old = body.split("daily chance: ")[1].split("\n")[0]
        new = old.split("/")[0] + "/0"
    assert old in body
    body = body.replace(old, new, 1)
    done = verify_alone(body + check_line(body), tmp_path, chain)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("problem: ") and named in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1


@ON_SQLITE
def test_a_fallback_day_receipt_says_it_was_drawn_without_its_beacon(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    chain = use_test_chain(monkeypatch)
    with Relay(chain, signed_round, mode="missing") as relay:
        _open(clinic, OPENED, [relay.url], wait_minutes=30, fallback="draw")
        with freeze_time("2026-03-03T12:31:00Z"):  # 07:31: the wait is over
            clinic.ok("select")
    body = _draw(clinic, "2026-03-03")
    assert body["beacon_id"] == "none" and "missing" in body["beacon"]
    uid = body["pool"][0]["uid"]
    text = _receipt(clinic, SAME_DAY, uid, "2026-03-03")
    assert f"beacon missing: {body['beacon']['missing']}\n" in text
    assert FLAG_NO_BEACON + "\n" in text and "beacon signature" not in text
    done = verify_alone(text, tmp_path, chain)
    assert done.returncode == 0, done.stderr
    assert f"flag: drawn without its beacon (round {body['beacon']['round']}: " in done.stdout
    # Once the day is over its score is the one drawn without a beacon.
    with freeze_time(NEXT_DAY):
        clinic.ok("audit", "reveal")
    text = _receipt(clinic, NEXT_DAY, uid, "2026-03-03")
    done = verify_alone(text, tmp_path, chain)
    assert done.returncode == 0, done.stderr
    assert "checked: score: recomputed from the day key\n" in done.stdout
    assert "flag: drawn without its beacon" in done.stdout


@ON_SQLITE
def test_a_published_quicknet_round_verifies_with_the_pinned_key(
    clinic: Clinic, tmp_path: Path
) -> None:
    # DESIGN §5.1's example: New York, 07:00, 15 September 2023 -> round 657413.
    with Relay(beacon.QUICKNET, recorded_round) as relay:
        _open(clinic, "2023-09-14T15:00:00Z", [relay.url])
        with freeze_time("2023-09-15T11:00:05Z"):
            clinic.ok("select")
    with freeze_time("2023-09-16T15:00:00Z"):
        clinic.ok("audit", "reveal")
    body = _draw(clinic, "2023-09-15")
    assert body["beacon_id"] == "drand-quicknet:657413"
    for uid in (body["selected"][0]["uid"], body["pool"][-1]["uid"]):
        text = _receipt(clinic, "2023-09-16T15:00:00Z", uid, "2023-09-15")
        assert f"beacon signature: {RECORDED[657413]['signature']}\n" in text
        done = verify_alone(text, tmp_path)  # the script as shipped
        assert done.returncode == 0, done.stderr
        assert (
            "checked: beacon round: 657413 is the first published after the draw time "
            "2023-09-15T11:00:00Z (run_at 07:00 in America/New_York)"
        ) in done.stdout
        assert (
            "checked: beacon signature: round 657413 verifies under drand-quicknet's "
            "pinned public key"
        ) in done.stdout
        assert "checked: score: recomputed from the day key and the beacon" in done.stdout
    assert datetime(2023, 9, 15, 11, 0, 3, tzinfo=UTC) == beacon.round_time(beacon.QUICKNET, 657413)

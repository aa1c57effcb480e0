"""Draws made with the beacon, verified end to end (issue 20) by `audit verify` and by the
exported screening-verify.py: each forged beacon is named by both; a day drawn without
its beacon is flagged by both (and checked with py_ecc on a few days); a published
quicknet round decides a real date. A year of draws: tests/test_beacon_year.py.

The exported verifier pins quicknet only: for the test chain the tests load it and add
the test chain's parameters to its table, as core/beacon.py's CHAINS gets them
(tests/beacon_chain.use_test_chain). Nothing the shipped file reads can do that.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from screening.core import beacon
from screening.core.beacon import Chain
from screening.core.policy import policy_digest
from tests import beacon_chain
from tests.beacon_chain import RECORDED, Relay, recorded_round, use_test_chain
from tests.conftest import Clinic, forge, write_csv

NEW_YORK = ZoneInfo("America/New_York")
ON_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/usr/local/bin") or "python3"

# The exported verifier run with the test chain added to its pinned table.
WRAPPER = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("screening_verify", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.BEACON_CHAINS[{hash!r}] = {{
    "kind": "drand-quicknet", "public_key": bytes.fromhex({key!r}),
    "genesis": {genesis}, "period": {period},
}}
module.BLS = {bls!r}
sys.exit(module.main(["screening-verify.py", *sys.argv[2:]]))
"""


@pytest.fixture
def clinic(backend: str, tmp_path: Path) -> Clinic:
    """A folder and database with no clinic yet: each test opens it at its own date."""
    return Clinic(tmp_path, backend)


def fast_round(number: int) -> dict[str, Any]:
    """A test chain round signed with blst: a year of rounds in a fraction of a second
    (py_ecc, tests/beacon_chain.sign, takes 50 ms a round; they agree: see below)."""
    import pyblst  # type: ignore[import-untyped]

    point = pyblst.BlstP1Element.hash_to_group(beacon.message(number), beacon.DST)
    signature = point.scalar_mul(beacon_chain._SECRET).compress()
    return {
        "round": number,
        "randomness": hashlib.sha256(signature).hexdigest(),
        "signature": signature.hex(),
    }


def test_fast_rounds_are_the_test_chain_s() -> None:
    for number in (1, 123_456, 10_512_000):
        assert fast_round(number) == beacon_chain.signed_round(number)


def script(
    export: Path, chain: Chain | None, python: str = sys.executable, bls: str = "auto"
) -> subprocess.CompletedProcess[str]:
    """The exported screening-verify.py in a fresh interpreter; ``chain``: the test
    chain to add to its pinned table (None: the file run as shipped)."""
    verifier = export / "screening-verify.py"
    flags = ["-I", "-S"] if python != sys.executable else ["-I"]
    if chain is None:
        command = [python, *flags, str(verifier), str(export)]
    else:
        code = WRAPPER.format(
            hash=chain.chain_hash,
            key=chain.public_key.hex(),
            genesis=chain.genesis,
            period=chain.period,
            bls=bls,
        )
        command = [python, *flags, "-c", code, str(verifier), str(export)]
    return subprocess.run(command, capture_output=True, text=True, check=False, cwd="/")


def _beacon_config(clinic: Clinic, relay: Relay, **extra: object) -> None:
    """run_at 07:00, and the config's [beacon] table set to quicknet from ``relay``."""
    config = clinic.folder / "screening.toml"
    text = config.read_text().replace('run_at = "06:30"', 'run_at = "07:00"')
    lines = ['kind = "drand-quicknet"', f"relays = {json.dumps([relay.url])}"]
    lines += [f"{name} = {json.dumps(value)}" for name, value in extra.items()]
    assert '\nkind = "none"\n' in text
    config.write_text(text.replace('\nkind = "none"\n', "\n" + "\n".join(lines) + "\n", 1))


def _open(clinic: Clinic, when: datetime, relay: Relay, clients: int, **extra: object) -> None:
    """A New York clinic drawing at 07:00 with the beacon (from the next local day)."""
    with freeze_time(when):
        clinic.ok("init", "--timezone", "America/New_York")
        _beacon_config(clinic, relay, **extra)
        rows = [f"C-{i:02d},Client {i},morning,{1 + i % 3},{when.date()}," for i in range(clients)]
        clinic.ok("clients", "import", str(write_csv(clinic.folder / "c.csv", rows)))


def _draw_days(clinic: Clinic, relay: Relay, first: date, days: int, fallback: set[date]) -> None:
    """Each day at 07:00:10 in New York (the round was published at 07:00:03): the
    services' draw, with the clock frozen; on a ``fallback`` day the relay has nothing,
    and the draw is made once the wait is over (07:31)."""
    from screening import config
    from screening.db.engine import Database, resolve_url
    from screening.services import draws
    from screening.services.plumbing.context import Actor, Context

    settings = config.load(clinic.folder / "screening.toml")
    database = Database(resolve_url(clinic.url, clinic.folder))
    try:
        with freeze_time(datetime.combine(first, time(7), NEW_YORK)) as clock:
            for offset in range(days):
                day = first + timedelta(days=offset)
                relay.mode = "missing" if day in fallback else "ok"
                at = time(7, 31) if day in fallback else time(7, 0, 10)
                clock.move_to(datetime.combine(day, at, NEW_YORK))
                now = datetime.now(UTC)
                ctx = Context(settings, database, Actor("staff1"), now, day)
                assert draws.select_day(ctx).day == day
    finally:
        database.dispose()
        relay.mode = "ok"


def _draw_entries(clinic: Clinic) -> dict[str, tuple[int, dict[str, Any]]]:
    """Each draw's entry: date -> (seq, body)."""
    found = {}
    for seq, text in clinic.sql("SELECT seq, canonical FROM ledger WHERE kind = 'draw'"):
        body = json.loads(text)["body"]
        found[body["date"]] = (seq, body)
    return found


@pytest.fixture
def short(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Clinic, Chain, dict[str, tuple[int, dict[str, Any]]]]]:
    """Four days drawn with the test chain, the third without its beacon (fallback draw)."""
    chain = use_test_chain(monkeypatch)
    clinic = Clinic(tmp_path, backend)
    with Relay(chain, fast_round) as relay:
        _open(clinic, datetime(2026, 3, 2, 15, tzinfo=UTC), relay, 8,
              fallback="draw", wait_minutes=30)  # fmt: skip
        _draw_days(clinic, relay, date(2026, 3, 3), 4, {date(2026, 3, 5)})
    yield clinic, chain, _draw_entries(clinic)


def _both(clinic: Clinic, export: Path, chain: Chain) -> tuple[Any, Any]:
    with freeze_time("2026-03-07T01:00:00Z"):  # 20:00 on 6 March in New York
        checked = clinic.run("audit", "verify")
        if export.exists():
            shutil.rmtree(export)
        clinic.ok("audit", "export", str(export), "--to", "State Auditor", "--purpose", "audit")
    return checked, script(export, chain)


def _flip(signature: str) -> str:
    raw = bytearray(bytes.fromhex(signature))
    raw[30] ^= 0x04
    return raw.hex()


def _consistent(body: dict[str, Any], number: int, signature: str) -> None:
    body["beacon_id"] = f"drand-quicknet:{number}"
    body["beacon"]["round"], body["beacon"]["signature"] = number, signature
    body["beacon_value"] = hashlib.sha256(bytes.fromhex(signature)).hexdigest()


TAMPERS = {
    # A bit of the signature flipped, the randomness made to match: BLS refuses it.
    "flipped bit": (
        lambda b: _consistent(b, b["beacon"]["round"], _flip(b["beacon"]["signature"])),
        ("not a valid point", "not a point of G1", "subgroup", "does not verify"),
    ),
    # The next round's valid signature under this round's number.
    "another round's signature": (
        lambda b: _consistent(
            b, b["beacon"]["round"], fast_round(b["beacon"]["round"] + 1)["signature"]
        ),
        ("does not verify",),
    ),
    "randomness changed": (
        lambda b: b.update(beacon_value=hashlib.sha256(b"chosen").hexdigest()),
        ("SHA-256",),
    ),
    # A later round, valid and consistent: not the one the rule gives.
    "round changed": (
        lambda b: _consistent(
            b, b["beacon"]["round"] + 20, fast_round(b["beacon"]["round"] + 20)["signature"]
        ),
        ("but the rule gives round",),
    ),
    # A day turned into a fallback day when the relay did answer: allowed by the policy
    # (fallback = draw) but flagged, and the seed without the beacon draws another list.
    "made a fallback day": (
        lambda b: b.update(
            beacon_id="none",
            beacon_value="",
            beacon={k: b["beacon"][k] for k in ("round", "draw_time")} | {"missing": "x"},
        ),
        ("recorded as selected", "was drawn", "not drawn", "the selection is not"),
    ),
}


@ON_SQLITE
@pytest.mark.parametrize("case", sorted(TAMPERS))
def test_a_forged_beacon_is_named_by_both_verifiers(
    short: tuple[Clinic, Chain, dict[str, tuple[int, dict[str, Any]]]],
    tmp_path: Path,
    case: str,
) -> None:
    clinic, chain, drawn = short
    seq, _ = drawn["2026-03-04"]
    edit, words = TAMPERS[case]
    forge(clinic, seq, lambda document: edit(document["body"]))
    checked, exported = _both(clinic, tmp_path / "export", chain)
    assert checked.exit_code == 1, checked.stdout
    assert f"entry {seq}" in checked.stderr and any(w in checked.stderr for w in words), (
        checked.stderr
    )
    assert exported.returncode == 1, exported.stdout
    assert f"entry {seq}" in exported.stderr and any(w in exported.stderr for w in words), (
        exported.stderr
    )


@ON_SQLITE
def test_a_day_drawn_without_its_beacon_is_flagged_by_both(
    short: tuple[Clinic, Chain, dict[str, tuple[int, dict[str, Any]]]], tmp_path: Path
) -> None:
    clinic, chain, drawn = short
    seq, body = drawn["2026-03-05"]
    assert body["beacon_id"] == "none" and "missing" in body["beacon"]
    checked, exported = _both(clinic, tmp_path / "export", chain)
    assert checked.exit_code == 0, checked.stderr
    assert exported.returncode == 0, exported.stderr
    flag = (
        f"flag: drawn without its beacon main 2026-03-05 (round {body['beacon']['round']}: "
        f"{body['beacon']['missing']}) (entry {seq})"
    )
    assert flag in checked.stdout.splitlines()
    assert flag in exported.stdout.splitlines()
    assert "beacon: 3 drand quicknet rounds checked" in checked.stdout
    # With py_ecc alone (about half a second a round), the same three rounds.
    slow = script(tmp_path / "export", chain, bls="py_ecc")
    assert slow.returncode == 0, slow.stderr
    assert "beacon: 3 drand quicknet rounds checked" in slow.stdout
    assert "BLS signatures verified with py_ecc" in slow.stdout


@ON_SQLITE
def test_a_fallback_the_policy_did_not_allow_breaks_the_ledger(
    short: tuple[Clinic, Chain, dict[str, tuple[int, dict[str, Any]]]], tmp_path: Path
) -> None:
    clinic, chain, drawn = short
    """The policy said fallback = "wait" (rewritten, and each draw's digest of it too, as a
    forger would): a day drawn without its beacon then breaks the ledger."""
    [(policy_seq, text)] = clinic.sql(
        "SELECT seq, canonical FROM ledger WHERE kind = 'policy' ORDER BY seq DESC LIMIT 1"
    )
    policy = json.loads(text)["body"]
    policy["beacon"]["fallback"] = "wait"
    forge(clinic, policy_seq, lambda document: document["body"].update(policy))
    for draw_seq, _ in drawn.values():
        forge(clinic, draw_seq, lambda d: d["body"].update(policy=policy_digest(policy)))
    seq, _ = drawn["2026-03-05"]
    checked, exported = _both(clinic, tmp_path / "export", chain)
    for stderr in (checked.stderr, exported.stderr):
        assert f"entry {seq}" in stderr and 'fallback = "wait"' in stderr, stderr


@ON_SQLITE
def test_a_published_round_decides_a_real_day_and_verifies(clinic: Clinic, tmp_path: Path) -> None:
    """New York, run_at 07:00, 15 September 2023: quicknet's round 657413, as published."""
    relay = Relay(beacon.QUICKNET, lambda n: recorded_round(n) if n in RECORDED else None)
    with relay:
        _open(clinic, datetime(2023, 9, 14, 15, tzinfo=UTC), relay, 10)
        with freeze_time("2023-09-15T11:00:05Z"):
            clinic.ok("select")
    [(seq, body)] = _draw_entries(clinic).values()
    assert body["beacon"]["round"] == 657413
    with freeze_time("2023-09-16T01:00:00Z"):
        checked = clinic.ok("audit", "verify")
        clinic.ok(
            "audit",
            "export",
            str(tmp_path / "export"),
            "--to",
            "State Auditor",
            "--purpose",
            "audit",
        )
    assert "beacon: 1 drand quicknet round checked" in checked.stdout
    shipped = script(tmp_path / "export", None)  # as shipped: quicknet pinned, pyblst here
    assert shipped.returncode == 0, shipped.stderr
    assert "beacon: 1 drand quicknet round checked" in shipped.stdout
    assert "verified with pyblst" in shipped.stdout
    alone = script(tmp_path / "export", None, python=SYSTEM_PYTHON)
    assert alone.returncode == 0, alone.stderr
    assert "BLS signatures of 1 beacon round not checked" in alone.stderr

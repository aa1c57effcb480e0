"""Both verifiers on each draw's beacon (issue 20): `audit verify`'s replay
(core/replay/beacons.py) and the exported screening_verify.py, fed the same small
ledgers written here entry by entry (a policy, a commitment, draws with no client), so
that each rule of docs/beacon.md is checked on its own: which policy governs a day, the
round the rule gives, its draw time, id, randomness and signature, the fallback.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from screening.core.beacon import QUICKNET
from screening.core.canonical import canonical_bytes, sha256_hex
from screening.core.replay import Broken, Replay
from tests.beacon_chain import RECORDED

VERIFIER = Path(__file__).parents[1] / "screening" / "data" / "screening_verify.py"
DAY = date(2023, 9, 15)  # round 657413 at 11:00:03Z for a draw at 07:00 in New York
ROUND = 657413
SIGNATURE = RECORDED[ROUND]["signature"]


def _verifier() -> Any:
    spec = importlib.util.spec_from_file_location("screening_verify_beacons", VERIFIER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = _verifier()


def settings(**changes: Any) -> dict[str, Any]:
    return {
        "kind": "drand-quicknet",
        "chain": QUICKNET.chain_hash,
        "run_at": "07:00",
        "wait_minutes": 60,
        "fallback": "draw",
        **changes,
    }


def policy(beacon: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "algorithm": "screening/v1",
        "days": "calendar",
        "collect_within_hours": 24,
        "per_day": None,
        "timezone": "America/New_York",
        "tracks": {"standard": ["mon", "tue", "wed", "thu", "fri"]},
        "phases": {
            "1": {
                "max_days_between_tests": None,
                "min_days_between_tests": None,
                "p": {"standard": "1/5"},
            }
        },
        "interval_from": "collection",
        "past_midnight": "end_of_day",
    }
    if beacon is not None:
        body["beacon"] = beacon
    return body


def beacon_fields(number: int = ROUND, signature: str = SIGNATURE) -> dict[str, Any]:
    return {
        "beacon_id": f"drand-quicknet:{number}",
        "beacon_value": hashlib.sha256(bytes.fromhex(signature)).hexdigest(),
        "beacon": {"round": number, "signature": signature, "draw_time": "2023-09-15T11:00:00Z"},
    }


MISSING = {
    "beacon_id": "none",
    "beacon_value": "",
    "beacon": {"round": ROUND, "draw_time": "2023-09-15T11:00:00Z", "missing": "no relay answered"},
}
NO_BEACON = {"beacon_id": "none", "beacon_value": ""}


class Ledger:
    """Entries written as the program writes them, for both verifiers to read."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.policies: dict[str, dict[str, Any]] = {}
        self.add(
            "2023-09-01T00:00:00Z",
            "main",
            "genesis",
            {"algorithm": "screening/v1", "installation": "test"},
        )

    def add(self, at: str, site: str, kind: str, body: dict[str, Any]) -> int:
        self.entries.append(
            {
                "v": 1,
                "seq": len(self.entries) + 1,
                "at": at,
                "actor": "t",
                "site": site,
                "kind": kind,
                "body": body,
                "prev": "",
            }
        )
        return len(self.entries)

    def policy(self, at: str, beacon: dict[str, Any] | None, site: str = "main") -> None:
        self.policies[site] = policy(beacon)
        self.add(at, site, "policy", self.policies[site])
        if not any(e["kind"] == "commitment" and e["site"] == site for e in self.entries):
            self.add(
                at, site, "commitment", {"period": "2023-09", "length": 31, "anchor": "ab" * 32}
            )

    def draw(
        self,
        at: str,
        fields: dict[str, Any],
        site: str = "main",
        kind: str = "draw",
        day: date = DAY,
    ) -> int:
        body = {
            "date": day.isoformat(),
            "period": "2023-09",
            "algorithm": "screening/v1",
            "policy": sha256_hex(canonical_bytes(self.policies[site])),
            **copy.deepcopy(fields),
            "pool": [],
            "left_out": [],
            "selected": [],
        }
        if kind == "draw_amend":
            body["added"], body["reason"] = [], "x" * 64
        return self.add(at, site, kind, body)


class Plain(dict):  # type: ignore[type-arg]
    """A Store in memory (verify's own spill to disk is not what is tested here)."""

    def __init__(
        self, order: Callable[[Any, Any], tuple[int, str]], keep: int | None = None
    ) -> None:
        super().__init__()
        self._order = order

    def ordered(self) -> Iterator[tuple[Any, Any]]:
        return iter(sorted(self.items(), key=lambda kv: self._order(*kv)))


def core_verify(ledger: Ledger) -> tuple[str | None, int, list[str]]:
    """(the problem or None, rounds checked, flags) from `audit verify`'s replay."""
    replay = Replay(Plain)
    try:
        for entry in ledger.entries:
            replay.take(entry["seq"], entry)
    except Broken as broken:
        return broken.message, replay.beacon_rounds, []
    flags = [f"drawn without its beacon {m}" for m in replay.missing_beacons]
    flags += [f"drawn before its beacon round's time {m}" for m in replay.early_beacons]
    return None, replay.beacon_rounds, flags


def script_verify(ledger: Ledger) -> tuple[str | None, int, list[str]]:
    """The same from the exported verifier's Ledger (with pyblst for the signatures)."""
    state = SCRIPT.Ledger(SCRIPT.bls_library("auto"))
    try:
        for entry in ledger.entries:
            state.take(entry["seq"], entry)
    except SCRIPT.Problem as problem:
        return str(problem), len(state.rounds), []
    return None, len(state.rounds), [f for f in state.flags if "beacon" in f]


BOTH = pytest.mark.parametrize("verify", [core_verify, script_verify], ids=["audit", "script"])


@BOTH
def test_a_beacon_day_verifies(verify: Callable[..., Any]) -> None:
    ledger = Ledger()
    ledger.policy("2023-09-01T12:00:00Z", settings())
    ledger.draw("2023-09-15T11:00:05Z", beacon_fields())
    assert verify(ledger) == (None, 1, [])


@BOTH
@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda f: f.update(beacon_fields(ROUND + 1)), "the rule gives round 657413"),
        (lambda f: f["beacon"].update(round=ROUND - 1), "the rule gives round 657413"),
        (lambda f: f["beacon"].update(draw_time="2023-09-15T11:00:01Z"), "draw time"),
        (lambda f: f.update(beacon_value="00" * 32), "SHA-256"),
        (lambda f: f.update(beacon_id="drand-quicknet:657412"), "beacon id"),
        (lambda f: f.update(beacon_fields(signature=SIGNATURE[:-2] + "9a")), "signature"),
        (lambda f: f.update(beacon_fields(signature=RECORDED[123]["signature"])), "verify"),
        (lambda f: f.pop("beacon"), "names drand-quicknet"),
        (lambda f: f["beacon"].update(extra=1), "fields"),
        (lambda f: f["beacon"].update(signature=SIGNATURE.upper()), "hex"),
    ],
    ids=[
        "round+1",
        "round-1",
        "draw time",
        "value",
        "id",
        "flipped",
        "other round's",
        "no beacon",
        "extra field",
        "upper hex",
    ],
)
def test_a_beacon_that_does_not_hold_breaks_the_ledger(
    verify: Callable[..., Any], change: Callable[[dict[str, Any]], None], words: str
) -> None:
    ledger = Ledger()
    ledger.policy("2023-09-01T12:00:00Z", settings())
    fields = beacon_fields()
    change(fields)
    seq = ledger.draw("2023-09-15T11:00:05Z", fields)
    problem, _, _ = verify(ledger)
    assert problem is not None and problem.startswith(f"entry {seq} ")
    assert words in problem


@BOTH
def test_no_beacon_may_be_named_where_none_governs(verify: Callable[..., Any]) -> None:
    ledger = Ledger()
    ledger.policy("2023-09-01T12:00:00Z", None)
    ledger.draw("2023-09-15T11:00:05Z", beacon_fields())
    problem, _, _ = verify(ledger)
    assert problem is not None and "none governs" in problem
    ledger = Ledger()
    ledger.policy("2023-09-01T12:00:00Z", None)
    ledger.draw(
        "2023-09-15T11:00:05Z",
        {"beacon_id": "drand-quicknet:657413", "beacon_value": beacon_fields()["beacon_value"]},
    )
    problem, _, _ = verify(ledger)
    assert problem is not None and "a beacon is named" in problem


@BOTH
def test_settings_take_effect_the_next_local_day(verify: Callable[..., Any]) -> None:
    """Entered after midnight in New York (04:00Z), a beacon governs from the next day;
    entered before it, from that day. A run_at changed on the day moves no round."""
    late = Ledger()
    late.policy("2023-09-01T12:00:00Z", None)
    late.policy("2023-09-15T04:00:00Z", settings())  # at midnight: not before it
    late.draw("2023-09-15T11:00:05Z", NO_BEACON)
    assert verify(late) == (None, 0, [])
    early = Ledger()
    early.policy("2023-09-01T12:00:00Z", None)
    early.policy("2023-09-15T03:59:59Z", settings())
    early.draw("2023-09-15T11:00:05Z", NO_BEACON)
    problem, _, _ = verify(early)
    assert problem is not None and "round 657413" in problem
    moved = Ledger()
    moved.policy("2023-09-01T12:00:00Z", settings())
    moved.policy("2023-09-15T05:00:00Z", settings(run_at="08:00"))
    moved.draw("2023-09-15T11:00:05Z", beacon_fields())
    assert verify(moved) == (None, 1, [])


@BOTH
def test_a_day_drawn_without_its_beacon(verify: Callable[..., Any]) -> None:
    ledger = Ledger()
    ledger.policy("2023-09-01T12:00:00Z", settings())
    seq = ledger.draw("2023-09-15T12:00:05Z", MISSING)
    assert verify(ledger) == (
        None,
        0,
        [
            f"drawn without its beacon main 2023-09-15 (round 657413: no relay answered) "
            f"(entry {seq})"
        ],
    )
    waits = Ledger()
    waits.policy("2023-09-01T12:00:00Z", settings(fallback="wait"))
    seq = waits.draw("2023-09-15T12:00:05Z", MISSING)
    problem, _, _ = verify(waits)
    assert problem is not None and problem.startswith(f"entry {seq} ")
    assert 'fallback = "wait"' in problem


@BOTH
def test_each_round_once_across_sites(verify: Callable[..., Any]) -> None:
    ledger = Ledger()
    ledger.policy("2023-09-01T12:00:00Z", settings())
    ledger.policy("2023-09-01T12:00:00Z", settings(), site="north")
    ledger.draw("2023-09-15T11:00:05Z", beacon_fields())
    ledger.draw("2023-09-15T11:00:06Z", beacon_fields(), site="north")
    ledger.draw("2023-09-15T11:20:00Z", beacon_fields(), kind="draw_amend")
    assert verify(ledger) == (None, 1, [])
    ledger.draw("2023-09-15T11:30:00Z", beacon_fields(ROUND + 1), kind="draw_amend")
    problem, _, _ = verify(ledger)
    assert problem is not None and "beacon" in problem and "draw" in problem


@BOTH
def test_a_draw_dated_before_its_round(verify: Callable[..., Any]) -> None:
    ledger = Ledger()
    ledger.policy("2023-09-01T12:00:00Z", settings())
    seq = ledger.draw("2023-09-15T11:00:01Z", beacon_fields())
    problem, rounds, flags = verify(ledger)
    assert (problem, rounds) == (None, 1)
    assert len(flags) == 1 and "2023-09-15T11:00:03Z" in flags[0] and f"(entry {seq})" in flags[0]


@BOTH
def test_a_policy_naming_another_chain(verify: Callable[..., Any]) -> None:
    ledger = Ledger()
    ledger.policy("2023-09-01T12:00:00Z", settings(chain="00" * 32))
    problem, _, _ = verify(ledger)
    assert problem is not None and problem.startswith("entry 2") and "00" * 32 in problem


def test_script_round_rule_is_core_s() -> None:
    from zoneinfo import ZoneInfo

    from screening.core import beacon
    from tests.test_beacon_core import RULE_DAYS

    pinned = SCRIPT.BEACON_CHAINS[QUICKNET.chain_hash]
    for zone, day, run_at, _ in RULE_DAYS:
        drawn = SCRIPT.fire_time(day, run_at, ZoneInfo(zone))
        assert drawn == beacon.draw_time(day, run_at, ZoneInfo(zone))
        assert SCRIPT.beacon_round_after(pinned, drawn) == beacon.round_after(QUICKNET, drawn)
    genesis = datetime.fromtimestamp(QUICKNET.genesis, UTC)
    for moment in (genesis - timedelta(seconds=0.5), genesis, genesis + timedelta(seconds=3)):
        assert SCRIPT.beacon_round_after(pinned, moment) == beacon.round_after(QUICKNET, moment)
    assert pinned["public_key"] == QUICKNET.public_key
    assert pinned["genesis"] == QUICKNET.genesis
    assert pinned["period"] == QUICKNET.period
    assert SCRIPT.BEACON_DST == beacon.DST and SCRIPT.G1_ORDER == beacon.GROUP_ORDER


@pytest.mark.parametrize("library", ["pyblst", "py_ecc"])
def test_script_bls_check(library: str) -> None:
    from tests.test_beacon_core import INFINITY, NOT_ON_CURVE, OUTSIDE_SUBGROUP

    good = bytes.fromhex(SIGNATURE)
    assert SCRIPT.bls_check(ROUND, good, None, library) is None
    for number, signature, words in [
        (ROUND + 1, good, "does not verify"),
        (ROUND, OUTSIDE_SUBGROUP, "subgroup"),
        (ROUND, INFINITY, "infinity"),
        (ROUND, NOT_ON_CURVE, "not a point of G1"),
        (ROUND, good[:47], "47 bytes"),
        (ROUND, bytes([good[0] ^ 0x20]) + good[1:], "does not verify"),
    ]:
        reason = SCRIPT.bls_check(number, signature, QUICKNET.public_key, library)
        assert reason is not None and words in reason

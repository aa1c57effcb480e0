"""The beacon's core (core/beacon.py) on published drand quicknet rounds and on the test
chain's, and the round rule: the first round strictly after a day's draw time, through
the days clocks change. py_ecc's own verdict on a round (``ecc_verdict``, written from
drand's scheme apart from core/beacon.py) is here; tests/test_beacon_py_ecc.py checks
that blst and py_ecc agree on every published round, good or bad (a file of its own: it
takes most of the time, and xdist runs it beside this one).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest

from screening.core import beacon
from screening.core.beacon import DST, QUICKNET, BadRound, Chain
from tests.beacon_chain import OUTSIDE_SUBGROUP, RECORDED, sign, test_chain

NEW_YORK = ZoneInfo("America/New_York")
# The field modulus of BLS12-381, for a compressed x with no point above it.
_Q = int(
    "1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF"
    "6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB",
    16,
)


# --- py_ecc's verdict on a round, written from drand's scheme without core/beacon.py ---


@cache
def _ecc_key(public_key: bytes):  # type: ignore[no-untyped-def]
    from py_ecc.bls.point_compression import decompress_G2

    return decompress_G2(
        (int.from_bytes(public_key[:48], "big"), int.from_bytes(public_key[48:], "big"))
    )


@cache
def _ecc_hash(number: int):  # type: ignore[no-untyped-def]
    from py_ecc.bls.hash_to_curve import hash_to_G1

    message = hashlib.sha256(number.to_bytes(8, "big")).digest()
    return hash_to_G1(message, DST, hashlib.sha256)


@cache
def _ecc_left(signature: bytes):  # type: ignore[no-untyped-def]
    """The Miller loop of (g2, signature): the same for every round a signature is tried
    with."""
    from py_ecc.bls.point_compression import decompress_G1
    from py_ecc.optimized_bls12_381 import G2
    from py_ecc.optimized_bls12_381.optimized_pairing import miller_loop

    return miller_loop(G2, decompress_G1(int.from_bytes(signature, "big")), False)


def ecc_verdict(chain: Chain, number: int, signature: bytes) -> str:
    """py_ecc's verdict: "valid", or why it refuses (length, point, infinity, subgroup,
    pairing)."""
    from py_ecc.bls.point_compression import decompress_G1
    from py_ecc.optimized_bls12_381 import FQ12, curve_order, is_inf, multiply, neg
    from py_ecc.optimized_bls12_381.optimized_pairing import final_exponentiate, miller_loop

    if len(signature) != 48:
        return "length"
    try:
        point = decompress_G1(int.from_bytes(signature, "big"))
    except ValueError:
        return "point"
    if is_inf(point):
        return "infinity"
    if not is_inf(multiply(point, curve_order)):
        return "subgroup"
    # e(signature, g2) == e(H(m), key): one final exponentiation of the product with
    # the key negated.
    product = _ecc_left(signature) * miller_loop(
        neg(_ecc_key(chain.public_key)), _ecc_hash(number), False
    )
    return "valid" if final_exponentiate(product) == FQ12.one() else "pairing"


def _flipped(signature: bytes, byte: int, bit: int) -> bytes:
    changed = bytearray(signature)
    changed[byte] ^= 1 << bit
    return bytes(changed)


def _no_root_x() -> int:
    """The least x for which y^2 = x^3 + 4 has no solution: no point of the curve."""
    x = 1
    while pow((x**3 + 4) % _Q, (_Q - 1) // 2, _Q) == 1:
        x += 1
    return x


NOT_ON_CURVE = (0x80 << 376 | _no_root_x()).to_bytes(48, "big")
INFINITY = bytes.fromhex("c0" + "00" * 47)


@pytest.mark.parametrize("number", sorted(RECORDED))
def test_published_randomness(number: int) -> None:
    """The randomness each relay published is SHA-256 of the signature."""
    signature = bytes.fromhex(RECORDED[number]["signature"])
    randomness = beacon.check_round(QUICKNET, number, signature)
    assert randomness.hex() == RECORDED[number]["randomness"]
    assert beacon.randomness_of(signature) == randomness


def test_every_flipped_bit_of_the_signature_is_refused() -> None:
    """blst alone (2 ms a round) on every bit of one published signature."""
    good = bytes.fromhex(RECORDED[657413]["signature"])
    for byte in range(48):
        for bit in range(8):
            with pytest.raises(BadRound):
                beacon.check_round(QUICKNET, 657413, _flipped(good, byte, bit))


def test_outside_subgroup_is_on_the_curve() -> None:
    """The forged point is a point of the curve: what refuses it is a subgroup check
    (blst's, in its uncompress; py_ecc's, explicit in the tests and the exported
    verifier), not the curve equation."""
    from py_ecc.bls.point_compression import decompress_G1
    from py_ecc.optimized_bls12_381 import b, is_on_curve

    assert is_on_curve(decompress_G1(int.from_bytes(OUTSIDE_SUBGROUP, "big")), b)


@pytest.mark.parametrize("number", [1, 2, 1_000, 1_234_567])
def test_test_chain_rounds_verify_with_blst(number: int) -> None:
    chain = test_chain()
    signature = sign(number)
    assert beacon.check_round(chain, number, signature) == hashlib.sha256(signature).digest()
    assert ecc_verdict(chain, number, signature) == "valid"
    with pytest.raises(BadRound, match="does not verify"):
        beacon.check_round(chain, number + 1, signature)
    with pytest.raises(BadRound, match="does not verify"):
        beacon.check_round(QUICKNET, number, signature)


def test_round_numbers_out_of_range() -> None:
    good = bytes.fromhex(RECORDED[123]["signature"])
    for number in (0, -1, 2**63):
        with pytest.raises(BadRound, match="not a round number"):
            beacon.check_round(QUICKNET, number, good)


# --- The round rule ---


def _utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _first_after(chain: Chain, instant: datetime) -> int:
    """The rule, written again with integers: round n is published at genesis + (n-1) p."""
    seconds = int(instant.timestamp())
    if seconds < chain.genesis:
        return 1
    return (seconds - chain.genesis) // chain.period + 2


def test_published_example() -> None:
    day = date(2023, 9, 15)
    assert beacon.draw_time(day, time(7, 0), NEW_YORK) == _utc("2023-09-15T11:00:00Z")
    assert beacon.round_of_day(QUICKNET, day, time(7, 0), NEW_YORK) == 657413
    assert beacon.round_time(QUICKNET, 657413) == _utc("2023-09-15T11:00:03Z")


def test_an_instant_on_a_round_gives_the_next() -> None:
    for number in (1, 2, 123, 657413):
        at = beacon.round_time(QUICKNET, number)
        assert beacon.round_after(QUICKNET, at) == number + 1
        assert beacon.round_after(QUICKNET, at - timedelta(microseconds=1)) == number
        assert beacon.round_after(QUICKNET, at + timedelta(seconds=2.999)) == number + 1


def test_before_genesis_is_round_one() -> None:
    genesis = datetime.fromtimestamp(QUICKNET.genesis, UTC)
    assert beacon.round_after(QUICKNET, genesis - timedelta(days=400)) == 1
    assert beacon.round_after(QUICKNET, genesis - timedelta(seconds=1)) == 1
    assert beacon.round_after(QUICKNET, genesis) == 2


# (zone, day, run_at, the draw time in UTC): the clocks' awkward days.
RULE_DAYS = [
    ("America/New_York", date(2023, 9, 15), time(7, 0), "2023-09-15T11:00:00Z"),
    # Spring gap: 02:30 does not exist; the draw is at 03:00 EDT.
    ("America/New_York", date(2027, 3, 14), time(2, 30), "2027-03-14T07:00:00Z"),
    # Repeated hour: 01:30 happens twice; the first (EDT).
    ("America/New_York", date(2027, 11, 7), time(1, 30), "2027-11-07T05:30:00Z"),
    ("America/New_York", date(2027, 11, 7), time(0, 0), "2027-11-07T04:00:00Z"),
    ("Europe/London", date(2027, 1, 31), time(7, 0), "2027-01-31T07:00:00Z"),
    ("Europe/London", date(2027, 6, 30), time(23, 59, 59), "2027-06-30T22:59:59Z"),
    ("Europe/Berlin", date(2028, 2, 29), time(6, 15), "2028-02-29T05:15:00Z"),
    ("Australia/Sydney", date(2028, 1, 1), time(0, 0), "2027-12-31T13:00:00Z"),
    ("Asia/Kolkata", date(2027, 12, 31), time(0, 0), "2027-12-30T18:30:00Z"),
    ("UTC", date(2026, 3, 1), time(0, 0), "2026-03-01T00:00:00Z"),
]


@pytest.mark.parametrize(("zone", "day", "run_at", "drawn"), RULE_DAYS)
def test_round_rule(zone: str, day: date, run_at: time, drawn: str) -> None:
    at = beacon.draw_time(day, run_at, ZoneInfo(zone))
    assert at == _utc(drawn)
    number = beacon.round_of_day(QUICKNET, day, run_at, ZoneInfo(zone))
    assert number == _first_after(QUICKNET, at)
    assert beacon.round_time(QUICKNET, number - 1) <= at < beacon.round_time(QUICKNET, number)


def test_beacon_ids() -> None:
    assert beacon.beacon_id(QUICKNET, 657413) == "drand-quicknet:657413"
    assert beacon.parse_beacon_id("drand-quicknet:657413") == ("drand-quicknet", 657413)
    for text in ("drand-quicknet:", "drand-quicknet:0", "drand-quicknet:012", ":5", "none", "x:-1"):
        with pytest.raises(BadRound):
            beacon.parse_beacon_id(text)

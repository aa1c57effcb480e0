"""blst (core/beacon.py's check_round) and py_ecc (pure Python, tests/test_beacon_core's
``ecc_verdict``, written apart from it) on every published quicknet round in
tests/data/drand-quicknet-rounds.json, good and bad: the two libraries must agree on
every case, or one of them is wrong.
"""

from __future__ import annotations

import hashlib

import pytest

from screening.core import beacon
from screening.core.beacon import QUICKNET, BadRound, Chain
from tests.beacon_chain import OUTSIDE_SUBGROUP, RECORDED, test_chain
from tests.test_beacon_core import INFINITY, NOT_ON_CURVE, _flipped, ecc_verdict


def core_verdict(chain: Chain, number: int, signature: bytes) -> str:
    """Core's verdict: "valid", or its one-line reason."""
    try:
        randomness = beacon.check_round(chain, number, signature)
    except BadRound as error:
        reason = str(error)
        assert "\n" not in reason and reason
        return reason
    assert randomness == hashlib.sha256(signature).digest()
    return "valid"


# A sample of bits: the three flag bits (compressed, infinity, sign of y), then one bit in
# bytes spread over x. The sign bit gives the negated signature: a point of the group that
# fails the pairing.
FLIPS = [(0, 7), (0, 6), (0, 5), (1, 0), (9, 3), (20, 0), (33, 6), (47, 0)]


def _cases(number: int) -> list[tuple[str, Chain, int, bytes, str]]:
    """(case, chain, round, signature, the words core's reason must hold)."""
    good = bytes.fromhex(RECORDED[number]["signature"])
    cases = [
        ("published", QUICKNET, number, good, "valid"),
        ("round n+1", QUICKNET, number + 1, good, "does not verify"),
        ("outside subgroup", QUICKNET, number, OUTSIDE_SUBGROUP, "subgroup"),
        ("point at infinity", QUICKNET, number, INFINITY, "infinity"),
        ("not on the curve", QUICKNET, number, NOT_ON_CURVE, "not on the curve"),
        ("47 bytes", QUICKNET, number, good[:47], "47 bytes"),
        ("49 bytes", QUICKNET, number, good + b"\x00", "49 bytes"),
        ("96 bytes", QUICKNET, number, good + good, "96 bytes"),
        ("another chain's key", test_chain(), number, good, "does not verify"),
    ]
    if number > 1:
        cases.append(("round n-1", QUICKNET, number - 1, good, "does not verify"))
    for byte, bit in FLIPS:
        cases.append((f"bit {bit} of byte {byte}", QUICKNET, number, _flipped(good, byte, bit), ""))
    return cases


# Every case on the three rounds; each other published round verifies with both.
# (py_ecc takes a quarter to half a second a pairing: all cases of every round would be
# a minute of the suite's time.)
EVERY_CASE = (123, 657413, 12040883)
CASES = [
    (number, *case)
    for number in sorted(RECORDED)
    for case in (_cases(number) if number in EVERY_CASE else _cases(number)[:1])
]


@pytest.mark.parametrize(
    ("number", "case", "chain", "round_", "signature", "words"),
    CASES,
    ids=[f"{c[0]}-{c[1]}" for c in CASES],
)
def test_blst_and_py_ecc_agree(
    number: int, case: str, chain: Chain, round_: int, signature: bytes, words: str
) -> None:
    core = core_verdict(chain, round_, signature)
    ecc = ecc_verdict(chain, round_, signature)
    assert (core == "valid") == (ecc == "valid"), (case, core, ecc)
    if words == "valid":
        assert core == "valid"
    else:
        assert core != "valid"
        assert words in core, (case, core)

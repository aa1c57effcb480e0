"""The public randomness beacon a day's draw waits for (issue 20, docs/beacon.md).

drand's quicknet publishes, every 3 seconds, a BLS signature of its round number by the
League of Entropy's threshold key; nobody, our key holder included, knows a round's
signature before its time, and there is exactly one valid signature per round. A day's
seed mixes in the round fixed by rule for that day (the first round strictly after the
day's draw time), so that the list exists for nobody before then.

Everything about the chain is pinned here, never read from a relay: the relay is only a
messenger, and each round is checked locally:
- the signature is a point of G1 in compressed form (48 bytes), not the point at
  infinity, and in the prime-order subgroup, checked explicitly: a point outside it
  could pass the pairing equation for a torsion-tweaked signature, and then one round
  would have many "valid" signatures for a key holder to choose among;
- e(signature, g2) == e(H(m), public key), with H the hash to G1 of RFC 9380
  (BLS12381G1_XMD:SHA-256_SSWU_RO_) and m = SHA-256(round as 8 bytes big-endian);
- the randomness is SHA-256(signature).

The compiled blst library (pyblst) does the curve arithmetic; the tests check it against
the pure-Python py_ecc on published rounds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from screening.core.run_times import fire_time

# The hash-to-curve domain of drand's bls-unchained-g1-rfc9380 scheme.
DST = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"
SIGNATURE_BYTES = 48
# The order r of G1 and G2 (BLS12-381).
GROUP_ORDER = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
# The generator of G2, compressed (the Zcash serialisation blst and drand use).
_G2_GENERATOR = bytes.fromhex(
    "93e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d0"
    "55d042b7e024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bb"
    "efd48056c8c121bdb8"
)
_LAST_ROUND = 2**63  # rounds travel as JSON numbers and 8-byte messages


@dataclass(frozen=True)
class Chain:
    """A drand chain's parameters: pinned for quicknet, a test chain in the tests."""

    kind: str
    chain_hash: str
    public_key: bytes  # G2, 96 bytes compressed
    genesis: int  # Unix time of round 1
    period: int  # seconds between rounds
    scheme: str = "bls-unchained-g1-rfc9380"


QUICKNET = Chain(
    kind="drand-quicknet",
    chain_hash="52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
    public_key=bytes.fromhex(
        "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6"
        "a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9"
        "c76a4bc09e76eae8991ef5ece45a"
    ),
    genesis=1692803367,
    period=3,
)

# The chains `[beacon] kind` may name. Only the tests add to it (a chain whose key they
# hold, to sign a year of rounds); nothing a user configures can.
CHAINS: dict[str, Chain] = {QUICKNET.kind: QUICKNET}


class BadRound(ValueError):
    """A round's signature that does not verify: the reason, in one line."""


def chain_of(kind: str) -> Chain:
    try:
        return CHAINS[kind]
    except KeyError:
        raise BadRound(
            f"{kind!r} is not a beacon this version knows; use {', '.join(sorted(CHAINS))}"
        ) from None


def round_time(chain: Chain, number: int) -> datetime:
    """When round ``number`` is published (UTC)."""
    return datetime.fromtimestamp(chain.genesis + (number - 1) * chain.period, UTC)


def round_after(chain: Chain, instant: datetime) -> int:
    """The first round published strictly after ``instant``."""
    elapsed = instant.astimezone(UTC) - datetime.fromtimestamp(chain.genesis, UTC)
    if elapsed < timedelta(0):
        return 1
    # Round n is published at genesis + (n - 1) * period; at exactly that instant round n
    # is not "after", so the answer is the round after it.
    return int(elapsed // timedelta(seconds=chain.period)) + 2


def draw_time(day: date, run_at: time, zone: ZoneInfo) -> datetime:
    """The instant (UTC) of local ``day``'s draw: run_at as the daily job fires it
    (core/run_times.py: a time in the spring gap is the first instant after it, a
    repeated time is the first of the two)."""
    return fire_time(day, run_at, zone)


def round_of_day(chain: Chain, day: date, run_at: time, zone: ZoneInfo) -> int:
    """The round that decides ``day``'s draw: the first strictly after its draw time."""
    return round_after(chain, draw_time(day, run_at, zone))


def beacon_id(chain: Chain, number: int) -> str:
    return f"{chain.kind}:{number}"


def parse_beacon_id(text: str) -> tuple[str, int]:
    """``"drand-quicknet:657413"`` as (kind, round)."""
    kind, _, number = text.rpartition(":")
    if not kind or not number.isdigit() or number != str(int(number)) or int(number) < 1:
        raise BadRound(f"{text!r} is not a beacon id of the form KIND:ROUND")
    return kind, int(number)


def label_of(body: dict[str, object]) -> str | None:
    """What a draw entry says of its beacon, in one word: its id ("drand-quicknet:R"),
    "missing" for a day drawn without the round its rule named, or None (no beacon)."""
    found = body.get("beacon")
    if isinstance(found, dict) and "missing" in found:
        return "missing"
    named = body.get("beacon_id", "none")
    return None if named == "none" else str(named)


def message(number: int) -> bytes:
    """What the chain signs for round ``number``: SHA-256 of it as 8 bytes big-endian."""
    return hashlib.sha256(number.to_bytes(8, "big")).digest()


def randomness_of(signature: bytes) -> bytes:
    return hashlib.sha256(signature).digest()


def check_round(chain: Chain, number: int, signature: bytes) -> bytes:
    """The randomness of round ``number`` when ``signature`` is the chain's signature of
    it; else BadRound, saying what is wrong."""
    import pyblst  # type: ignore[import-untyped]  # compiled, no stubs; loaded when used

    if not 1 <= number < _LAST_ROUND:
        raise BadRound(f"round {number} is not a round number")
    if len(signature) != SIGNATURE_BYTES:
        raise BadRound(
            f"the signature of round {number} is {len(signature)} bytes; a signature of "
            f"{chain.kind} is {SIGNATURE_BYTES}"
        )
    if signature[0] & 0x40:  # the compressed point at infinity: no signature at all
        raise BadRound(f"the signature of round {number} is the point at infinity")
    try:
        point = pyblst.BlstP1Element.uncompress(signature)
    except Exception as error:  # blst says why: not on the curve, not in G1, bad flags
        raise BadRound(
            f"the signature of round {number} is not a valid point: {_why(error)}"
        ) from None
    # Explicitly, whatever the library's deserialiser checks: r * point = infinity. blst's
    # uncompress refuses such a point already (BLST_POINT_NOT_IN_GROUP, as _why says);
    # this line is what holds if that ever changes, never a path blst reaches.
    if point.scalar_mul(GROUP_ORDER) != pyblst.BlstP1Element():
        raise BadRound(f"the signature of round {number} is outside the prime-order subgroup")
    hashed = pyblst.BlstP1Element.hash_to_group(message(number), DST)
    generator, key = _g2(chain.public_key)
    if not pyblst.final_verify(
        pyblst.miller_loop(point, generator), pyblst.miller_loop(hashed, key)
    ):
        raise BadRound(
            f"the signature does not verify for round {number} under the pinned public key "
            f"of {chain.kind}"
        )
    return randomness_of(signature)


@cache
def _g2(public_key: bytes) -> tuple[object, object]:
    import pyblst

    return (
        pyblst.BlstP2Element.uncompress(_G2_GENERATOR),
        pyblst.BlstP2Element.uncompress(public_key),
    )


def _why(error: Exception) -> str:
    text = str(error)
    for code, words in (
        ("NOT_IN_GROUP", "it is outside the prime-order subgroup"),
        ("NOT_ON_CURVE", "it is not on the curve"),
        ("BAD_ENCODING", "its encoding is not a compressed point"),
    ):
        if code in text:
            return words
    return "blst refused it"

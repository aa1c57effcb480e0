"""A client's receipt of one day's draw (`audit receipt CODE DATE`, issue 20).

Plain text a client can keep and anyone can check with `screening-verify.py --receipt`
alone, without the rest of the ledger. Each line is one fact, "label: value", and each is
either checked by the verifier (the commitment entry by its hash, the day key against
the anchor, the beacon round by the rule and its signature, the score by recomputation)
or compared with one that is. The last line, ``check: <sha256>``, is the SHA-256 of every
byte before it, so that a copy changed by one character anywhere fails even where the
change would still read as a fact.

The receipt names the client by uid: a code cannot be checked against anything, and the
receipt is the client's own to show. The uid, the daily chance and the draw entry are the
clinic's statement; `audit verify` (or the verifier given the export too) checks them
against the ledger.

The standalone verifier (screening/data/screening_verify.py) renders the same text from
what it parsed, so this module and its copy there must agree line for line: the tests
verify receipts this module makes with that file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

HEADER = "screening day receipt 1 (algorithm screening/v1)"
CHECK = "check: "

RANDOM = "selected at random"
INTERVAL = "selected by the interval floor (not at random: too long since the last test)"
NOT_SELECTED = "not selected"
NOT_IN_DRAW = "not in the draw: "
# What a draw entry's left_out reasons mean (core/selection.py), said to a client.
LEFT_OUT = {
    "closure": "the clinic was closed",
    "hold": "on hold",
    "not_a_meeting_day": "not a meeting day of their track",
    "recently_tested": "tested too recently (the policy's shortest gap between tests)",
}
NOT_IN_PROGRAM = "not in the program that day"

FLAG_LATE = "flag: drawn late, after its day (select --late)"
FLAG_NO_BEACON = "flag: drawn without its beacon (the policy's fallback: draw)"
FLAG_EARLY = "flag: drawn before its beacon round's time by the clinic's clock"


@dataclass(frozen=True)
class BeaconPart:
    """The beacon that governed the day (docs/beacon.md): its round by rule, and either
    the verified round's signature and randomness or why the day was drawn without it."""

    kind: str
    round: int
    round_time: datetime
    chain: str  # chain hash, hex
    run_at: str  # as the policy shows it, "HH:MM" or "HH:MM:SS"
    zone: str
    draw_time: datetime
    signature: str | None = None  # 96 hex
    randomness: str | None = None  # 64 hex
    missing: str | None = None  # one-line reason, for a day drawn without it

    @property
    def beacon_id(self) -> str:
        return "none" if self.signature is None else f"{self.kind}:{self.round}"


@dataclass(frozen=True)
class DayReceipt:
    site: str
    day: date
    uid: str
    chance: str | None  # "num/den" from the pool; None when not in the pool
    per_day: int  # count mode's k; 0 when each client is drawn at their own chance
    outcome: str  # one of the phrases above
    draw_seq: int
    draw_hash: str
    amended: bool  # the entry is a draw_amend
    late: bool
    drawn_at: datetime  # the draw entry's time
    zone: str  # the site's zone at the draw (the draw's policy)
    beacon: BeaconPart | None
    commitment: str  # the commitment entry's canonical JSON
    commitment_hash: str
    key: str | None = None  # the revealed day key, hex
    reveal_seq: int | None = None
    reveal_at: datetime | None = None
    score: int | None = None


def outcome_of(why: str | None, left_out: str | None, in_pool: bool) -> str:
    """The outcome line's words for a pool member's ``why`` (random, interval or None)
    or the reason they were left out."""
    if in_pool:
        return {"random": RANDOM, "interval": INTERVAL}.get(why or "", NOT_SELECTED)
    if left_out is not None:
        return NOT_IN_DRAW + LEFT_OUT.get(left_out, left_out)
    return NOT_IN_DRAW + NOT_IN_PROGRAM


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local(moment: datetime, zone: str) -> str:
    """``07:00 America/New_York``; with seconds only when there are any."""
    wall = moment.astimezone(ZoneInfo(zone))
    return f"{wall:%H:%M:%S}" if wall.second else f"{wall:%H:%M}"


def render(receipt: DayReceipt) -> str:
    """The receipt's text, ending with its check line."""
    r = receipt
    chance = "none (not in the draw)" if r.chance is None else r.chance
    if r.chance is not None and r.per_day:
        chance += f" (count mode: the {r.per_day} lowest scores of the day's pool are selected)"
    lines = [
        HEADER,
        f"site: {r.site}",
        f"date: {r.day.isoformat()}",
        f"client: {r.uid}",
        f"daily chance: {chance}",
        f"outcome: {r.outcome}",
        f"draw entry: {r.draw_seq} {r.draw_hash}" + (" (amended)" if r.amended else ""),
        f"drawn at: {instant(r.drawn_at)} ({local(r.drawn_at, r.zone)} {r.zone})",
    ]
    lines += _beacon_lines(r.beacon)
    committed = json.loads(r.commitment)
    lines += [
        f"anchor: {committed['body']['anchor']} committed in entry {committed['seq']} "
        f"at {committed['at']}",
        f"commitment: {r.commitment}",
        f"commitment hash: {r.commitment_hash}",
    ]
    if r.key is None:
        lines.append(
            f"day key: not revealed yet: the clinic reveals it with its first write after "
            f"{r.day.isoformat()} ends in {r.zone} (or `screening audit reveal`); ask again then"
        )
    else:
        assert r.reveal_at is not None
        lines.append(f"day key: {r.key} revealed in entry {r.reveal_seq} at {instant(r.reveal_at)}")
        if r.score is not None:
            lines.append(f"score: {r.score:064x}")
            if not r.per_day and r.chance is not None:
                lines.append(comparison(r.score, r.chance))
    if r.late:
        lines.append(FLAG_LATE)
    if r.beacon is not None and r.beacon.missing is not None:
        lines.append(FLAG_NO_BEACON)
    if r.beacon is not None and r.beacon.signature is not None and r.drawn_at < r.beacon.round_time:
        lines.append(FLAG_EARLY)
    text = "".join(line + "\n" for line in lines)
    return text + check_line(text)


def _beacon_lines(beacon: BeaconPart | None) -> list[str]:
    if beacon is None:
        return ["beacon: none (no beacon governed this day)"]
    lines = [
        f"beacon: {beacon.kind} round {beacon.round}, published {instant(beacon.round_time)}",
        f"beacon chain: {beacon.chain}",
        f"draw time: {instant(beacon.draw_time)} (run_at {beacon.run_at} in {beacon.zone}); "
        "the round is the first published after it",
    ]
    if beacon.signature is not None:
        lines += [
            f"beacon signature: {beacon.signature}",
            f"beacon randomness: {beacon.randomness}",
        ]
    else:
        lines.append(f"beacon missing: {beacon.missing}")
    return lines


def comparison(score: int, chance: str) -> str:
    """``X * den < num * 2^256`` (DESIGN §5), with its answer."""
    numerator, _, denominator = chance.partition("/")
    num, den = int(numerator), int(denominator or "1")
    holds = num > 0 and (num >= den or score * den < num * 2**256)
    return f"test: score * {den} < {num} * 2^256: {'yes' if holds else 'no'}"


def check_line(text: str) -> str:
    return f"{CHECK}{hashlib.sha256(text.encode('utf-8')).hexdigest()}\n"

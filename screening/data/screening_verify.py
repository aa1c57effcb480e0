#!/usr/bin/env python3
"""Verify an export of a `screening` ledger, with nothing but Python 3.11's standard library.

    python3 screening-verify.py EXPORT_DIR [--vkey KEY] [--witnessed DIR]
    python3 screening-verify.py [EXPORT_DIR] --receipt FILE

Checks, in order: every field of the manifest (its format, the number of entries, the
head, and each file's SHA-256); every ledger line is canonical JSON whose SHA-256 is its
hash, numbered 1, 2, 3... and linked to the one before; anchors.json and keys.json are
what the ledger holds; every revealed day key opens its period's anchor; every draw
whose key is revealed is drawn again from that key and the ledger's own record of who was
in the program, on hold or recently screened (algorithm screening/v1), with the day's
beacon when one governs the day: drand quicknet's round by the rule (the first after
the day's draw time), its randomness SHA-256 of its signature, and the signature itself
(BLS, each round once) when `pyblst` or `py_ecc` is installed; without them a warning
says how many rounds were not checked. A day drawn without its beacon is a flag.

Then the witnessed notes (witness/ in the export, and your own copies with --witnessed):
each checkpoint's signature with the witness public key (the one you give with --vkey,
else the one kept with your copies, else the one shipped), and its RFC 6962 tree head
against the ledger's at that size; each witnessed anchor against the ledger's
commitment. The signatures need the `cryptography` package: without it they are not
checked, and a warning says so (the tree heads are still compared).

Exit 0 when everything holds; 1 naming the first problem; 2 for a bad command line.
This file is shipped with screening and copied into every export; it imports nothing
from it, so an auditor can run it without installing anything.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import heapq
import hmac
import json
import re
import sys
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

try:  # Ed25519 for the witnessed notes' signatures; without it they are not checked
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    SIGNATURES = True
except ImportError:  # pragma: no cover - depends on the auditor's Python
    SIGNATURES = False

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SPACE = 1 << 256


class Problem(Exception):
    """The first thing that does not hold."""


def lp(data: bytes | str) -> bytes:
    data = data.encode("utf-8") if isinstance(data, str) else data
    return len(data).to_bytes(4, "big") + data


def chain_step(value: bytes) -> bytes:
    return hashlib.sha256(lp("screening/v1/chain") + value).digest()


def day_seed(
    key: bytes, site: str, day: date, beacon_id: str = "none", beacon_value: bytes = b""
) -> bytes:
    message = lp("screening/v1/day") + lp(site) + lp(day.isoformat())
    return hmac.digest(key, message + lp(beacon_id) + lp(beacon_value), "sha256")


def score(seed: bytes, uid: str) -> int:
    return int.from_bytes(hmac.digest(seed, lp("screening/v1/client") + lp(uid), "sha256"), "big")


def fraction(text: str) -> Fraction:
    numerator, _, denominator = text.partition("/")
    return Fraction(int(numerator), int(denominator or "1"))


def deadline(at: datetime, policy: dict) -> datetime:
    """When a screening listed at ``at`` is due (docs/ledger-format.md, `past_midnight`)."""
    due = at + timedelta(hours=policy["collect_within_hours"])
    if policy.get("past_midnight") != "end_of_day":
        return due
    zone = ZoneInfo(policy["timezone"])
    day = (due - timedelta(seconds=1)).astimezone(zone).date()  # midnight ends the day before
    if day == at.astimezone(zone).date():
        return due
    return datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC) - timedelta(
        seconds=1
    )


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --- The public randomness beacon (docs/beacon.md) ---
# drand quicknet, pinned: the same values as screening/core/beacon.py. The relay is only
# a messenger; a policy or a receipt names the chain by its hash, and only a chain listed
# here is accepted.
QUICKNET_HASH = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"
BEACON_CHAINS: dict[str, dict] = {
    QUICKNET_HASH: {
        "kind": "drand-quicknet",
        "public_key": bytes.fromhex(
            "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3a"
            "c6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5"
            "a6e9c76a4bc09e76eae8991ef5ece45a"
        ),
        "genesis": 1692803367,
        "period": 3,
    }
}
# drand's bls-unchained-g1-rfc9380: the signature is a point of G1 (48 bytes compressed),
# the message SHA-256 of the round as 8 bytes big-endian, hashed to G1 with this domain.
BEACON_DST = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"
G1_ORDER = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
G2_GENERATOR = bytes.fromhex(
    "93e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d0"
    "55d042b7e024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bb"
    "efd48056c8c121bdb8"
)
# Which library checks the signatures: "auto" (pyblst, compiled, 2 ms a round; else
# py_ecc, pure Python, about half a second a round), "pyblst", "py_ecc" or "none".
BLS = "auto"


def fire_time(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant (UTC) of local ``day``'s draw at local time ``at``, as the clinic's
    daily job fires it: in a spring gap the first instant after the gap, in a repeated
    hour the first of the two (screening/core/run_times.py)."""
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=zone, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
        return first.astimezone(UTC)
    low, high = int(wall.replace(tzinfo=zone, fold=1).timestamp()), int(first.timestamp())
    after = first.astimezone(UTC).astimezone(zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def beacon_round_after(chain: dict, instant: datetime) -> int:
    """The first round published strictly after ``instant`` (round n at genesis +
    (n - 1) * period; at exactly that instant, round n is not after it)."""
    elapsed = instant - datetime.fromtimestamp(chain["genesis"], UTC)
    if elapsed < timedelta(0):
        return 1
    return int(elapsed // timedelta(seconds=chain["period"])) + 2


def beacon_round_time(chain: dict, number: int) -> datetime:
    return datetime.fromtimestamp(chain["genesis"] + (number - 1) * chain["period"], UTC)


def bls_library(wanted: str | None = None) -> str | None:
    """The BLS12-381 library this Python has for the beacon's signatures: pyblst
    (compiled), else py_ecc, else None; ``wanted`` (default BLS) may name one, or "none"."""
    wanted = BLS if wanted is None else wanted
    for name, module in (("pyblst", "pyblst"), ("py_ecc", "py_ecc.optimized_bls12_381")):
        if wanted in ("auto", name):
            try:
                __import__(module)
            except ImportError:
                continue
            return name
    return None


def bls_check(
    number: int, signature: bytes, public_key: bytes | None = None, library: str | None = None
) -> str | None:
    """None when ``signature`` is the chain's signature of round ``number`` (quicknet's
    unless ``public_key`` is given); else why not, in words: it must be a point of G1, not
    infinity, in the prime-order subgroup (checked explicitly: outside it one round would
    have many "valid" signatures to choose among), with e(signature, g2) == e(H(message),
    key). ``library``: pyblst or py_ecc (default bls_library()); ImportError when there is
    neither."""
    key = BEACON_CHAINS[QUICKNET_HASH]["public_key"] if public_key is None else public_key
    library = library or bls_library()
    if len(signature) != 48:
        return f"the signature is {len(signature)} bytes, not 48"
    if signature[0] & 0x40:
        return "the signature is the point at infinity"
    message = hashlib.sha256(number.to_bytes(8, "big")).digest()
    if library == "pyblst":
        import pyblst  # type: ignore[import-untyped]  # compiled, no stubs

        try:
            point = pyblst.BlstP1Element.uncompress(signature)
        except Exception as error:  # not on the curve, not in G1, bad flags: blst says which
            if "NOT_IN_GROUP" in str(error):
                return "the signature is outside the prime-order subgroup"
            return "the signature is not a point of G1"
        if point.scalar_mul(G1_ORDER) != pyblst.BlstP1Element():
            return "the signature is outside the prime-order subgroup"
        verified = pyblst.final_verify(
            pyblst.miller_loop(point, pyblst.BlstP2Element.uncompress(G2_GENERATOR)),
            pyblst.miller_loop(
                pyblst.BlstP1Element.hash_to_group(message, BEACON_DST),
                pyblst.BlstP2Element.uncompress(key),
            ),
        )
    elif library == "py_ecc":
        from py_ecc.bls.hash_to_curve import hash_to_G1
        from py_ecc.bls.point_compression import decompress_G1, decompress_G2
        from py_ecc.bls.typing import G1Compressed, G2Compressed
        from py_ecc.optimized_bls12_381 import FQ12, G2, curve_order, is_inf, multiply, neg
        from py_ecc.optimized_bls12_381.optimized_pairing import final_exponentiate, miller_loop

        try:
            point = decompress_G1(G1Compressed(int.from_bytes(signature, "big")))
        except (ValueError, TypeError):
            return "the signature is not a point of G1"
        if not is_inf(multiply(point, curve_order)):
            return "the signature is outside the prime-order subgroup"
        public = decompress_G2(
            G2Compressed((int.from_bytes(key[:48], "big"), int.from_bytes(key[48:], "big")))
        )
        # py_ecc's stubs want a hash object's type; it calls what it is given.
        hashed = hash_to_G1(message, BEACON_DST, hashlib.sha256)  # type: ignore[arg-type]
        # One final exponentiation of e(sig, g2) * e(H(m), -key): 1 when they are equal
        # (half the time of comparing two pairings).
        product = miller_loop(G2, point, False) * miller_loop(neg(public), hashed, False)
        verified = final_exponentiate(product) == FQ12.one()
    else:
        raise ImportError("no BLS12-381 library: install py_ecc (pip install py_ecc)")
    if not verified:
        return "the signature does not verify under the chain's public key"
    return None


class Ledger:
    """The state the ledger describes, and each draw checked against it."""

    def __init__(self, bls: str | None = None) -> None:
        self.policies: dict[str, dict] = {}
        # Each site's policy entries in order, (at, body): a day's beacon is set by the
        # latest one before the day began, so that nobody moves a day's round on the day.
        self.policy_log: dict[str, list[tuple[datetime, dict]]] = defaultdict(list)
        # The library that checks beacon signatures (None: not checked, and said so);
        # each round once: (chain hash, round) -> (its signature, the entry that gave it).
        self.bls = bls
        self.rounds: dict[tuple[str, int], tuple[bytes, int]] = {}
        self.day_beacons: dict[tuple[str, date], tuple] = {}
        self.anchors: dict[tuple[str, str], bytes] = {}
        self.keys: dict[tuple[str, date], bytes] = {}
        self.clients: dict[str, dict[str, dict]] = defaultdict(dict)
        # uid -> hold entry -> the days it covers now (ended early or withdrawn: fewer).
        self.holds: dict[str, dict[int, tuple[date, date]]] = defaultdict(dict)
        self.closed: set[tuple[str, date]] = set()
        self.closure_day: dict[int, date] = {}
        self.screened: dict[str, Counter] = defaultdict(Counter)
        self.screening_day: dict[tuple[int, str], date] = {}
        # For policies with interval_from = "collection": days collected, and screenings
        # still pending with their deadline.
        self.collected: dict[str, Counter] = defaultdict(Counter)
        self.open: dict[str, dict[int, tuple[date, datetime]]] = defaultdict(dict)
        self.waiting: dict[tuple[str, date], list[tuple[int, dict]]] = defaultdict(list)
        # Each day's selection so far: an amendment keeps everyone already selected.
        self.previous: dict[tuple[str, date], dict[str, str]] = {}
        self.replayed = 0
        # Each site's time zones from its `site` entries: (from when, zone), in order.
        self.zones: dict[str, list[tuple[datetime | None, str]]] = {}
        self.flags: list[str] = []
        self.latest_at: datetime | None = None

    def take(self, seq: int, entry: dict) -> None:
        kind, site, body = entry["kind"], entry["site"], entry["body"]
        at = datetime.strptime(entry["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        earlier = self.policies.get(site, {}) if kind == "policy" else {}
        if (
            kind == "policy"
            and earlier.get("beacon") != body.get("beacon")
            and self.latest_at is not None
            and at < self.latest_at
        ):
            # Dated back before midnight, a change could choose a day's round after
            # seeing it: the program never records one with its clock set back.
            raise Problem(
                f"entry {seq}: it changes the beacon rule of {site!r} but is dated "
                f"{entry['at']}, before an earlier entry: a change of the rule is never "
                "recorded with a clock set back"
            )
        if self.latest_at is not None and at < self.latest_at - timedelta(minutes=5):
            self.flags.append(
                f"entry {seq} is dated {entry['at']}, before an earlier entry: the clock "
                "of the computer that wrote it was behind"
            )
        self.latest_at = max(at, self.latest_at or at)
        if kind == "site":
            self.site(seq, site, body)
        elif kind == "policy":
            zones = self.zones.get(site)
            if zones is not None:
                keeps = [zone for start, zone in zones if start is None or start <= at][-1]
                if body["timezone"] != keeps:
                    raise Problem(
                        f"entry {seq}: its policy says time zone {body['timezone']}, but "
                        f"site {site} keeps {keeps} then"
                    )
            elif site in self.policies and self.policies[site]["timezone"] != body["timezone"]:
                self.flags.append(
                    f"{site}: time zone {self.policies[site]['timezone']} -> "
                    f"{body['timezone']} in the policy of entry {seq}, with no site entry"
                )
            self.beacon_settings(seq, body)
            self.policies[site] = body
            self.policy_log[site].append((at, body))
        elif kind == "commitment":
            self.anchors[(site, body["period"])] = bytes.fromhex(body["anchor"])
        elif kind == "client":
            self.clients[site][body["client"]["uid"]] = body["client"]
        elif kind == "hold":
            self.hold(seq, body)
        elif kind == "closure":
            closure = body["closure"]
            if body.get("action") == "withdraw":
                self.closed.discard((site, self.closure_day.get(closure["entry"], date.min)))
            else:
                self.closure_day[seq] = date.fromisoformat(closure["date"])
                self.closed.add((site, date.fromisoformat(closure["date"])))
        elif kind == "reveal":
            self.reveal(seq, site, body, at)
        elif kind in ("draw", "draw_amend"):
            self.draw(seq, site, body, kind, at)
        elif kind == "screening":
            self.screening(seq, site, body, at)
        elif kind == "result":
            ref = (body["screening"][0], body["screening"][1])
            self.open[ref[1]].pop(ref[0], None)
            day = self.screening_day.get(ref)
            if day is not None:
                self.collected[ref[1]][day] += 1

    def hold(self, seq: int, body: dict) -> None:
        hold = body["hold"]
        spans = self.holds[hold["uid"]]
        action = body.get("action", "add")
        if action == "withdraw":
            spans.pop(hold["entry"], None)
        elif action == "end":
            start = spans[hold["entry"]][0]
            spans[hold["entry"]] = (start, date.fromisoformat(hold["to"]))
        else:
            spans[seq] = (date.fromisoformat(hold["from"]), date.fromisoformat(hold["to"]))

    def site(self, seq: int, site: str, body: dict) -> None:
        """A site's time zone: recorded (create, adopt) or changed on purpose (flagged)."""
        if body["action"] in ("create", "adopt"):
            self.zones[site] = [(None, body["timezone"])]
            return
        starts = datetime.strptime(body["starts_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        self.zones.setdefault(site, [(None, body["from"])]).append((starts, body["timezone"]))
        self.flags.append(
            f"{site}: time zone {body['from']} -> {body['timezone']} from "
            f"{body['starts_at']} (entry {seq})"
        )

    def reveal(self, seq: int, site: str, body: dict, at: datetime) -> None:
        day = date.fromisoformat(body["date"])
        key = bytes.fromhex(body["key"])
        anchor = self.anchors.get((site, f"{day:%Y-%m}"))
        opened = key
        for _ in range(day.day):
            opened = chain_step(opened)
        if anchor is None or not hmac.compare_digest(opened, anchor):
            raise Problem(
                f"entry {seq}: the key revealed for {site} {day} does not open its period's anchor"
            )
        zone = ZoneInfo(self.policies[site]["timezone"])
        if at < datetime.combine(day + timedelta(days=1), time(), zone):
            raise Problem(
                f"entry {seq}: the key of {site} {day} was revealed before the day was over"
            )
        self.keys[(site, day)] = key
        for waiting_seq, snapshot in self.waiting.pop((site, day), []):
            self.check(waiting_seq, snapshot, key)

    def screening(self, seq: int, site: str, body: dict, at: datetime) -> None:
        if body["action"] == "create":
            day = date.fromisoformat(body["date"])
            self.screened[body["uid"]][day] += 1
            self.screening_day[(seq, body["uid"])] = day
            self.open[body["uid"]][seq] = (day, deadline(at, self.policies[site]))
            return
        ref = (body["screening"][0], body["screening"][1])
        self.open[ref[1]].pop(ref[0], None)
        if body["status"] == "inconclusive":  # a collection voided (wrong client)
            voided = self.screening_day.get(ref)
            if voided is not None and self.collected[ref[1]][voided] > 0:
                self.collected[ref[1]][voided] -= 1
                if self.collected[ref[1]][voided] <= 0:
                    del self.collected[ref[1]][voided]
        if body["status"] == "cancelled":
            ref = (body["screening"][0], body["screening"][1])
            cancelled = self.screening_day.get(ref)
            if cancelled is not None:
                self.screened[ref[1]][cancelled] -= 1
                if self.screened[ref[1]][cancelled] <= 0:
                    del self.screened[ref[1]][cancelled]

    def draw(self, seq: int, site: str, body: dict, kind: str, at: datetime) -> None:
        day = date.fromisoformat(body["date"])
        policy = self.policies[site]
        if body["policy"] != hashlib.sha256(canonical(policy).encode()).hexdigest():
            raise Problem(f"entry {seq}: the draw names a policy other than the one in force")
        snapshot = {
            "site": site,
            "day": day,
            "policy": policy,
            "body": body,
            "kind": kind,
            "candidates": self.candidates(site, day, at),
            "closed": (site, day) in self.closed,
            "already": {} if kind == "draw" else dict(self.previous.get((site, day), {})),
        }
        self.beacon(seq, site, day, body, kind, at)
        self.previous[(site, day)] = {s["uid"]: s["why"] for s in body["selected"]}
        for item in body["selected"]:
            if kind == "draw" or item["uid"] in body.get("added", []):
                self.screened[item["uid"]][day] += 1
                self.screening_day[(seq, item["uid"])] = day
                self.open[item["uid"]][seq] = (day, deadline(at, policy))
        key = self.keys.get((site, day))
        if key is not None:
            self.check(seq, snapshot, key)
        else:
            self.waiting[(site, day)].append((seq, snapshot))

    def beacon_settings(self, seq: int, body: dict) -> None:
        """A policy's [beacon]: a chain this verifier knows, a time and a fallback."""
        settings = body.get("beacon")
        if settings is None:
            return
        chain = BEACON_CHAINS.get(settings.get("chain"))
        if chain is None or chain["kind"] != settings.get("kind"):
            raise Problem(
                f"entry {seq}: its policy names the beacon {settings.get('kind')} with chain "
                f"{settings.get('chain')}, which this verifier does not know (it knows "
                + ", ".join(f"{c['kind']} {h}" for h, c in BEACON_CHAINS.items())
                + ")"
            )
        time.fromisoformat(settings["run_at"])
        if settings.get("fallback") not in ("wait", "draw"):
            raise Problem(f"entry {seq}: its policy's beacon fallback is not wait or draw")

    def governing(self, site: str, day: date) -> dict | None:
        """The policy whose beacon settings govern ``day``: the latest entered before the
        day began (midnight in that policy's time zone)."""
        for at, body in reversed(self.policy_log[site]):
            if at < fire_time(day, time(0, 0), ZoneInfo(body["timezone"])):
                return body
        return None

    def beacon(self, seq: int, site: str, day: date, body: dict, kind: str, at: datetime) -> None:
        """The day's beacon: the round its rule gives, at its draw time, with its
        signature, randomness and id; or drawn without it, when the policy allowed."""
        where = f"entry {seq} ({kind} {site} {day})"
        given = body.get("beacon")
        fields = (body["beacon_id"], body["beacon_value"], given)
        if kind == "draw_amend" and (site, day) in self.day_beacons:
            if fields != self.day_beacons[(site, day)]:
                raise Problem(f"{where}: its beacon is not the one of the day's draw")
            return  # the draw's, checked with the draw
        self.day_beacons[(site, day)] = fields
        policy = self.governing(site, day)
        settings = policy.get("beacon") if policy is not None else None
        if policy is None or settings is None:
            if given is not None:
                raise Problem(
                    f"{where}: it carries a beacon, but none governs the day (the policy in "
                    "force when the day began names none)"
                )
            if body["beacon_id"] != "none" or body["beacon_value"] != "":
                raise Problem(f"{where}: a beacon is named but none governs the day")
            return
        chain = BEACON_CHAINS[settings["chain"]]
        drawn = fire_time(day, time.fromisoformat(settings["run_at"]), ZoneInfo(policy["timezone"]))
        number = beacon_round_after(chain, drawn)
        if not isinstance(given, dict):
            raise Problem(
                f"{where}: drawn without a beacon, but the policy in force when the day began "
                f"names {settings['kind']} (round {number})"
            )
        missing = "missing" in given
        shape = {"round", "draw_time", "missing" if missing else "signature"}
        if set(given) != shape:
            raise Problem(f"{where}: its beacon has the fields {', '.join(sorted(given))}")
        if given["round"] != number or type(given["round"]) is not int:
            raise Problem(
                f"{where}: its beacon is round {given['round']}, but the rule gives round "
                f"{number}, the first after the draw time {drawn:%Y-%m-%dT%H:%M:%SZ}"
            )
        if given["draw_time"] != f"{drawn:%Y-%m-%dT%H:%M:%SZ}":
            raise Problem(
                f"{where}: its beacon's draw time is {given['draw_time']}, but the policy's "
                f"run_at {settings['run_at']} gives {drawn:%Y-%m-%dT%H:%M:%SZ}"
            )
        if missing:
            if settings["fallback"] != "draw":
                raise Problem(
                    f'{where}: drawn without its beacon, but the policy said fallback = "wait"'
                )
            if body["beacon_id"] != "none" or body["beacon_value"] != "":
                raise Problem(f"{where}: drawn without its beacon, yet a beacon is named")
            self.flags.append(
                f"drawn without its beacon {site} {day} (round {number}: {given['missing']}) "
                f"(entry {seq})"
            )
            return
        if not isinstance(given["signature"], str) or not re.fullmatch(
            "[0-9a-f]{96}", given["signature"]
        ):
            raise Problem(f"{where}: its beacon's signature is not 48 bytes in hex")
        signature = bytes.fromhex(given["signature"])
        if body["beacon_id"] != f"{chain['kind']}:{number}":
            raise Problem(
                f"{where}: its beacon id is {body['beacon_id']}, not {chain['kind']}:{number}"
            )
        if body["beacon_value"] != hashlib.sha256(signature).hexdigest():
            raise Problem(f"{where}: its beacon value is not SHA-256 of round {number}'s signature")
        self.round_signature(where, seq, settings["chain"], chain, number, signature)
        published = beacon_round_time(chain, number)
        if at < published:
            self.flags.append(
                f"drawn before its beacon round's time by this computer's clock: {site} {day} "
                f"at {at:%Y-%m-%dT%H:%M:%SZ}, round {number} published at "
                f"{published:%Y-%m-%dT%H:%M:%SZ} (entry {seq})"
            )

    def round_signature(
        self, where: str, seq: int, chain_hash: str, chain: dict, number: int, signature: bytes
    ) -> None:
        """Each round's signature checked once, however many sites and days name it."""
        known = self.rounds.get((chain_hash, number))
        if known is not None:
            if known[0] != signature:  # a round has one signature (hence the subgroup check)
                raise Problem(
                    f"{where}: the signature of round {number} is not the one entry "
                    f"{known[1]} gave for it"
                )
            return
        if self.bls is not None:
            reason = bls_check(number, signature, chain["public_key"], self.bls)
            if reason is not None:
                raise Problem(f"{where}: the beacon signature of round {number}: {reason}")
        self.rounds[(chain_hash, number)] = (signature, seq)

    def candidates(self, site: str, day: date, at: datetime) -> list[dict]:
        found = []
        for uid, state in self.clients[site].items():
            admitted = date.fromisoformat(state["admitted_on"])
            discharged = state["discharged_on"]
            if admitted > day or (discharged and day >= date.fromisoformat(discharged)):
                continue
            dates = self.screened.get(uid)
            tested = [*self.collected.get(uid, ())]
            tested += [d for d, due in self.open.get(uid, {}).values() if due > at]
            found.append(
                {
                    "uid": uid,
                    "track": state["track"],
                    "phase": state["phase"],
                    "admitted": admitted,
                    "last": max(dates) if dates else None,
                    "last_collected": max(tested) if tested else None,
                    "held": any(a <= day <= b for a, b in self.holds.get(uid, {}).values()),
                }
            )
        return found

    def check(self, seq: int, snapshot: dict, key: bytes) -> None:
        """Draw the day again and compare with what the entry recorded."""
        site, day, policy, body = (snapshot[k] for k in ("site", "day", "policy", "body"))
        seed = day_seed(key, site, day, body["beacon_id"], bytes.fromhex(body["beacon_value"]))
        pool, left_out, selected = {}, {}, dict(snapshot["already"])
        for c in snapshot["candidates"]:
            phase = policy["phases"][c["phase"]]
            meets = policy["days"] == "calendar" or WEEKDAYS[day.weekday()] in policy["tracks"].get(
                c["track"], ()
            )
            low = phase.get("min_days_between_tests")
            if snapshot["closed"]:
                left_out[c["uid"]] = "closure"
            elif c["held"]:
                left_out[c["uid"]] = "hold"
            elif not meets:
                left_out[c["uid"]] = "not_a_meeting_day"
            elif low is not None and c["last"] is not None and (day - c["last"]).days < low:
                left_out[c["uid"]] = "recently_tested"
            else:
                pool[c["uid"]] = min(fraction(phase["p"].get(c["track"], "0/1")), Fraction(1))
        if policy["per_day"]:
            drawn = {
                u
                for _, u in heapq.nsmallest(policy["per_day"], {(score(seed, u), u) for u in pool})
            }
        else:
            drawn = {
                u
                for u, p in pool.items()
                if p > 0 and (p >= 1 or score(seed, u) * p.denominator < p.numerator * SPACE)
            }
        by_uid = {c["uid"]: c for c in snapshot["candidates"]}
        for uid in sorted(pool):
            if uid in selected:
                continue
            if uid in drawn:
                selected[uid] = "random"
                continue
            cap = policy["phases"][by_uid[uid]["phase"]].get("max_days_between_tests")
            # Policies with interval_from = "collection" count from the last collection
            # (an excusal or a miss is not a test); older ones from any screening.
            clock = "last_collected" if policy.get("interval_from") == "collection" else "last"
            last = by_uid[uid][clock] or by_uid[uid]["admitted"]
            if cap is not None and (day - last).days >= cap:
                selected[uid] = "interval"
        recorded_pool = {i["uid"]: fraction(i["p"]) for i in body["pool"]}
        recorded_out = {i["uid"]: i["reason"] for i in body["left_out"]}
        recorded = {i["uid"]: i["why"] for i in body["selected"]}
        where = f"entry {seq} ({snapshot['kind']} {site} {day})"
        if recorded_pool != pool:
            raise Problem(f"{where}: the pool is not the clients the ledger shows eligible")
        if recorded_out != left_out:
            raise Problem(f"{where}: the clients left out, or why, differ from the ledger")
        if recorded != selected:
            raise Problem(f"{where}: the selection is not what the revealed key draws")
        self.replayed += 1


KNOWN_FORMATS = ("screening-export/1", "screening-export/2")
MANIFEST_FIELDS = ("entries", "files", "format", "head")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
DASH = "\u2014"


def read_manifest(folder: Path) -> dict:
    """Every field of manifest.json, each checked for what it must be."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise Problem(f"manifest.json cannot be read: {error}") from None
    if not isinstance(manifest, dict) or sorted(manifest) != list(MANIFEST_FIELDS):
        fields = ", ".join(sorted(manifest)) if isinstance(manifest, dict) else "none"
        raise Problem(
            f"manifest.json has the fields {fields}; it must have exactly "
            f"{', '.join(MANIFEST_FIELDS)}"
        )
    if manifest["format"] not in KNOWN_FORMATS:
        raise Problem(
            f"manifest.json says format {manifest['format']!r}; this verifier reads "
            f"{' and '.join(KNOWN_FORMATS)}"
        )
    entries, head, files = manifest["entries"], manifest["head"], manifest["files"]
    if type(entries) is not int or entries < 0:
        raise Problem(f"manifest.json: entries {entries!r} is not a number of entries")
    if not isinstance(head, str) or not re.fullmatch(r"[0-9]+:[0-9a-f]{64}", head):
        raise Problem(f"manifest.json: head {head!r} is not SEQ:HASH")
    if not isinstance(files, dict) or "ledger.jsonl" not in files:
        raise Problem("manifest.json: files does not list ledger.jsonl")
    for name, digest in files.items():
        parts = Path(name).parts
        if Path(name).is_absolute() or ".." in parts or "\\" in name or name == "manifest.json":
            raise Problem(f"manifest.json names the file {name!r}, which is not in the export")
        if not isinstance(digest, str) or not HEX64.match(digest):
            raise Problem(f"manifest.json: the hash of {name} is not a SHA-256")
    if manifest["format"] == "screening-export/1" and any(n.startswith("witness/") for n in files):
        raise Problem(
            "manifest.json says format screening-export/1, which carries no witnessed notes, "
            "but it lists files under witness/"
        )
    return manifest


class Tree:
    """RFC 6962 §2.1 Merkle tree head over the entries' hashes (leaf i is the 32 raw bytes
    of entry i + 1's hash), kept as its perfect subtrees while the ledger is read."""

    def __init__(self) -> None:
        self.size = 0
        self.peaks: list[bytes] = []

    def append(self, entry_hash: bytes) -> None:
        node, size = hashlib.sha256(b"\x00" + entry_hash).digest(), self.size
        while size & 1:
            node = hashlib.sha256(b"\x01" + self.peaks.pop() + node).digest()
            size >>= 1
        self.peaks.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self.peaks:
            return hashlib.sha256(b"").digest()
        node = self.peaks[-1]
        for peak in reversed(self.peaks[:-1]):
            node = hashlib.sha256(b"\x01" + peak + node).digest()
        return node


def parse_vkey(text: str, where: str) -> tuple[str, bytes]:
    """A C2SP verifier key ``NAME+ID+BASE64(0x01 || Ed25519 key)``: its name and key."""
    parts = text.strip().split("+")
    try:
        name, wanted, raw = (
            parts[0],
            bytes.fromhex(parts[1]),
            base64.b64decode("+".join(parts[2:]), validate=True),
        )
    except (IndexError, ValueError, binascii.Error):
        raise Problem(f"{where} is not a witness public key (NAME+ID+KEY)") from None
    if len(raw) != 33 or raw[:1] != b"\x01" or key_id(name, raw[1:]) != wanted:
        raise Problem(f"{where} is not an Ed25519 witness public key whose id matches")
    return name, raw[1:]


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4]


def open_note(data: bytes, name: str, public: bytes, where: str) -> str:
    """A C2SP signed note's text, once its signature by ``name``'s key verifies (when the
    ``cryptography`` package is there to verify it)."""
    try:
        note = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(f"{where} is not UTF-8 text") from None
    text, blank, signatures = note.rpartition("\n\n")
    lines = signatures.split("\n")
    if not blank or lines[-1] != "" or len(lines) < 2:
        raise Problem(f"{where} is not a signed note (text, a blank line, signatures)")
    text += "\n"
    found = False
    for line in lines[:-1]:
        match = re.fullmatch(DASH + r" (\S+) (\S+)", line)
        if match is None:
            raise Problem(f"{where}: {line[:40]!r} is not a signature line")
        try:
            blob = base64.b64decode(match.group(2), validate=True)
        except binascii.Error:
            raise Problem(f"{where}: a signature is not base64") from None
        if match.group(1) != name or blob[:4] != key_id(name, public):
            continue
        if SIGNATURES:
            try:
                Ed25519PublicKey.from_public_bytes(public).verify(blob[4:], text.encode())
            except InvalidSignature:
                raise Problem(
                    f"{where}: its signature does not verify with the witness key: the note "
                    "was changed after it was signed"
                ) from None
        found = True
    if not found:
        raise Problem(f"{where} is not signed by the witness key of {name}")
    return text


def parse_checkpoint(text: str, origin: str, where: str) -> dict:
    lines = text.split("\n")
    try:
        size, root = int(lines[1]), base64.b64decode(lines[2], validate=True)
        extensions = dict(line.split(" ", 1) for line in lines[3:-1] if " " in line)
        made = datetime.strptime(extensions["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        head = extensions["head"]
    except (IndexError, ValueError, KeyError, binascii.Error):
        raise Problem(f"{where} is not a checkpoint (origin, size, root, time, head)") from None
    if lines[0] != origin:
        raise Problem(f"{where} is a checkpoint of the log {lines[0]}, not this ledger's {origin}")
    if len(root) != 32 or not HEX64.match(head) or size < 0:
        raise Problem(f"{where}: its root or head is not a SHA-256")
    return {"where": where, "size": size, "root": root, "time": made, "head": head}


def parse_anchors(text: str, origin: str, where: str) -> list[tuple]:
    lines = text.split("\n")
    if lines[0] != f"{origin}/anchors":
        raise Problem(f"{where} does not list the anchors of this ledger's log {origin}")
    found = []
    for line in lines[1:-1]:
        parts = line.split(" ")
        if len(parts) != 5 or not parts[2].isdigit() or not parts[4].isdigit():
            raise Problem(f"{where}: {line[:60]!r} is not SITE PERIOD LENGTH ANCHOR SEQ")
        found.append((where, parts[0], parts[1], int(parts[2]), parts[3], int(parts[4])))
    return found


class Witnessed:
    """The checkpoints and anchors notes to check the ledger against: those shipped in the
    export (witness/), and the auditor's own copies (--witnessed DIR)."""

    def __init__(self, folder: Path, manifest: dict, origin: str, args: argparse.Namespace):
        self.origin = origin
        self.checkpoints: list[dict] = []
        self.anchors: list[tuple] = []
        self.seen: set[bytes] = set()
        shipped = {n: folder / n for n in manifest["files"] if n.startswith("witness/")}
        own = _own_log(Path(args.witnessed), origin) if args.witnessed else None
        keys = []  # (source, vkey text), the strongest first
        if args.vkey:
            text = args.vkey
            if Path(text).is_file():
                text = Path(text).read_text(encoding="utf-8")
            keys.append(("the witness key you gave (--vkey)", text))
        if own is not None and (own / "witness.vkey").is_file():
            keys.append((f"{own / 'witness.vkey'}", (own / "witness.vkey").read_text("utf-8")))
        if "witness/witness.vkey" in shipped:
            keys.append(
                (
                    "the witness key shipped in the export",
                    _read(shipped.pop("witness/witness.vkey")).decode("utf-8", "replace"),
                )
            )
        if not keys:
            if shipped or own is not None:
                raise Problem("the witnessed notes come with no witness public key to check them")
            self.key_source = None
            return
        parsed = [(source, parse_vkey(text, source)) for source, text in keys]
        self.key_source, (name, self.public) = parsed[0]
        if name != origin:
            raise Problem(
                f"{self.key_source} signs the log {name}, but this ledger is the log {origin}: "
                "the ledger is not the one that was witnessed (replaced from its first entry)"
            )
        for source, key in parsed[1:]:
            if key != (name, self.public):
                raise Problem(
                    f"{source} is not {self.key_source}: the export's notes were "
                    "signed with another key"
                )
        for name_, path in sorted(shipped.items()):
            self._take(path, name_)
        if own is not None:
            for kind in ("checkpoints", "anchors"):
                for path in sorted((own / kind).glob("*")) if (own / kind).is_dir() else []:
                    self._take(path, str(path))

    def _take(self, path: Path, where: str) -> None:
        data = _read(path)
        if data in self.seen:
            return  # the same note shipped and among your copies: checked once
        self.seen.add(data)
        if path.suffix == ".checkpoint":
            text = open_note(data, self.origin, self.public, where)
            self.checkpoints.append(parse_checkpoint(text, self.origin, where))
        elif path.suffix == ".anchors":
            text = open_note(data, self.origin, self.public, where)
            self.anchors += parse_anchors(text, self.origin, where)

    def check(self, roots: dict, entries: int, commitments: dict, dated: dict) -> list[str]:
        """Each checkpoint's root against the ledger's tree head at its size; each
        witnessed anchor against the ledger's commitment. Returns what held."""
        good = None
        for cp in sorted(self.checkpoints, key=lambda c: (c["size"], c["time"])):
            since = good["size"] if good else 0
            before = (
                f"the checkpoint before it, {_named(good)}, holds"
                if good
                else "no earlier witnessed checkpoint holds"
            )
            if cp["size"] > entries:
                raise Problem(
                    f"the ledger ends at entry {entries}, but the checkpoint {_named(cp)} "
                    f"holds more: entries were removed; entries {since + 1} to {cp['size']} "
                    f"are not the ones witnessed ({before})"
                )
            if roots[cp["size"]] != (cp["root"], cp["head"]):
                raise Problem(
                    f"the ledger does not match the checkpoint {_named(cp)}: entries "
                    f"{since + 1} to {cp['size']} were changed after they were witnessed "
                    f"({before})"
                )
            good = cp if good is None or cp["size"] >= good["size"] else good
        for where, site, period, length, anchor, seq in self.anchors:
            have = commitments.get((site, period))
            if have is None:
                raise Problem(
                    f"{where} witnesses the commitment of site {site} for {period} "
                    f"(entry {seq}), but the ledger holds none: it was removed"
                )
            if have != (length, anchor, seq):
                raise Problem(
                    f"entry {have[2]}: the commitment of site {site} for {period} "
                    f"differs from the one witnessed in {where}: it was rewritten"
                )
        lines = []
        if self.checkpoints:
            newest = max(self.checkpoints, key=lambda c: (c["time"], c["size"]))
            first = min(self.checkpoints, key=lambda c: (c["size"], c["time"]))
            lines.append(
                f"witnessed: {len(self.checkpoints)} checkpoint"
                f"{'s hold' if len(self.checkpoints) != 1 else ' holds'}, the newest of "
                f"{newest['size']} entries made {newest['time']:%Y-%m-%dT%H:%M:%SZ}; "
                + (
                    f"signatures checked with {self.key_source}"
                    if SIGNATURES
                    else "signatures NOT checked"
                )
            )
            if before_witnessing(first["time"], dated.get(1)):
                lines.append(
                    f"witnessed since {first['time']:%Y-%m-%d}: entries 1 to {first['size']} "
                    "were written before the first checkpoint, and until it are vouched for "
                    "by the hash chain only"
                )
        if self.anchors:
            lines.append(f"witnessed anchors match the ledger's commitments: {len(self.anchors)}")
        return lines


def before_witnessing(first: datetime, written: str | None) -> bool:
    """Whether the ledger was begun well before its first checkpoint was made (a clinic
    older than witnessing), not with it (the checkpoint made at `init`)."""
    if written is None:
        return False
    at = datetime.strptime(written, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return first - at > timedelta(hours=1)


def _named(cp: dict) -> str:
    return f"{cp['where']} ({cp['size']} entries, made {cp['time']:%Y-%m-%dT%H:%M:%SZ})"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        raise Problem(f"{path} cannot be read") from None


def _own_log(folder: Path, origin: str) -> Path:
    """--witnessed DIR: a witness folder (holding screening-<hex>/) or that log folder."""
    log = folder / origin.replace("/", "-")
    if log.is_dir():
        return log
    if (folder / "checkpoints").is_dir() or (folder / "anchors").is_dir():
        return folder
    others = sorted(p.name for p in folder.glob("screening-*")) if folder.is_dir() else []
    if others:
        raise Problem(
            f"{folder} holds the witnessed notes of {', '.join(others)}, but not of this "
            f"ledger's log {origin}: the ledger is not the one that was witnessed"
        )
    raise Problem(f"--witnessed {folder}: no witnessed checkpoints or anchors there")


def verify(folder: Path, args: argparse.Namespace) -> tuple[str, list[str]]:
    manifest = read_manifest(folder)
    raw = _read(folder / "ledger.jsonl")
    lines = raw.split(b"\n")[:-1]
    origin = "screening/" + (hashlib.sha256(lines[0]).hexdigest()[:16] if lines else "")
    witnessed = Witnessed(folder, manifest, origin, args)
    sizes = {cp["size"] for cp in witnessed.checkpoints}
    bls = bls_library()
    ledger, tree, commitments = Ledger(bls), Tree(), {}
    roots = {0: (tree.root(), "0" * 64)}  # size: (tree head, hash of the last entry)
    dated: dict[int, str] = {}  # when entry 1 was written: witnessed from the start?
    prev, expected = "0" * 64, 1
    for number, line in enumerate(lines, start=1):
        try:
            text = line.decode("utf-8")
            entry = json.loads(text)
        except (UnicodeDecodeError, ValueError):
            raise Problem(f"line {number} of ledger.jsonl is not JSON") from None
        if canonical(entry) != text:
            raise Problem(f"line {number} (entry {entry.get('seq')}) is not in canonical form")
        if entry.get("seq") != expected:
            raise Problem(
                f"line {number}: entry {entry.get('seq')} where entry {expected} should be"
            )
        if entry.get("prev") != prev:
            raise Problem(
                f"entry {expected}: its link to the entry before is broken (was entry "
                f"{expected - 1} or this one changed?)"
            )
        ledger.take(expected, entry)
        if entry["kind"] == "commitment":
            body = entry["body"]
            commitments[(entry["site"], body["period"])] = (
                body["length"],
                body["anchor"],
                expected,
            )
        prev = hashlib.sha256(line).hexdigest()
        tree.append(bytes.fromhex(prev))
        if expected == 1:
            dated[1] = entry["at"]
        if expected in sizes:
            roots[expected] = (tree.root(), prev)
        expected += 1
    entries = expected - 1
    head = f"{entries}:{prev}"
    if head != manifest["head"]:
        raise Problem(f"the ledger ends at {head}, the manifest says {manifest['head']}")
    if entries != manifest["entries"]:
        raise Problem(
            f"the ledger holds {entries} entries, the manifest says {manifest['entries']}"
        )
    # Line by line first, so that a changed byte is named by its entry; then the files.
    for name, digest in manifest["files"].items():
        if hashlib.sha256(_read(folder / name)).hexdigest() != digest:
            raise Problem(f"{name} does not match its hash in the manifest")
    for name, derived in (("anchors.json", ledger.anchors), ("keys.json", ledger.keys)):
        if name in manifest["files"]:
            listed = json.loads(_read(folder / name))
            wanted: dict[str, dict[str, str]] = defaultdict(dict)
            for (site, when), value in derived.items():
                wanted[site][str(when)] = value.hex()
            if listed != dict(wanted):
                raise Problem(f"{name} is not what the ledger holds")
    held = witnessed.check(roots, entries, commitments, dated)
    warnings = [
        f"{name} is in the export folder but not in its manifest: it is not part of the "
        "clinic's export and was not checked"
        for name in sorted(
            path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()
        )
        if name != "manifest.json" and name not in manifest["files"]
    ]
    if (args.vkey or args.witnessed) and not witnessed.checkpoints:
        # The auditor asked for the witnessed check: an export without what it needs
        # fails it, rather than passing with a warning.
        raise Problem(
            "no witnessed checkpoint could be checked (--vkey or --witnessed was given): "
            "the export carries none, and none was found in --witnessed"
        )
    if (args.vkey or args.witnessed) and not SIGNATURES:
        raise Problem(
            "--vkey/--witnessed need the Python package `cryptography` to check the "
            "signatures (pip install cryptography, or your system's python3-cryptography)"
        )
    if not witnessed.checkpoints:
        warnings.append(
            "the export carries no witnessed checkpoint: nothing outside the clinic's "
            "database vouches for this ledger (ask the clinic for its witnessed copies, "
            "or pass --witnessed DIR with yours)"
        )
    elif not SIGNATURES:
        warnings.append(
            "signatures were NOT checked: the Python package `cryptography` is not installed "
            "(pip install cryptography, or your system's python3-cryptography); the "
            "witnessed checkpoints' tree heads were compared with the ledger, but without "
            "their signatures anyone could have written them"
        )
    elif not args.vkey and not args.witnessed:
        warnings.append(
            "the checkpoints were checked with the witness key shipped in the export; for a "
            "stronger check pass --vkey with the key the clinic gave you, or --witnessed DIR"
        )
    rounds = len(ledger.rounds)
    if rounds and bls is None:
        warnings.append(
            f"BLS signatures of {rounds} beacon round{'s' if rounds != 1 else ''} not "
            "checked: install py_ecc (pip install py_ecc) to check them"
        )
    waiting = sum(len(v) for v in ledger.waiting.values())
    report = "\n".join(
        [
            f"ledger intact: {entries} entries, head {head}; {ledger.replayed} draws "
            f"replayed from revealed keys; {waiting} not yet revealed",
            f"manifest holds: format {manifest['format']}, {entries} entries, "
            f"{len(manifest['files'])} files",
            *held,
            *(
                [
                    f"beacon: {rounds} drand quicknet round{'s' if rounds != 1 else ''} "
                    "checked: each the round its day's rule gives, its randomness SHA-256 of "
                    "its signature; "
                    + (
                        f"BLS signatures verified with {bls}"
                        if bls
                        else "BLS signatures NOT checked (no pyblst or py_ecc)"
                    )
                ]
                if rounds
                else []
            ),
            *(f"flag: {flag}" for flag in ledger.flags),
        ]
    )
    return report, warnings


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="screening-verify.py", description="Verify an export of a screening ledger."
    )
    parser.add_argument("export", metavar="EXPORT_DIR", nargs="?")
    parser.add_argument(
        "--vkey",
        help="the clinic's witness public key (NAME+ID+KEY, or a file holding it), kept "
        "apart from the export: the checkpoints' signatures are checked with it",
    )
    parser.add_argument(
        "--witnessed",
        metavar="DIR",
        help="your own copies of the clinic's witnessed checkpoints and anchors (a witness "
        "folder, or its screening-<hex> folder)",
    )
    parser.add_argument(
        "--receipt",
        metavar="FILE",
        help="a client's receipt (screening audit receipt) to check alone, or against "
        "EXPORT_DIR when given",
    )
    args = parser.parse_args(argv[1:])
    if args.export is None and args.receipt is None:
        parser.error("give EXPORT_DIR, --receipt FILE, or both")
    if args.witnessed and not Path(args.witnessed).is_dir():
        parser.error(f"--witnessed {args.witnessed}: no such folder")
    if args.vkey:
        try:
            parse_vkey(
                Path(args.vkey).read_text(encoding="utf-8")
                if Path(args.vkey).is_file()
                else args.vkey,
                f"--vkey {args.vkey}",
            )
        except (Problem, OSError, UnicodeDecodeError) as error:
            parser.error(str(error))
    if args.receipt is not None:
        return receipt_main(args)
    try:
        report, warnings = verify(Path(args.export), args)
    except Problem as problem:
        print(f"problem: {problem}", file=sys.stderr)
        return 1
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        print(
            f"problem: the export is malformed ({type(error).__name__}: {error})", file=sys.stderr
        )
        return 1
    print(report)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


# --- a client's receipt (`screening audit receipt`; issue 20) ------------------------
# `--receipt FILE` checks one receipt alone, without the ledger: its check line, the
# commitment entry by its hash, the day key against the anchor, the beacon round by the
# rule and its signature, and the score. Its text is rendered here again from what was
# parsed (as screening/core/receipt.py renders it) and must be the same byte for byte,
# so that no line escapes the checks.

RECEIPT_HEADER = "screening day receipt 1 (algorithm screening/v1)"
R_RANDOM = "selected at random"
R_INTERVAL = "selected by the interval floor (not at random: too long since the last test)"
R_NOT_SELECTED = "not selected"
R_NOT_IN_DRAW = "not in the draw: "
R_FLAG_LATE = "flag: drawn late, after its day (select --late)"
R_FLAG_NO_BEACON = "flag: drawn without its beacon (the policy's fallback: draw)"
R_FLAG_EARLY = "flag: drawn before its beacon round's time by the clinic's clock"
_HEX = "[0-9a-f]"
_AT = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def receipt_local(moment: datetime, zone: str) -> str:
    wall = moment.astimezone(ZoneInfo(zone))
    return f"{wall:%H:%M:%S}" if wall.second else f"{wall:%H:%M}"


def receipt_at(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def receipt_comparison(number: int, chance: str) -> str:
    numerator, _, denominator = chance.partition("/")
    num, den = int(numerator), int(denominator or "1")
    holds = num > 0 and (num >= den or number * den < num * SPACE)
    return f"test: score * {den} < {num} * 2^256: {'yes' if holds else 'no'}"


def receipt_text(r: dict) -> str:
    """The receipt as screening/core/receipt.py renders it, without its check line."""
    chance = "none (not in the draw)" if r["chance"] is None else r["chance"]
    if r["chance"] is not None and r["per_day"]:
        chance += f" (count mode: the {r['per_day']} lowest scores of the day's pool are selected)"
    lines = [
        RECEIPT_HEADER,
        f"site: {r['site']}",
        f"date: {r['date']}",
        f"client: {r['uid']}",
        f"daily chance: {chance}",
        f"outcome: {r['outcome']}",
        f"draw entry: {r['draw_seq']} {r['draw_hash']}" + (" (amended)" if r["amended"] else ""),
        f"drawn at: {receipt_at(r['drawn_at'])} ({receipt_local(r['drawn_at'], r['zone'])} "
        f"{r['zone']})",
    ]
    b = r["beacon"]
    if b is None:
        lines.append("beacon: none (no beacon governed this day)")
    else:
        lines += [
            f"beacon: {b['kind']} round {b['round']}, published {receipt_at(b['round_time'])}",
            f"beacon chain: {b['chain']}",
            f"draw time: {receipt_at(b['draw_time'])} (run_at {b['run_at']} in {b['zone']}); "
            "the round is the first published after it",
        ]
        if b["signature"] is not None:
            lines += [
                f"beacon signature: {b['signature']}",
                f"beacon randomness: {b['randomness']}",
            ]
        else:
            lines.append(f"beacon missing: {b['missing']}")
    committed = r["commitment_doc"]
    lines += [
        f"anchor: {committed['body']['anchor']} committed in entry {committed['seq']} "
        f"at {committed['at']}",
        f"commitment: {r['commitment']}",
        f"commitment hash: {r['commitment_hash']}",
    ]
    if r["key"] is None:
        lines.append(
            f"day key: not revealed yet: the clinic reveals it with its first write after "
            f"{r['date']} ends in {r['zone']} (or `screening audit reveal`); ask again then"
        )
    else:
        lines.append(
            f"day key: {r['key']} revealed in entry {r['reveal_seq']} at "
            f"{receipt_at(r['reveal_at'])}"
        )
        if r["score"] is not None:
            lines.append(f"score: {r['score']:064x}")
            if not r["per_day"] and r["chance"] is not None:
                lines.append(receipt_comparison(r["score"], r["chance"]))
    if r["late"]:
        lines.append(R_FLAG_LATE)
    if b is not None and b["signature"] is None:
        lines.append(R_FLAG_NO_BEACON)
    if b is not None and b["signature"] is not None and r["drawn_at"] < b["round_time"]:
        lines.append(R_FLAG_EARLY)
    return "".join(line + "\n" for line in lines)


def _field(fields: dict, label: str, pattern: str) -> re.Match:
    """The value of ``label``'s line, matched whole by ``pattern``."""
    if label not in fields:
        raise Problem(f"the receipt has no '{label}:' line")
    found = re.fullmatch(pattern, fields[label])
    if found is None:
        raise Problem(f"the receipt's '{label}:' line is not in a receipt's form")
    return found


def _maybe(fields: dict, label: str, pattern: str) -> re.Match | None:
    """As _field, for a line a receipt may leave out."""
    return _field(fields, label, pattern) if label in fields else None


def _moment(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise Problem(f"the receipt's time {text} is not a time") from None


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        raise Problem(f"the receipt's time zone {name!r} is not one this Python knows") from None
    return name


def parse_receipt(text: str) -> dict:
    """The facts a receipt states, each read by the form its line must have."""
    lines = text.split("\n")[:-1]
    if not lines or lines[0] != RECEIPT_HEADER:
        raise Problem(
            f"the file is not a screening day receipt (its first line is not {RECEIPT_HEADER!r})"
        )
    fields: dict[str, str] = {}
    for line in lines[1:]:
        label, colon, value = line.partition(": ")
        if not colon:
            raise Problem(f"the receipt's line {line[:40]!r} is not 'label: value'")
        if label == "flag":
            continue  # rendered again from the facts and compared
        if label in fields:
            raise Problem(f"the receipt has two '{label}:' lines")
        fields[label] = value
    r: dict = {}
    r["site"] = _field(fields, "site", r"\S+").group(0)
    r["date"] = _field(fields, "date", r"\d{4}-\d\d-\d\d").group(0)
    try:
        r["day"] = date.fromisoformat(r["date"])
    except ValueError:
        raise Problem(f"the receipt's date {r['date']} is not a date") from None
    r["uid"] = _field(fields, "client", r"[0-9a-f-]{36}").group(0)
    chance = _field(
        fields,
        "daily chance",
        r"none \(not in the draw\)|(\d+/\d+)(?: \(count mode: the (\d+) .*\))?",
    )
    r["chance"], r["per_day"] = chance.group(1), int(chance.group(2) or 0)
    if r["chance"] is not None and int(r["chance"].partition("/")[2]) == 0:
        raise Problem(f"the receipt's daily chance {r['chance']} divides by zero")
    r["outcome"] = _field(fields, "outcome", r".+").group(0)
    draw = _field(fields, "draw entry", rf"(\d+) ({_HEX}{{64}})( \(amended\))?")
    r["draw_seq"], r["draw_hash"], r["amended"] = (
        int(draw.group(1)),
        draw.group(2),
        bool(draw.group(3)),
    )
    drawn = _field(fields, "drawn at", rf"({_AT}) \(\S+ (\S+)\)")
    r["drawn_at"], r["zone"] = _moment(drawn.group(1)), _zone(drawn.group(2))
    if fields.get("beacon", "").startswith("none"):
        r["beacon"] = None
    else:
        head = _field(fields, "beacon", rf"(\S+) round (\d+), published ({_AT})")
        timing = _field(
            fields, "draw time", rf"({_AT}) \(run_at (\d\d:\d\d(?::\d\d)?) in (\S+)\); .*"
        )
        signature = _maybe(fields, "beacon signature", f"{_HEX}{{96}}")
        randomness = (_maybe if signature is None else _field)(
            fields, "beacon randomness", f"{_HEX}{{64}}"
        )
        missing = None if signature else _field(fields, "beacon missing", ".+")
        r["beacon"] = {
            "kind": head.group(1),
            "round": int(head.group(2)),
            "round_time": _moment(head.group(3)),
            "chain": _field(fields, "beacon chain", f"{_HEX}{{64}}").group(0),
            "draw_time": _moment(timing.group(1)),
            "run_at": timing.group(2),
            "zone": _zone(timing.group(3)),
            "signature": signature.group(0) if signature else None,
            "randomness": randomness.group(0) if randomness else None,
            "missing": missing.group(0) if missing else None,
        }
    r["commitment"] = _field(fields, "commitment", r"\{.*\}").group(0)
    try:
        r["commitment_doc"] = json.loads(r["commitment"])
        r["commitment_doc"]["body"]["anchor"]
    except (ValueError, KeyError, TypeError):
        raise Problem("the receipt's commitment is not a ledger entry") from None
    r["commitment_hash"] = _field(fields, "commitment hash", f"{_HEX}{{64}}").group(0)
    key = _field(
        fields,
        "day key",
        rf"({_HEX}{{64}}) revealed in entry (\d+) at ({_AT})|not revealed yet: .*",
    )
    r["key"] = key.group(1)
    r["reveal_seq"] = int(key.group(2)) if key.group(1) else None
    r["reveal_at"] = _moment(key.group(3)) if key.group(1) else None
    found = _maybe(fields, "score", f"{_HEX}{{64}}")
    r["score"] = int(found.group(0), 16) if found else None
    r["late"] = R_FLAG_LATE in lines
    return r


def check_receipt(text: str) -> tuple[dict, list[str], list[str], list[str]]:
    """The receipt's facts; what was checked; what could not be; the flags it carries."""
    if not text.endswith("\n") or "\ncheck: " not in text:
        raise Problem("the receipt has no check line at its end: it is cut short or changed")
    body, _, last = text[:-1].rpartition("\n")
    body += "\n"
    stated = last.removeprefix("check: ")
    if not last.startswith("check: ") or hashlib.sha256(body.encode()).hexdigest() != stated:
        raise Problem("the check line does not match the receipt: the receipt was changed")
    checked = [
        "check line: the SHA-256 of the text matches (a changed character shows; anyone "
        "can recompute it, so the checks below are what prove the draw)"
    ]
    unchecked: list[str] = []
    r = parse_receipt(body)
    # The commitment: its hash, and that it commits this site's period before the draw.
    doc = r["commitment_doc"]
    if canonical(doc) != r["commitment"]:
        raise Problem("the commitment entry is not in canonical form")
    if hashlib.sha256(r["commitment"].encode()).hexdigest() != r["commitment_hash"]:
        raise Problem("the commitment entry's SHA-256 is not the commitment hash stated")
    day = r["day"]
    length = (date(day.year + day.month // 12, day.month % 12 + 1, 1) - timedelta(days=1)).day + 1
    if (doc.get("kind"), doc.get("site"), doc["body"].get("period"), doc["body"].get("length")) != (
        "commitment",
        r["site"],
        f"{day:%Y-%m}",
        length,
    ):
        raise Problem(
            f"the commitment is not that of site {r['site']} for {day:%Y-%m} ({length} links)"
        )
    if doc["seq"] >= r["draw_seq"] or _moment(doc["at"]) > r["drawn_at"]:
        raise Problem("the anchor was committed after the draw")
    checked.append(
        f"commitment: entry {doc['seq']} hashes to {r['commitment_hash'][:16]}..., committing "
        f"{r['site']} {day:%Y-%m} to anchor {doc['body']['anchor'][:16]}... at {doc['at']}, "
        "before the draw"
    )
    beacon_id, beacon_value = "none", b""
    b = r["beacon"]
    flags = []
    if b is not None:
        chain = BEACON_CHAINS.get(b["chain"])
        if chain is None or chain["kind"] != b["kind"]:
            raise Problem(f"the beacon chain {b['chain']} is not {b['kind']}'s pinned chain")
        try:
            run_at = time.fromisoformat(b["run_at"])
        except ValueError:
            raise Problem(f"the receipt's run_at {b['run_at']} is not a time of day") from None
        rule = fire_time(day, run_at, ZoneInfo(b["zone"]))
        if rule != b["draw_time"]:
            raise Problem(
                f"the draw time is not run_at {b['run_at']} on {day} in {b['zone']} "
                f"({receipt_at(rule)})"
            )
        if b["round"] != beacon_round_after(chain, rule):
            raise Problem(
                f"round {b['round']} is not the first round after the draw time "
                f"(that is round {beacon_round_after(chain, rule)})"
            )
        b["round_time"] = beacon_round_time(chain, b["round"])
        checked.append(
            f"beacon round: {b['round']} is the first published after the draw time "
            f"{receipt_at(rule)} (run_at {b['run_at']} in {b['zone']})"
        )
        if b["signature"] is not None:
            signature = bytes.fromhex(b["signature"])
            if hashlib.sha256(signature).hexdigest() != b["randomness"]:
                raise Problem("the beacon randomness is not the SHA-256 of its signature")
            checked.append("beacon randomness: the SHA-256 of the round's signature")
            try:
                why = bls_check(b["round"], signature, chain["public_key"])
            except ImportError:
                unchecked.append(
                    "the beacon's BLS signature: no BLS library (install py_ecc: "
                    "pip install py_ecc)"
                )
            else:
                if why is not None:
                    raise Problem(f"the beacon signature of round {b['round']}: {why}")
                checked.append(
                    f"beacon signature: round {b['round']} verifies under {b['kind']}'s "
                    f"pinned public key ({bls_library()})"
                )
            beacon_id, beacon_value = f"{b['kind']}:{b['round']}", bytes.fromhex(b["randomness"])
            if r["drawn_at"] < b["round_time"]:
                flags.append("drawn before its beacon round's time by the clinic's clock")
        else:
            flags.append(f"drawn without its beacon (round {b['round']}: {b['missing']})")
    if r["late"]:
        flags.append("drawn late, after its day")
    # The day key against the anchor; the score and the outcome.
    if r["key"] is None:
        unchecked.append(
            f"the outcome: the day key of {day} is not revealed yet (after {day} ends in "
            f"{r['zone']}); ask the clinic for a new receipt then"
        )
        if r["score"] is not None:
            raise Problem("the receipt gives a score without the day key")
    else:
        key = bytes.fromhex(r["key"])
        opened = key
        for _ in range(day.day):
            opened = chain_step(opened)
        if opened.hex() != doc["body"]["anchor"]:
            raise Problem(f"the day key does not open the anchor (H^{day.day}(key) != anchor)")
        midnight = datetime.combine(day + timedelta(days=1), time(), ZoneInfo(r["zone"]))
        if r["reveal_at"] < midnight:
            raise Problem(f"the day key was revealed before {day} was over")
        checked.append(f"day key: opens the anchor (H^{day.day}(key) == anchor)")
        if r["chance"] is not None:
            message = lp("screening/v1/day") + lp(r["site"]) + lp(r["date"])
            seed = hmac.digest(key, message + lp(beacon_id) + lp(beacon_value), "sha256")
            number = score(seed, r["uid"])
            if r["score"] != number:
                raise Problem("the score is not the one the day key gives this client")
            mixed = " and the beacon" if beacon_id != "none" else ""
            checked.append(f"score: recomputed from the day key{mixed}")
            _check_outcome(r, number, checked, unchecked)
    if r["chance"] is None:
        if not r["outcome"].startswith(R_NOT_IN_DRAW):
            raise Problem("a client with no daily chance must be 'not in the draw'")
    elif r["outcome"] not in (R_RANDOM, R_INTERVAL, R_NOT_SELECTED):
        raise Problem(f"the outcome {r['outcome']!r} is not one a draw gives")
    rendered = receipt_text(r)
    if rendered != body:
        wrong = next(
            (
                n
                for n, (a, c) in enumerate(
                    zip(rendered.split("\n"), body.split("\n"), strict=False), 1
                )
                if a != c
            ),
            None,
        )
        raise Problem(f"line {wrong} of the receipt is not what its facts make it")
    # What a forger who remakes the check line can still change unseen (the tests change
    # every character to find it): only the export's ledger can check these.
    revealed = ", and which entry revealed the day key and when," if r["key"] else ","
    unchecked.append(
        "the client's uid, daily chance and place in the draw, the draw entry and when it "
        f"was drawn{revealed} whether a beacon governed the day and its rule's run_at and "
        "zone, are the clinic's statement: check them against its export "
        "(screening-verify.py EXPORT_DIR --receipt FILE)"
    )
    return r, checked, unchecked, flags


def _check_outcome(r: dict, number: int, checked: list[str], unchecked: list[str]) -> None:
    if r["per_day"]:
        unchecked.append(
            f"the outcome: in count mode the {r['per_day']} lowest scores of the day's pool are "
            "selected; a receipt holds one score, the ledger the pool"
        )
        return
    chance = fraction(r["chance"])
    holds = chance >= 1 or (chance > 0 and number * chance.denominator < chance.numerator * SPACE)
    if holds and r["outcome"] != R_RANDOM:
        raise Problem(
            f"the score selects the client at {r['chance']}, but the receipt says {r['outcome']!r}"
        )
    if not holds and r["outcome"] == R_RANDOM:
        raise Problem(
            f"the score does not select the client at {r['chance']}, but the receipt says "
            "selected at random"
        )
    checked.append(f"outcome: the score {'is' if holds else 'is not'} below {r['chance']} of 2^256")
    if r["outcome"] == R_INTERVAL:
        unchecked.append(
            "the interval floor: a receipt cannot show the days since the last test; "
            "the ledger does (audit verify, or this script given the export)"
        )


R_LEFT_OUT = {
    "closure": "the clinic was closed",
    "hold": "on hold",
    "not_a_meeting_day": "not a meeting day of their track",
    "recently_tested": "tested too recently (the policy's shortest gap between tests)",
}


def receipt_against_export(r: dict, folder: Path) -> str:
    """The receipt's statements (uid, chance, outcome, draw entry, beacon, commitment,
    reveal) against an export whose ledger this script has verified."""
    lines = _read(folder / "ledger.jsonl").split(b"\n")[:-1]

    def entry(seq: int, what: str) -> tuple[bytes, dict]:
        if not 1 <= seq <= len(lines):
            raise Problem(f"the receipt's {what} is entry {seq}; the export holds {len(lines)}")
        return lines[seq - 1], json.loads(lines[seq - 1])

    line, doc = entry(r["draw_seq"], "draw entry")
    if hashlib.sha256(line).hexdigest() != r["draw_hash"]:
        raise Problem(f"the receipt's draw entry is not entry {r['draw_seq']} of the export")
    body = doc["body"]
    kind = "draw_amend" if r["amended"] else "draw"
    if (doc["kind"], doc["site"], body["date"], doc["at"]) != (
        kind,
        r["site"],
        r["date"],
        receipt_at(r["drawn_at"]),
    ):
        raise Problem(
            f"entry {r['draw_seq']} is not the {kind} of {r['site']} {r['date']} drawn then"
        )
    uid = r["uid"]
    pool = {item["uid"]: item["p"] for item in body["pool"]}
    left = {item["uid"]: item["reason"] for item in body["left_out"]}
    why = {item["uid"]: item["why"] for item in body["selected"]}.get(uid)
    if uid in pool:
        outcome = {"random": R_RANDOM, "interval": R_INTERVAL}.get(why or "", R_NOT_SELECTED)
    elif uid in left:
        outcome = R_NOT_IN_DRAW + R_LEFT_OUT.get(left[uid], left[uid])
    else:
        outcome = R_NOT_IN_DRAW + "not in the program that day"
    if (pool.get(uid), outcome) != (r["chance"], r["outcome"]):
        raise Problem(f"entry {r['draw_seq']} gives the client another chance or outcome")
    # The version that decided the client: the first that selected them, else the last.
    versions = [
        (n, json.loads(text))
        for n, text in enumerate(lines, 1)
        if b'"date":"' + r["date"].encode() + b'"' in text
    ]
    versions = [
        (n, v)
        for n, v in versions
        if v["kind"] in ("draw", "draw_amend")
        and v["site"] == r["site"]
        and v["body"]["date"] == r["date"]
    ]
    picked = [n for n, v in versions if any(s["uid"] == uid for s in v["body"]["selected"])]
    if (picked[0] if picked else versions[-1][0]) != r["draw_seq"]:
        raise Problem(
            f"entry {r['draw_seq']} is not the version of the draw that decided the client"
        )
    policies = [
        json.loads(text)["body"]
        for text in lines
        if b'"kind":"policy"' in text and json.loads(text)["site"] == r["site"]
    ]
    digests = {hashlib.sha256(canonical(p).encode()).hexdigest(): p for p in policies}
    policy = digests.get(body["policy"])
    if policy is None or (int(policy.get("per_day") or 0), policy["timezone"]) != (
        r["per_day"],
        r["zone"],
    ):
        raise Problem("the draw's policy does not give the receipt's mode and time zone")
    recorded, b = body.get("beacon"), r["beacon"]
    if (recorded is None) != (b is None) or (
        b is not None
        and (
            recorded["round"],
            recorded["draw_time"],
            recorded.get("signature"),
            recorded.get("missing"),
            body["beacon_value"] or None,
        )
        != (b["round"], receipt_at(b["draw_time"]), b["signature"], b["missing"], b["randomness"])
    ):
        raise Problem(f"entry {r['draw_seq']} records another beacon than the receipt")
    if bool(body.get("late")) != r["late"]:
        raise Problem(f"entry {r['draw_seq']} is {'' if body.get('late') else 'not '}a late draw")
    seq = r["commitment_doc"]["seq"]
    if entry(seq, "commitment")[0].decode() != r["commitment"]:
        raise Problem(f"the receipt's commitment is not entry {seq} of the export")
    if r["key"] is not None:
        revealed = entry(r["reveal_seq"], "reveal")[1]
        if (revealed["kind"], revealed["site"], revealed["at"], revealed["body"]) != (
            "reveal",
            r["site"],
            receipt_at(r["reveal_at"]),
            {"date": r["date"], "key": r["key"]},
        ):
            raise Problem(f"entry {r['reveal_seq']} is not the reveal of the receipt's day key")
    return (
        f"against the export: the draw entry {r['draw_seq']}, the client's chance and outcome, "
        "the beacon, the commitment" + (" and the reveal" if r["key"] else "") + " are the ledger's"
    )


def receipt_main(args: argparse.Namespace) -> int:
    """`--receipt FILE` (with EXPORT_DIR: the export is verified first, and the receipt's
    statements are compared with its ledger)."""
    try:
        # As an editor may have saved it: a byte-order mark, Windows line ends, or the
        # last line end added or taken away. None of these is covered by the check line
        # (it covers the text's lines before it), so none is taken for a change.
        text = Path(args.receipt).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        print(f"--receipt {args.receipt}: cannot be read ({error})", file=sys.stderr)
        return 2
    text = text.rstrip("\n") + "\n"
    try:
        if args.export is not None:
            report, warnings = verify(Path(args.export), args)
            print(report)
            for warning in warnings:
                print(f"warning: {warning}", file=sys.stderr)
        r, checked, unchecked, flags = check_receipt(text)
        if args.export is not None:
            checked.append(receipt_against_export(r, Path(args.export)))
            unchecked = [u for u in unchecked if "clinic's statement" not in u]
    except Problem as problem:
        print(f"problem: {problem}", file=sys.stderr)
        return 1
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        print(
            f"problem: the receipt is malformed ({type(error).__name__}: {error})", file=sys.stderr
        )
        return 1
    print(f"receipt of {r['uid']} for {r['site']} {r['date']}: {r['outcome']}")
    for line in checked:
        print(f"checked: {line}")
    for line in unchecked:
        print(f"not checked: {line}")
    for flag in flags:
        print(f"flag: {flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

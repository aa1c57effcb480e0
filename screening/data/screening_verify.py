#!/usr/bin/env python3
"""Verify an export of a `screening` ledger, with nothing but Python 3.11's standard library.

    python3 screening-verify.py EXPORT_DIR

Checks, in order: the manifest's file hashes; every ledger line is canonical JSON whose
SHA-256 is its hash, numbered 1, 2, 3... and linked to the one before; the head is the
one the manifest names; every revealed day key opens its period's anchor; and every draw
whose key is revealed is drawn again from that key and the ledger's own record of who was
in the program, on hold or recently screened (algorithm screening/v1).

Exit 0 when everything holds; 1 naming the first problem; 2 for a bad command line.
This file is shipped with screening and copied into every export; it imports nothing
from it, so an auditor can run it without installing anything.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import json
import sys
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SPACE = 1 << 256


class Problem(Exception):
    """The first thing that does not hold."""


def lp(data: bytes | str) -> bytes:
    data = data.encode("utf-8") if isinstance(data, str) else data
    return len(data).to_bytes(4, "big") + data


def chain_step(value: bytes) -> bytes:
    return hashlib.sha256(lp("screening/v1/chain") + value).digest()


def day_seed(key: bytes, site: str, day: date) -> bytes:
    message = lp("screening/v1/day") + lp(site) + lp(day.isoformat()) + lp("none") + lp(b"")
    return hmac.digest(key, message, "sha256")


def score(seed: bytes, uid: str) -> int:
    return int.from_bytes(hmac.digest(seed, lp("screening/v1/client") + lp(uid), "sha256"), "big")


def fraction(text: str) -> Fraction:
    numerator, _, denominator = text.partition("/")
    return Fraction(int(numerator), int(denominator or "1"))


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Ledger:
    """The state the ledger describes, and each draw checked against it."""

    def __init__(self) -> None:
        self.policies: dict[str, dict] = {}
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
            self.policies[site] = body
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
            hours = self.policies[site]["collect_within_hours"]
            self.open[body["uid"]][seq] = (day, at + timedelta(hours=hours))
            return
        ref = (body["screening"][0], body["screening"][1])
        self.open[ref[1]].pop(ref[0], None)
        if body["status"] == "inconclusive":  # a collection voided (wrong client)
            day = self.screening_day.get(ref)
            if day is not None and self.collected[ref[1]][day] > 0:
                self.collected[ref[1]][day] -= 1
                if self.collected[ref[1]][day] <= 0:
                    del self.collected[ref[1]][day]
        if body["status"] == "cancelled":
            ref = (body["screening"][0], body["screening"][1])
            day = self.screening_day.get(ref)
            if day is not None:
                self.screened[ref[1]][day] -= 1
                if self.screened[ref[1]][day] <= 0:
                    del self.screened[ref[1]][day]

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
        self.previous[(site, day)] = {s["uid"]: s["why"] for s in body["selected"]}
        for item in body["selected"]:
            if kind == "draw" or item["uid"] in body.get("added", []):
                self.screened[item["uid"]][day] += 1
                self.screening_day[(seq, item["uid"])] = day
                due = at + timedelta(hours=policy["collect_within_hours"])
                self.open[item["uid"]][seq] = (day, due)
        key = self.keys.get((site, day))
        if key is not None:
            self.check(seq, snapshot, key)
        else:
            self.waiting[(site, day)].append((seq, snapshot))

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
        seed = day_seed(key, site, day)
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


def verify(folder: Path) -> str:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise Problem(f"manifest.json cannot be read: {error}") from None
    ledger = Ledger()
    prev, expected = "0" * 64, 1
    raw = (folder / "ledger.jsonl").read_bytes()
    for number, line in enumerate(raw.split(b"\n")[:-1], start=1):
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
        prev, expected = hashlib.sha256(line).hexdigest(), expected + 1
    head = f"{expected - 1}:{prev}"
    if head != manifest["head"]:
        raise Problem(f"the ledger ends at {head}, the manifest says {manifest['head']}")
    # Line by line first, so that a changed byte is named by its entry; then the files.
    for name, digest in manifest["files"].items():
        try:
            data = (folder / name).read_bytes()
        except OSError:
            raise Problem(f"{name} is missing") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise Problem(f"{name} does not match its hash in the manifest")
    waiting = sum(len(v) for v in ledger.waiting.values())
    return "\n".join(
        [
            f"ledger intact: {expected - 1} entries, head {head}; {ledger.replayed} draws "
            f"replayed from revealed keys; {waiting} not yet revealed",
            *(f"flag: {flag}" for flag in ledger.flags),
        ]
    )


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python3 screening-verify.py EXPORT_DIR", file=sys.stderr)
        return 2
    try:
        print(verify(Path(argv[1])))
    except Problem as problem:
        print(f"problem: {problem}", file=sys.stderr)
        return 1
    except (KeyError, TypeError, ValueError) as error:
        print(
            f"problem: the export is malformed ({type(error).__name__}: {error})", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Draws and their keys: anchors committed, keys revealed, and every draw or amendment
recomputed from its day key and compared with what the ledger recorded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from screening.core.canonical import canonical_bytes, sha256_hex
from screening.core.policy import collection_deadline
from screening.core.replay.beacons import Beacons, fields_of
from screening.core.replay.broken import Broken
from screening.core.replay.members import Member
from screening.core.replay.state import DrawState, Pending
from screening.core.selection import (
    ALGORITHM,
    Candidate,
    Composition,
    DrawPolicy,
    chain_length,
    compose,
    day_key,
    day_seed,
    key_matches_anchor,
    period_of,
)


class Draws(Beacons):
    """Commitment, reveal, draw and draw amendment entries, and the draws left at the end."""

    def _take_commitment(self, seq: int, site: str, body: dict[str, Any], at: datetime) -> None:
        period = body["period"]
        if (site, period) in self._anchors:
            first = self._anchors[(site, period)][0]
            raise Broken(
                seq,
                f"entry {seq}: a second commitment for {site} {period} "
                f"(the first is entry {first})",
            )
        if body["length"] != chain_length(period):
            raise Broken(
                seq,
                f"entry {seq}: the commitment for {period} has length "
                f"{body['length']}, not {chain_length(period)}",
            )
        self._anchors[(site, period)] = (seq, bytes.fromhex(body["anchor"]))

    def _take_reveal(self, seq: int, site: str, body: dict[str, Any], at: datetime) -> None:
        day = date.fromisoformat(body["date"])
        key = bytes.fromhex(body["key"])
        anchor = self._anchors.get((site, period_of(day)))
        if anchor is None:
            raise Broken(seq, f"entry {seq}: a key revealed for {day} with no anchor committed")
        if not key_matches_anchor(key, day, anchor[1]):
            raise Broken(
                seq,
                f"entry {seq}: the key revealed for {site} {day} does not match "
                f"the anchor committed in entry {anchor[0]}",
            )
        if (site, day) in self._keys:
            raise Broken(seq, f"entry {seq}: the key of {site} {day} is revealed twice")
        if at < self._day_end(site, day):
            raise Broken(
                seq, f"entry {seq}: the key of {site} {day} was revealed before the day was over"
            )
        self._keys[(site, day)] = key
        state = self.draws.get((site, day))
        if state is not None:
            state.revealed_seq = seq
            self.draws[(site, day)] = state
        for pending in self._pending.pop((site, day), []):
            self._check(pending, key)
            self.replayed += 1

    def _take_draw(self, seq: int, site: str, body: dict[str, Any], at: datetime) -> None:
        day = date.fromisoformat(body["date"])
        earlier = self.draws.get((site, day))
        if earlier is not None:
            first = earlier.created_seq
            raise Broken(
                seq,
                f"entry {seq}: a second draw for {site} {day} (the first is "
                f"entry {first}): a day may not be re-rolled",
            )
        policy_body = self._draw_header(seq, site, day, body, at)
        late = bool(body.get("late"))
        local_day = at.astimezone(ZoneInfo(policy_body["timezone"])).date()
        if not late and local_day != day:
            raise Broken(
                seq,
                f"entry {seq}: the draw for {day} was made on {local_day} "
                "without being marked late",
            )
        if late and local_day <= day:
            raise Broken(
                seq, f"entry {seq}: the draw for {day} is marked late but was made on {local_day}"
            )
        if late:
            self.late_draws.append(f"{site} {day} (entry {seq})")
        self._check_beacon(seq, site, day, body, at)
        selected = _selected(body)
        self.draws[(site, day)] = DrawState(
            seq, seq, late, selected, at, body.get("reason"), beacon=fields_of(body)
        )
        self._defer(seq, "draw", site, day, policy_body, {}, body, at)
        self._expect_screenings(seq, site, day, selected, at, policy_body)
        if not late and day > self._latest_day.get(site, date.min):
            self._latest_day[site] = day
            self._retire(site, day)

    def _take_draw_amend(self, seq: int, site: str, body: dict[str, Any], at: datetime) -> None:
        day = date.fromisoformat(body["date"])
        state = self.draws.get((site, day))
        if state is None:
            raise Broken(
                seq, f"entry {seq}: an amendment of a draw for {site} {day} that was never made"
            )
        policy_body = self._draw_header(seq, site, day, body, at)
        local_day = at.astimezone(ZoneInfo(policy_body["timezone"])).date()
        if local_day != day and not state.late:
            raise Broken(
                seq, f"entry {seq}: the draw for {day} was amended on {local_day}, after its day"
            )
        if fields_of(body) != state.beacon:
            raise Broken(
                seq,
                f"entry {seq}: the amendment's beacon is not the one of the day's draw "
                f"(entry {state.created_seq})",
            )
        selected = _selected(body)
        dropped = sorted(set(state.selected) - set(selected))
        if dropped:
            raise Broken(
                seq,
                f"entry {seq}: the amendment unselects client {dropped[0]} "
                "(no second bite: a selection stands)",
            )
        added = {uid: why for uid, why in selected.items() if uid not in state.selected}
        if sorted(added) != sorted(body["added"]):
            raise Broken(
                seq, f"entry {seq}: the amendment's added list does not match its selection"
            )
        self.amendments[seq] = (site, body)
        self._defer(seq, "draw_amend", site, day, policy_body, dict(state.selected), body, at)
        state.selected, state.latest_seq = selected, seq
        self.draws[(site, day)] = state
        self._expect_screenings(seq, site, day, added, at, policy_body)

    def _draw_header(
        self, seq: int, site: str, day: date, body: dict[str, Any], at: datetime
    ) -> dict[str, Any]:
        """Checks common to draws and amendments; returns the policy in force."""
        policy_body = self._policies.get(site)
        if policy_body is None:
            raise Broken(seq, f"entry {seq}: a draw at {site} before any policy entry")
        expected = {
            "period": period_of(day),
            "algorithm": ALGORITHM,
            "policy": sha256_hex(canonical_bytes(policy_body)),
        }
        for name, value in expected.items():
            if body.get(name) != value:
                of = f", the policy of entry {self._policy_entry[site]}" if name == "policy" else ""
                raise Broken(
                    seq,
                    f"entry {seq}: the draw's {name} is {body.get(name)!r}, expected {value!r}{of}",
                )
        if (site, period_of(day)) not in self._anchors:
            raise Broken(
                seq, f"entry {seq}: no anchor was committed for {period_of(day)} before this draw"
            )
        return policy_body

    def _defer(
        self,
        seq: int,
        kind: str,
        site: str,
        day: date,
        policy_body: dict[str, Any],
        already: dict[str, str],
        body: dict[str, Any],
        at: datetime,
    ) -> None:
        pending = Pending(
            seq=seq,
            kind=kind,
            site=site,
            day=day,
            policy=DrawPolicy.from_body(policy_body),
            candidates=self._candidates(site, day, at),
            closed=(site, day) in self._closed,
            already=already,
            body=body,
        )
        key = self._keys.get((site, day))
        if key is not None:
            self._check(pending, key)
            self.replayed += 1
        else:
            self._pending[(site, day)].append(pending)

    def _candidates(self, site: str, day: date, at: datetime) -> list[Candidate]:
        members: Iterator[Member] = iter(self._site_members[site].values())
        if day < self._latest_day.get(site, date.min):
            # A late draw for a day before the latest: those discharged since count too.
            retired = (member for _, member in self._retired.ordered() if member.site == site)
            members = iter([*members, *retired])
        candidates = [member.candidate(day, at) for member in members]
        return sorted((c for c in candidates if c is not None), key=lambda c: c.uid)

    def _check(self, pending: Pending, key: bytes) -> None:
        beacon_id, value, _ = fields_of(pending.body)
        seed = day_seed(key, pending.site, pending.day, beacon_id, bytes.fromhex(value))
        replayed = compose(
            seed, pending.day, pending.policy, pending.candidates, pending.closed, pending.already
        )
        problem = _compare(replayed, pending.body)
        if problem:
            raise Broken(
                pending.seq,
                f"entry {pending.seq} ({pending.kind} {pending.site} {pending.day}): {problem}",
            )

    def _expect_screenings(
        self,
        seq: int,
        site: str,
        day: date,
        selected: dict[str, str],
        at: datetime,
        policy_body: dict[str, Any],
    ) -> None:
        due_by = collection_deadline(at, policy_body)
        for uid, why in selected.items():
            self._new_screening(seq, uid, site, day, why, due_by, draw=f"{site} {day}")

    def finish(self, local_master: Any = None) -> None:
        """Replay the draws whose keys are not revealed yet, with the local master key
        (``local_master(site) -> bytes | None``) where there is one."""
        for (site, day), waiting in sorted(self._pending.items()):
            master = local_master(site) if local_master else None
            if master is None:
                self.not_replayed += len(waiting)
                continue
            key = day_key(master, site, day)
            seq, anchor = self._anchors[(site, period_of(day))]
            if not key_matches_anchor(key, day, anchor):
                raise Broken(
                    waiting[0].seq,
                    f"entry {waiting[0].seq}: the local key file "
                    f"does not match the anchor committed in entry "
                    f"{seq}; the draw for {day} cannot be replayed",
                )
            for pending in waiting:
                self._check(pending, key)
                self.replayed_locally += 1
        self._pending.clear()


def _selected(body: dict[str, Any]) -> dict[str, str]:
    return {item["uid"]: item["why"] for item in body["selected"]}


def _compare(replayed: Composition, body: dict[str, Any]) -> str:
    """The first difference between a recomputed draw and what the ledger recorded."""
    pool = {item["uid"]: item["p"] for item in body["pool"]}
    expected_pool = {uid: f"{p.numerator}/{p.denominator}" for uid, p in replayed.pool}
    for uid in sorted(set(pool) | set(expected_pool)):
        if uid not in pool:
            return f"client {uid} was eligible but is missing from the pool"
        if uid not in expected_pool:
            return f"client {uid} is in the pool but was not eligible"
        if pool[uid] != expected_pool[uid]:
            return (
                f"client {uid} is in the pool at p = {pool[uid]}, the policy gives "
                f"{expected_pool[uid]}"
            )
    left_out = {item["uid"]: item["reason"] for item in body["left_out"]}
    if left_out != dict(replayed.left_out):
        uid = sorted(set(left_out.items()) ^ set(replayed.left_out))[0][0]
        return f"client {uid} is left out differently than the ledger's state says"
    selected = _selected(body)
    for uid, why in sorted(set(selected.items()) ^ set(replayed.selected)):
        if uid not in selected:
            return f"client {uid} was drawn ({why}) but is not recorded as selected"
        if uid not in dict(replayed.selected):
            return f"client {uid} is recorded as selected ({why}) but was not drawn"
        return f"client {uid} is recorded as selected for {why!r}, the replay says otherwise"
    order = [item["uid"] for item in body["pool"]]
    if order != sorted(order):
        return "the pool is not sorted by uid"
    return ""

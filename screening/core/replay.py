"""Replaying the ledger: the state it describes, and every draw recomputed from it.

`audit verify` feeds each checked entry, in order, to ``Replay.take``. The replay keeps
what the ledger says of clients, holds, closures, policies, anchors and screenings, and
re-draws every day once its key is known (from the reveal entry, or from the local key
at the end for days not yet revealed). Pure: no I/O, no clock.

Memory stays flat however long the ledger is. What grows with history (every client,
hold, closure, draw, screening, result and version the database must match, and the
clients discharged before the latest draw) lives in maps made by ``new_map`` (in
`audit verify`, maps that spill to disk: services/spill.py). In
memory stay only the clients still in the program, policies, anchors, closures and the
draws waiting for their key.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from screening.core import body_rules
from screening.core.canonical import canonical_bytes, sha256_hex
from screening.core.ledger import parse_rfc3339
from screening.core.policy import collection_deadline, zone_change_starts
from screening.core.selection import (
    ALGORITHM,
    NO_BEACON,
    Candidate,
    Composition,
    DrawPolicy,
    compose,
    day_seed,
    in_program,
    key_matches_anchor,
    period_of,
)


class Broken(Exception):
    """The first problem found; ``seq`` names the ledger entry when there is one."""

    def __init__(self, seq: int | None, message: str) -> None:
        super().__init__(message)
        self.seq = seq
        self.message = message


@dataclass
class _Pending:
    """A draw or amendment waiting for its day key to be replayed."""

    seq: int
    kind: str
    site: str
    day: date
    policy: DrawPolicy
    candidates: list[Candidate]
    closed: bool
    already: dict[str, str]
    body: dict[str, Any]


@dataclass
class DrawState:
    created_seq: int
    latest_seq: int
    late: bool
    selected: dict[str, str]  # uid -> why
    at: datetime
    reason: str | None  # digest of why a late draw was late
    revealed_seq: int | None = None


Order = Callable[[Any, Any], tuple[int, str]]


class Store(Protocol):
    """A map the replay keeps what grows with history in."""

    def get(self, key: Any, default: Any = None) -> Any: ...
    def __setitem__(self, key: Any, value: Any) -> None: ...
    def __contains__(self, key: Any) -> bool: ...
    def __len__(self) -> int: ...
    def pop(self, key: Any, default: Any = None) -> Any: ...
    def ordered(self) -> Iterator[tuple[Any, Any]]: ...


def by_seq(key: Any, value: Any) -> tuple[int, str]:
    """Order of maps keyed by a ledger seq, or by (seq, uid)."""
    return (key, "") if isinstance(key, int) else (key[0], key[1])


@dataclass
class _Member:
    """What the draw needs of one client: the latest state, holds and screening days."""

    site: str | None
    state: dict[str, Any] | None
    # Hold entry -> the days it covers now (ended early: to its new last day; withdrawn:
    # gone). A draw made before the change keeps the candidates it was made with.
    holds: dict[int, tuple[date, date]] = field(default_factory=dict)
    # Screening dates recorded and not cancelled (how many each day).
    screened: Counter[date] = field(default_factory=Counter)
    # Screening dates collected (how many each day), and screenings still pending by
    # their creating entry: (date, deadline). The interval floor's clock under
    # ``interval_from = "collection"``.
    collected: Counter[date] = field(default_factory=Counter)
    open: dict[int, tuple[date, datetime]] = field(default_factory=dict)

    def candidate(self, day: date, at: datetime | None = None) -> Candidate | None:
        state = self.state
        if state is None:
            return None
        admitted = date.fromisoformat(state["admitted_on"])
        discharged = state["discharged_on"]
        if not in_program(admitted, date.fromisoformat(discharged) if discharged else None, day):
            return None
        held = any(start <= day <= end for start, end in self.holds.values())
        last = max(self.screened) if self.screened else None
        still_open = [d for d, due in self.open.values() if at is not None and due > at]
        tested = [*self.collected, *still_open]
        return Candidate(
            state["uid"],
            state["track"],
            state["phase"],
            admitted,
            held,
            last,
            max(tested) if tested else None,
        )

    def gone_by(self, day: date) -> bool:
        """Discharged on or before ``day``: in no pool of ``day`` or after."""
        discharged = self.state["discharged_on"] if self.state else None
        return discharged is not None and date.fromisoformat(discharged) <= day


class Replay:
    def __init__(self, new_map: Callable[[Order], Store]) -> None:
        # uid -> (latest client entry, site, state)
        self.clients = new_map(lambda uid, known: (known[0], uid))
        self.holds = new_map(by_seq)  # entry -> (site, hold)
        self.closures = new_map(by_seq)  # entry -> (site, closure)
        # (site, day) -> DrawState
        self.draws = new_map(lambda key, state: (state.created_seq, ""))
        # (created_seq, uid) -> the screening row the ledger expects
        self.screenings = new_map(by_seq)
        self.amendments = new_map(by_seq)  # entry -> (site, body)
        # result entry seq -> {"screening": (seq, uid), "latest": seq, "site", "void"}
        self.results = new_map(by_seq)
        # version entry seq -> (result entry seq, content digest)
        self.versions = new_map(by_seq)
        self.replayed = 0
        self.replayed_locally = 0
        self.not_replayed = 0
        self.late_draws: list[str] = []
        # Collections entered after their screening's deadline, and misses reversed.
        self.late_entries: list[str] = []
        self.reversals: list[str] = []
        # Flagged, not failed: a hold that excused a drawn screening (no approver asks for
        # it), and a closure entered after its day (it turns a missed draw into a closed
        # day in the reconciliation).
        self.hold_excusals: list[str] = []
        # Every change of a site's selection policy after its first (an edited config
        # changes who is drawn how often: auditors see when, and what).
        self.policy_changes: list[str] = []
        self.late_closures: list[str] = []
        # Clients who may still be in a pool, by site and by uid (the same objects).
        self._site_members: dict[str, dict[str, _Member]] = defaultdict(dict)
        self._members: dict[str, _Member] = {}
        # Clients discharged before the latest draw of their site: uid -> _Member.
        self._retired = new_map(lambda uid, member: (0, uid))
        self._latest_day: dict[str, date] = {}  # each site's latest draw on its own day
        self._closed: set[tuple[str, date]] = set()
        self._policies: dict[str, dict[str, Any]] = {}
        self._policy_entry: dict[str, int] = {}  # each site's policy in force: its entry
        self._entered: set[str] = set()  # sites with an entry besides the genesis
        self._anchors: dict[tuple[str, str], tuple[int, bytes]] = {}
        self._keys = new_map(lambda key, value: (0, ""))  # (site, day) -> revealed key
        self._pending: dict[tuple[str, date], list[_Pending]] = defaultdict(list)
        self._result_of = new_map(by_seq)  # screening (seq, uid) -> its result entry
        # Sites recorded by `site` entries: name -> entry; their zones, each entry's
        # (site, state) for the site_zones rows, and what the audits flag.
        self.sites: dict[str, int] = {}
        self.zones = new_map(by_seq)
        self._site_zones: dict[str, list[tuple[datetime | None, str]]] = {}
        self.zone_changes: list[str] = []
        self.clock_back: list[str] = []
        self._latest_at = ""

    # --- entries -------------------------------------------------------------------

    def take(self, seq: int, document: dict[str, Any]) -> None:
        kind, site, body = document["kind"], document["site"], document["body"]
        if kind == "genesis" and seq != 1:
            raise Broken(seq, f"entry {seq}: a second genesis entry")
        if seq == 1 and kind != "genesis":
            raise Broken(seq, f"entry 1 is a {kind} entry, not the genesis")
        self._check_time(seq, document["at"])
        handler = getattr(self, f"_take_{kind}", None)
        if handler is not None:
            try:
                body_rules.check_action(kind, body)
                handler(seq, site, body, parse_rfc3339(document["at"]))
                if kind != "genesis":
                    self._entered.add(site)
            except body_rules.BodyError as error:
                raise Broken(seq, f"entry {seq} ({kind}): {error}") from None
            except (KeyError, TypeError, ValueError) as error:
                raise Broken(
                    seq, f"entry {seq} ({kind}): its body is not a well-formed {kind} ({error})"
                ) from None

    def _check_time(self, seq: int, at: str) -> None:
        """Flag an entry dated well before an earlier one: a clock that was behind (now
        refused when written; older ledgers may hold such entries)."""
        if at >= self._latest_at:  # RFC 3339 in UTC with Z: the text sorts as the time
            self._latest_at = at
            return
        behind = parse_rfc3339(self._latest_at) - parse_rfc3339(at)
        if behind > CLOCK_TOLERANCE:
            self.clock_back.append(
                f"entry {seq} is dated {at}, {_duration(behind)} before an earlier entry "
                f"({self._latest_at}): the clock of the computer that wrote it was behind"
            )

    def _take_policy(self, seq: int, site: str, body: dict[str, Any], at: datetime) -> None:
        DrawPolicy.from_body(body)  # refuses a malformed policy here, not at the next draw
        zones = self._site_zones.get(site)
        if zones is not None:
            keeps = _zone_at(zones, at)
            if body["timezone"] != keeps:
                raise Broken(
                    seq,
                    f"entry {seq}: its policy says time zone {body['timezone']}, but site "
                    f"{site!r} keeps {keeps} then (a zone is changed only by a site entry)",
                )
        else:
            earlier = self._policies.get(site)
            if earlier is not None and earlier["timezone"] != body["timezone"]:
                self.zone_changes.append(
                    f"{site}: time zone {earlier['timezone']} -> {body['timezone']} in the "
                    f"policy of entry {seq}, with no site entry (the config was edited)"
                )
        earlier = self._policies.get(site)
        if earlier is not None:
            changed = sorted(k for k in set(body) | set(earlier) if body.get(k) != earlier.get(k))
            self.policy_changes.append(
                f"{site} entry {seq} ({rfc3339_of(at)}): {', '.join(changed)}"
            )
        self._policies[site] = body
        self._policy_entry[site] = seq

    def _take_site(self, seq: int, site: str, body: dict[str, Any], at: datetime) -> None:
        action, zone = body["action"], body["timezone"]
        ZoneInfo(zone)
        if action in ("create", "adopt"):
            if site in self.sites:
                raise Broken(
                    seq,
                    f"entry {seq}: site {site!r} is recorded again (first in entry "
                    f"{self.sites[site]})",
                )
            policy = self._policies.get(site)
            body_rules.check_site_recorded(action, site in self._entered)
            if policy is not None and policy["timezone"] != zone:
                raise Broken(
                    seq,
                    f"entry {seq}: site {site!r} is recorded with time zone {zone}, "
                    f"but its policy says {policy['timezone']}",
                )
            self.sites[site] = seq
            self._site_zones[site] = [(None, zone)]
            self.zones[seq] = (site, {"timezone": zone, "starts_at": None, "reason": None})
            return
        if action != "timezone":
            raise ValueError(f"unknown action {action!r}")
        zones = self._site_zones.get(site)
        if zones is None:
            raise Broken(seq, f"entry {seq}: a time zone change of site {site!r}, never recorded")
        keeps = _zone_at(zones, at)
        last_start = zones[-1][0]
        if last_start is not None and last_start > at:
            raise Broken(seq, f"entry {seq}: a time zone change while another still waits")
        if body["from"] != keeps:
            raise Broken(
                seq,
                f"entry {seq}: it changes the zone from {body['from']}, "
                f"but site {site!r} keeps {keeps}",
            )
        starts = parse_rfc3339(body["starts_at"])
        local_day = at.astimezone(ZoneInfo(keeps)).date()
        if starts != zone_change_starts(keeps, zone, local_day):
            raise Broken(
                seq,
                f"entry {seq}: the change of time zone takes effect at "
                f"{body['starts_at']}, not when the next local day begins",
            )
        zones.append((starts, zone))
        self.zones[seq] = (site, {"timezone": zone, "starts_at": starts, "reason": body["reason"]})
        self.zone_changes.append(
            f"{site}: time zone {keeps} -> {zone} from {body['starts_at']} (entry {seq}), "
            "changed on purpose with a reason"
        )

    def _take_genesis(self, seq: int, site: str, body: dict[str, Any], at: datetime) -> None:
        body_rules.check_genesis(body)

    def _take_client(self, seq: int, site: str, body: dict[str, Any], at: datetime) -> None:
        state = body["client"]
        known = self.clients.get(state["uid"])
        body_rules.check_client_change(body["action"], body, known[2] if known else None)
        member = self._member(state["uid"])
        if member.site is not None and member.site != site:
            self._site_members[member.site].pop(state["uid"], None)
        member.site, member.state = site, state
        self._site_members[site][state["uid"]] = member
        self.clients[state["uid"]] = (seq, site, state)

    def _member(self, uid: str) -> _Member:
        """The client's draw state, brought back if they had left the program."""
        member = self._members.get(uid)
        if member is None:
            member = self._retired.pop(uid, None) or _Member(None, None)
            self._members[uid] = member
            if member.site is not None:
                self._site_members[member.site][uid] = member
        return member

    def _retire(self, site: str, day: date) -> None:
        """Clients discharged by ``day`` leave memory; a late draw or a readmission
        brings them back."""
        members = self._site_members[site]
        for uid in [uid for uid, member in members.items() if member.gone_by(day)]:
            self._retired[uid] = members.pop(uid)
            del self._members[uid]

    def _take_hold(self, seq: int, site: str, body: dict[str, Any], at: datetime) -> None:
        hold = body["hold"]
        action = body.get("action", "add")
        if action in ("end", "withdraw"):
            self._change_hold(seq, site, action, hold)
            return
        self.holds[seq] = (site, hold)
        span = (date.fromisoformat(hold["from"]), date.fromisoformat(hold["to"]))
        self._member(hold["uid"]).holds[seq] = span

    def _change_hold(self, seq: int, site: str, action: str, change: dict[str, Any]) -> None:
        """A hold ended early or withdrawn: from this entry on it covers fewer days, or
        none; draws already made keep what they were made with."""
        known = self.holds.get(change["entry"])
        if known is None or known[0] != site or known[1]["uid"] != change["uid"]:
            raise Broken(
                seq, f"entry {seq}: it changes hold entry {change['entry']}, which is no such hold"
            )
        hold = known[1]
        if "change" in hold:
            raise Broken(seq, f"entry {seq}: hold entry {change['entry']} was already changed")
        start, end = date.fromisoformat(hold["from"]), date.fromisoformat(hold["to"])
        member = self._member(change["uid"])
        ended_on = None
        if action == "end":
            ended_on = date.fromisoformat(change["to"])
            if not start <= ended_on < end:
                raise Broken(
                    seq, f"entry {seq}: hold entry {change['entry']} cannot end on {ended_on}"
                )
            member.holds[change["entry"]] = (start, ended_on)
        else:
            member.holds.pop(change["entry"], None)
        self.holds[change["entry"]] = (
            site,
            {
                **hold,
                "change": {
                    "entry": seq,
                    "ended_on": ended_on.isoformat() if ended_on else None,
                    "withdrawn": action == "withdraw",
                    "reason": change["reason"],
                },
            },
        )

    def _take_closure(self, seq: int, site: str, body: dict[str, Any], at: datetime) -> None:
        closure = body["closure"]
        if body.get("action") == "withdraw":
            known = self.closures.get(closure["entry"])
            if known is None or known[0] != site or "withdrawn" in known[1]:
                raise Broken(
                    seq,
                    f"entry {seq}: it withdraws closure entry {closure['entry']}, which is no "
                    "closure in force",
                )
            body_rules.check_closure_withdrawal(closure, known[1])
            self.closures[closure["entry"]] = (
                site,
                {**known[1], "withdrawn": {"entry": seq, "reason": closure["reason"]}},
            )
            self._closed.discard((site, date.fromisoformat(known[1]["date"])))
            return
        self.closures[seq] = (site, closure)
        day = date.fromisoformat(closure["date"])
        self._closed.add((site, day))
        if at >= self._day_end(site, day):
            self.late_closures.append(f"{site} {day} (entry {seq}, entered {rfc3339_of(at)})")

    def _take_commitment(self, seq: int, site: str, body: dict[str, Any], at: datetime) -> None:
        from screening.core.selection import chain_length

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
        selected = _selected(body)
        self.draws[(site, day)] = DrawState(seq, seq, late, selected, at, body.get("reason"))
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

    # --- draws ---------------------------------------------------------------------

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
        if body.get("beacon_id") != NO_BEACON or body.get("beacon_value") != "":
            raise Broken(seq, f"entry {seq}: a beacon is named but none is configured")
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
        pending = _Pending(
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
        members: Iterator[_Member] = iter(self._site_members[site].values())
        if day < self._latest_day.get(site, date.min):
            # A late draw for a day before the latest: those discharged since count too.
            retired = (member for _, member in self._retired.ordered() if member.site == site)
            members = iter([*members, *retired])
        candidates = [member.candidate(day, at) for member in members]
        return sorted((c for c in candidates if c is not None), key=lambda c: c.uid)

    def _check(self, pending: _Pending, key: bytes) -> None:
        seed = day_seed(key, pending.site, pending.day)
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

    def _new_screening(
        self,
        seq: int,
        uid: str,
        site: str,
        day: date,
        reason: str,
        due_by: datetime,
        observed: bool = False,
        note: str | None = None,
        draw: str | None = None,
        because: int | None = None,
    ) -> None:
        self.screenings[(seq, uid)] = {
            "date": day.isoformat(),
            "reason": reason,
            "status": "pending",
            "due_by": due_by,
            "site": site,
            "observed": observed,
            "note": note,
            "status_note": None,
            "excuse": None,
            "approved_by": None,
            "auto": False,
            "draw": draw,
            "because": because,
            "latest": seq,
            "reversed": None,
            "reversal_approver": None,
        }
        member = self._member(uid)
        member.screened[day] += 1
        member.open[seq] = (day, due_by)

    # --- after the draw ------------------------------------------------------------

    def _take_screening(self, seq: int, site: str, body: dict[str, Any], at: datetime) -> None:
        if body["action"] == "create":
            policy_body = self._policies.get(site)
            if policy_body is None:
                raise Broken(seq, f"entry {seq}: a screening at {site} before any policy")
            self._new_screening(
                seq,
                body["uid"],
                site,
                date.fromisoformat(body["date"]),
                body["reason"],
                collection_deadline(at, policy_body),
                body["observed"],
                body["note"],
                because=body["because"],
            )
            return
        state = self._screening(seq, body["screening"])
        key = (body["screening"][0], body["screening"][1])
        if body["action"] == "reverse":
            self._reverse(seq, site, key, state, body)
            return
        # The one change after settling: a collection whose specimen turned out to be
        # another client's (a wrong_client amendment) leaves the screening inconclusive.
        result = self._result_of.get(key)
        voided = (
            state["status"] == "collected"
            and body["status"] == "inconclusive"
            and result is not None
            and self.results.get(result)["void"]
        )
        if body.get("excuse") == "hold":
            self._check_hold_excusal(seq, key, state, body)
            self.hold_excusals.append(
                f"{site} {state['date']} (entry {seq}, hold entry {body.get('hold')})"
            )
        if state["status"] != "pending" and not voided:
            raise Broken(
                seq,
                f"entry {seq}: the screening was already {state['status']}; a "
                "screening never changes again once settled",
            )
        state.update(
            status=body["status"],
            status_note=body["note"],
            excuse=body["excuse"],
            # Older entries hold the approver's name, newer ones its digest.
            approved_by=body["approver"] if "approver" in body else body["approved_by"],
            auto=body["auto"],
            latest=seq,
        )
        self.screenings[key] = state
        member = self._member(key[1])
        member.open.pop(key[0], None)
        if voided:
            day = date.fromisoformat(state["date"])
            member.collected[day] -= 1
            if member.collected[day] <= 0:
                del member.collected[day]
        if body["status"] == "cancelled":
            screened = self._member(key[1]).screened
            day = date.fromisoformat(state["date"])
            screened[day] -= 1
            if not screened[day]:
                del screened[day]

    def _check_hold_excusal(
        self, seq: int, key: tuple[int, str], state: dict[str, Any], body: dict[str, Any]
    ) -> None:
        """An excusal by a hold names the hold, which must be the client's and cover the
        screening's day: no excusal can claim a hold that was never entered."""
        ref = body.get("hold")
        known = self.holds.get(ref) if isinstance(ref, int) else None
        day = state["date"]
        if state.get("draw") is None:
            raise Broken(
                seq,
                f"entry {seq}: a hold excuses a screening nobody drew ({state['reason']}); "
                "only a drawn screening is excused by a hold",
            )
        if (
            known is None
            or known[1]["uid"] != key[1]
            or not (known[1]["from"] <= day <= known[1]["to"])
        ):
            raise Broken(
                seq,
                f"entry {seq}: the screening of {day} is excused by a hold that does not cover it",
            )

    def _reverse(
        self,
        seq: int,
        site: str,
        key: tuple[int, str],
        state: dict[str, Any],
        body: dict[str, Any],
    ) -> None:
        """A miss staff recorded, reversed by an amendment: it becomes excused, and the
        reversal is flagged in audits. The sweep's no-shows are settled by a late entry
        instead, never reversed."""
        if state["status"] not in ("no_show", "refused", "unable_to_provide") or state["auto"]:
            raise Broken(
                seq,
                f"entry {seq}: a reversal of a screening that is {state['status']}"
                + (" (by the sweep)" if state["auto"] else "")
                + "; only a miss recorded by staff can be reversed",
            )
        if body["reversed"] != state["status"] or body["status"] != "excused":
            raise Broken(seq, f"entry {seq}: the reversal does not match the miss it reverses")
        state.update(
            status="excused",
            status_note=body["note"],
            excuse=body["excuse"],
            approved_by=None,
            auto=False,
            latest=seq,
            reversed=body["reversed"],
            reversal_approver=body["approver"],
        )
        self.screenings[key] = state
        self.reversals.append(f"{site} {state['date']} (entry {seq})")

    def _screening(self, seq: int, ref: list[Any]) -> dict[str, Any]:
        state = self.screenings.get((ref[0], ref[1]))
        if state is None:
            raise Broken(
                seq,
                f"entry {seq}: it names a screening (entry {ref[0]}, client "
                f"{ref[1]}) that the ledger never created",
            )
        return state

    def _take_result(self, seq: int, site: str, body: dict[str, Any], at: datetime) -> None:
        if body.get("action") != "record":
            raise Broken(seq, f"entry {seq}: a result entry's action is {body.get('action')!r}")
        state = self._screening(seq, body["screening"])
        # A specimen collected before the deadline but entered after it settles the
        # sweep's no-show, or a miss reversed by an amendment; nothing else reopens a
        # screening.
        in_time = parse_rfc3339(body["collected_at"]) <= state["due_by"]
        settles = in_time and (
            (state["status"] == "no_show" and state["auto"])
            or (state["status"] == "excused" and state.get("reversed") is not None)
        )
        if state["status"] != "pending" and not settles:
            raise Broken(seq, f"entry {seq}: a result for a screening already {state['status']}")
        late = at > state["due_by"]
        if "entered_late" in body and (body["entered_late"] is not True or not late):
            raise Broken(
                seq, f"entry {seq}: the result is marked entered late, but it was entered in time"
            )
        if late:
            self.late_entries.append(
                f"{site} {state['date']} (entry {seq}"
                + ("" if body.get("late_reason") else ", no reason recorded")
                + ")"
            )
        state.update(status="collected", auto=False, latest=seq)
        screening = (body["screening"][0], body["screening"][1])
        self.screenings[screening] = state
        member = self._member(screening[1])
        member.open.pop(screening[0], None)
        member.collected[date.fromisoformat(state["date"])] += 1
        self.results[seq] = {
            "screening": screening,
            "latest": seq,
            "site": site,
            "void": False,
            "late": body.get("late_reason"),
            # The entry's own words, beside its digest: each must be the row's.
            "stated": (body["collected_at"], body["method"], body["specimen_type"]),
        }
        self._result_of[screening] = seq
        self.versions[seq] = (seq, body["content"], "recorded")

    def _take_amendment(self, seq: int, site: str, body: dict[str, Any], at: datetime) -> None:
        result = self.results.get(body["result"])
        if result is None:
            raise Broken(
                seq,
                f"entry {seq}: an amendment of result entry {body['result']}, "
                "which the ledger never recorded",
            )
        if result["void"]:
            raise Broken(
                seq, f"entry {seq}: an amendment of result entry {body['result']}, which was voided"
            )
        if body["uid"] != result["screening"][1]:
            raise Broken(
                seq,
                f"entry {seq}: the amendment names client {body['uid']}, the "
                f"result is client {result['screening'][1]}'s",
            )
        result.update(latest=seq, void=body["reason"] == "wrong_client")
        self.results[body["result"]] = result
        self.versions[seq] = (body["result"], body["content"], body["reason"])

    def _day_end(self, site: str, day: date) -> datetime:
        zone = ZoneInfo(self._policies[site]["timezone"]) if site in self._policies else UTC
        return datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)

    # --- the end -------------------------------------------------------------------

    def finish(self, local_master: Any = None) -> None:
        """Replay the draws whose keys are not revealed yet, with the local master key
        (``local_master(site) -> bytes | None``) where there is one."""
        from screening.core.selection import day_key

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


CLOCK_TOLERANCE = timedelta(minutes=5)


def rfc3339_of(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _zone_at(zones: list[tuple[datetime | None, str]], at: datetime) -> str:
    current = zones[0][1]
    for starts, zone in zones:
        if starts is None or starts <= at:
            current = zone
    return current


def _duration(span: timedelta) -> str:
    if span.days:
        return f"{span.days} day(s)"
    return f"{span.seconds // 3600} h {span.seconds % 3600 // 60} min"


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

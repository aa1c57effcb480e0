"""What the replay keeps: the maps that grow with history, what stays in memory, and
the few lookups every kind of entry uses (a client's draw state, a site's day end, a
screening the ledger now expects)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from screening.core.replay.members import Member
from screening.core.selection import Candidate, DrawPolicy


@dataclass
class Pending:
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
    # The draw's (beacon_id, beacon_value, beacon): its amendments carry the same.
    beacon: tuple[str, str, dict[str, Any] | None] | None = None


Order = Callable[[Any, Any], tuple[int, str]]
DRAWS_KEPT = 16


class NewMap(Protocol):
    """Makes a ``Store``; ``keep``: how many of its items to hold in memory at most (the
    maker's own number if None), for maps whose items are large."""

    def __call__(self, order: Order, keep: int | None = None) -> Store: ...


@runtime_checkable
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


class Kept:
    """The replay's state; each part of ``Replay`` reads and writes its own share."""

    def __init__(self, new_map: NewMap) -> None:
        # uid -> (latest client entry, site, state)
        self.clients = new_map(lambda uid, known: (known[0], uid))
        self.holds = new_map(by_seq)  # entry -> (site, hold)
        self.closures = new_map(by_seq)  # entry -> (site, closure)
        # (site, day) -> DrawState. Few in memory: a state holds every uid its draw
        # selected (3,000 a day in a pool of 20,000), and is read again only by a second
        # draw of the same day (refused), the next day's reveal and an amendment.
        self.draws = new_map(lambda key, state: (state.created_seq, ""), DRAWS_KEPT)
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
        self._site_members: dict[str, dict[str, Member]] = defaultdict(dict)
        self._members: dict[str, Member] = {}
        # Clients discharged before the latest draw of their site: uid -> Member.
        self._retired = new_map(lambda uid, member: (0, uid))
        self._latest_day: dict[str, date] = {}  # each site's latest draw on its own day
        self._closed: set[tuple[str, date]] = set()
        self._policies: dict[str, dict[str, Any]] = {}
        self._policy_entry: dict[str, int] = {}  # each site's policy in force: its entry
        # Each site's policy entries, (at, body): a day's beacon is the one in force when
        # the day began (core/replay/beacons.py).
        self._policy_log: dict[str, list[tuple[datetime, dict[str, Any]]]] = defaultdict(list)
        # Beacon rounds checked: (chain hash, round) -> (signature, entry); each once.
        self._rounds = new_map(lambda key, value: (0, ""))
        self.beacon_rounds = 0
        self.missing_beacons: list[str] = []  # days drawn without their beacon (fallback)
        self.early_beacons: list[str] = []  # drawn before the round's time by the entry's clock
        self._entered: set[str] = set()  # sites with an entry besides the genesis
        self._anchors: dict[tuple[str, str], tuple[int, bytes]] = {}
        self._keys = new_map(lambda key, value: (0, ""))  # (site, day) -> revealed key
        self._pending: dict[tuple[str, date], list[Pending]] = defaultdict(list)
        self._result_of = new_map(by_seq)  # screening (seq, uid) -> its result entry
        # Sites recorded by `site` entries: name -> entry; their zones, each entry's
        # (site, state) for the site_zones rows, and what the audits flag.
        self.sites: dict[str, int] = {}
        self.zones = new_map(by_seq)
        self._site_zones: dict[str, list[tuple[datetime | None, str]]] = {}
        self.zone_changes: list[str] = []
        self.clock_back: list[str] = []
        self._latest_at = ""

    def in_memory(self) -> dict[str, Any]:
        """Everything the replay keeps besides its maps (those are saved by their
        store): what a checkpoint of `audit verify` saves to go on from where it stood."""
        return {name: value for name, value in vars(self).items() if not isinstance(value, Store)}

    def maps(self) -> dict[str, Store]:
        return {name: value for name, value in vars(self).items() if isinstance(value, Store)}

    def go_on_from(self, saved: dict[str, Any]) -> None:
        """The in-memory parts ``in_memory`` gave, back in place (the maps are the saved
        ones already). Refuses parts of another shape: a replay of another version."""
        if set(saved) != set(self.in_memory()):
            raise ValueError("the saved replay state has other parts than this version keeps")
        vars(self).update(saved)

    def _member(self, uid: str) -> Member:
        """The client's draw state, brought back if they had left the program."""
        member = self._members.get(uid)
        if member is None:
            member = self._retired.pop(uid, None) or Member(None, None)
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

    def _day_end(self, site: str, day: date) -> datetime:
        zone = ZoneInfo(self._policies[site]["timezone"]) if site in self._policies else UTC
        return datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)

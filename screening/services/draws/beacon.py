"""The beacon round of a day's draw: which round the policy's rule names, fetched from the
relays and checked here, never trusted (issue 20, docs/beacon.md).

- ``governing``: the beacon rule in force for a day: the one of the latest policy entry
  recorded before the day began (local midnight), so that nobody can move a day's round
  once its day has started, let alone after seeing one.
- ``beacon_fields``: the draw entry's beacon fields: the verified round (its signature
  and randomness), or, once ``wait_minutes`` past the draw time have gone without a valid
  round and the policy says ``fallback = "draw"``, the day drawn without it, saying why.
  Before the round is published the draw is refused (BeaconNotYet, with the time it can
  run); while no relay gives a valid round, it waits (EnvironmentProblem: the daily job
  tries again).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from screening.config import BeaconSettings, run_at_time
from screening.core import beacon
from screening.core.beacon import BadRound, Chain
from screening.core.ledger import parse_rfc3339
from screening.core.run_times import fire_time
from screening.core.selection import NO_BEACON
from screening.db.models import LedgerRow, table_of
from screening.errors import BadInput, EnvironmentProblem
from screening.services.plumbing.ledger import BY_SEQ

_LEDGER = table_of(LedgerRow)
# A relay's answer is ~300 bytes; anything much longer is not a round.
_MOST = 64 * 1024


class BeaconNotYet(BadInput):
    """The day's round is not published yet: nobody can know the list before ``ready_at``."""

    def __init__(self, message: str, ready_at: datetime) -> None:
        super().__init__(message)
        self.ready_at = ready_at


class BeaconUnavailable(EnvironmentProblem):
    """No relay gave a valid round, and the day waits for one: ask again at ``retry_at``."""

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


_RETRY = timedelta(minutes=1)


@dataclass(frozen=True)
class DayBeacon:
    """The round that decides a day's draw, by the rule in force that day."""

    chain: Chain
    round: int
    draw_time: datetime  # run_at on the day, UTC
    published: datetime  # when the round is published, UTC
    wait_minutes: int
    fallback: str
    zone: ZoneInfo

    def ready(self, now: datetime) -> bool:
        return now >= self.published

    def give_up_at(self) -> datetime:
        return self.draw_time + timedelta(minutes=self.wait_minutes)

    def local(self, instant: datetime) -> str:
        return instant.astimezone(self.zone).strftime("%H:%M:%S %Z")


def governing(session: Session, site: str, day: date) -> DayBeacon | None:
    """The beacon rule in force for ``day``'s draw at ``site``, or None."""
    policy = governing_policy(session, site, day)
    return None if policy is None else rule_of(policy, day)


def governing_policy(session: Session, site: str, day: date) -> dict[str, Any] | None:
    """The body of the latest policy entry recorded before ``day`` began, or None."""
    rows = session.execute(
        sa.select(_LEDGER.c.canonical)
        .where(_LEDGER.c.site == site, _LEDGER.c.kind == "policy")
        .order_by(BY_SEQ.desc())  # by the (site, kind) index: plumbing/ledger.py
    ).scalars()
    for canonical in rows:
        entry = json.loads(canonical)
        body: dict[str, Any] = entry["body"]
        zone = ZoneInfo(body["timezone"])
        if parse_rfc3339(entry["at"]) < fire_time(day, time(0, 0), zone):
            return body
    return None


def rule_of(policy: dict[str, Any], day: date) -> DayBeacon | None:
    """The round ``policy``'s beacon rule gives ``day``, or None when it has none."""
    rule = policy.get("beacon")
    if rule is None:
        return None
    chain = beacon.chain_of(rule["kind"])
    zone = ZoneInfo(policy["timezone"])
    at = time(*run_at_time(rule["run_at"]))
    number = beacon.round_of_day(chain, day, at, zone)
    return DayBeacon(
        chain=chain,
        round=number,
        draw_time=beacon.draw_time(day, at, zone),
        published=beacon.round_time(chain, number),
        wait_minutes=rule["wait_minutes"],
        fallback=rule["fallback"],
        zone=zone,
    )


def awaited(session: Session, site: str, day: date, now: datetime) -> str | None:
    """For a day not drawn yet that a beacon decides, what `today` says; else None."""
    rule = governing(session, site, day)
    if rule is None:
        return None
    at = rule.local(rule.published)
    if rule.ready(now):
        return (
            f"no draw yet for {day} (decided by {rule.chain.kind} round {rule.round}, "
            f"published at {at}); run `screening select`"
        )
    return (
        f"no draw yet for {day}: it waits for {rule.chain.kind} round {rule.round}, "
        f"published at {at}; nobody can know the list before then: run `screening select` "
        "after it"
    )


def not_yet(day: date, rule: DayBeacon) -> BeaconNotYet:
    at = rule.local(rule.published)
    return BeaconNotYet(
        f"the draw of {day} is decided by {rule.chain.kind} round {rule.round}, published at "
        f"{at}; nobody can know the list before then: run `screening select` again after {at}",
        rule.published,
    )


def beacon_fields(
    settings: BeaconSettings, rule: DayBeacon, day: date, now: datetime, *, late: bool = False
) -> dict[str, Any]:
    """The draw entry's beacon fields for ``day`` (docs/ledger-format.md); ``late``: a
    past day's draw (`select --late`), which the daily job never retries."""
    if not rule.ready(now):
        raise not_yet(day, rule)
    stamp = rule.draw_time.strftime("%Y-%m-%dT%H:%M:%SZ")
    tried = []
    for relay in settings.relays:
        try:
            signature, randomness = fetch(relay, rule, settings.timeout_seconds)
        except BadRound as why:
            tried.append(f"{relay}: {why}")
            continue
        return {
            "beacon_id": beacon.beacon_id(rule.chain, rule.round),
            "beacon_value": randomness.hex(),
            "beacon": {"round": rule.round, "signature": signature.hex(), "draw_time": stamp},
        }
    reason = "; ".join(tried)
    if now < rule.give_up_at() or rule.fallback == "wait":
        # The daily job asks again within a minute, and at the moment the wait is over.
        retry = now + _RETRY
        if now < rule.give_up_at():
            retry = min(retry, rule.give_up_at())
        raise BeaconUnavailable(
            f"no relay gave a valid {rule.chain.kind} round {rule.round} ({reason}), so "
            f"nothing was drawn for {day}; {_what_next(rule, day, now, late)}; check this "
            "computer's network and clock, or [beacon] relays",
            retry,
        )
    return {
        "beacon_id": NO_BEACON,
        "beacon_value": "",
        "beacon": {
            "round": rule.round,
            "draw_time": stamp,
            "missing": f"no valid round within {rule.wait_minutes} minutes: {reason}"[:500],
        },
    }


def _what_next(rule: DayBeacon, day: date, now: datetime, late: bool) -> str:
    """What happens to a draw no relay has the round for: the policy's fallback, and who
    tries again (the daily job draws today only, never a past day)."""
    until = rule.local(rule.give_up_at())
    if late:
        again = f"run `screening select --late {day} --reason ...` again"
        if rule.fallback == "wait":
            return (
                "the policy says to wait for the round however long it takes "
                f"(fallback = wait): {again} once a relay answers"
            )
        return f"the policy says draw without it from {until} (fallback = draw): {again} then"
    if rule.fallback == "wait":
        return (
            "the daily job keeps trying, as the policy says to wait for the round however "
            "long it takes (fallback = wait)"
        )
    return f"the daily job keeps trying until {until}, then the policy says draw without it"


def fetch(relay: str, rule: DayBeacon, timeout: int) -> tuple[bytes, bytes]:
    """Round ``rule.round`` from ``relay``, checked: (signature, randomness); else BadRound
    saying what was wrong with the answer."""
    url = f"{relay}/{rule.chain.chain_hash}/public/{rule.round}"
    # http(s) only: config/beacon.py refuses any other scheme in [beacon] relays.
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        data = _download(request, timeout)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            raise BadRound(f"has no round {rule.round} (HTTP 404)") from None
        raise BadRound(f"answered HTTP {error.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise BadRound(f"did not answer ({reason})") from None
    if len(data) > _MOST:
        raise BadRound("answered more than a round holds")
    try:
        answer = json.loads(data)
        number, signature = answer["round"], bytes.fromhex(answer["signature"])
        randomness = bytes.fromhex(answer["randomness"])
    except (ValueError, KeyError, TypeError):
        raise BadRound("answered something that is not a drand round") from None
    if number != rule.round or isinstance(number, bool):
        raise BadRound(f"answered round {number!r} when asked for {rule.round}")
    checked = beacon.check_round(rule.chain, rule.round, signature)
    if randomness != checked:
        raise BadRound("its randomness is not the SHA-256 of its signature")
    return signature, checked


def _download(request: urllib.request.Request, timeout: int) -> bytes:
    """The answer's body (at most one byte past _MOST), within ``timeout`` seconds in all.

    urllib's timeout bounds each read, not the answer: a relay that drips a byte a second
    would hold the draw, and its fallback, for hours. So the request runs in a thread of
    its own, waited for ``timeout`` seconds of real time; one left hanging is a daemon
    thread, given up with its socket's own timeout.
    """
    done: dict[str, Any] = {}

    def work() -> None:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                done["data"] = response.read(_MOST + 1)
        except BaseException as error:  # handed to the caller below
            done["error"] = error

    worker = threading.Thread(target=work, name="beacon-relay", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"no whole answer within {timeout} s")
    if "error" in done:
        raise done["error"]
    return bytes(done["data"])

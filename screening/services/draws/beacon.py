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

_LEDGER = table_of(LedgerRow)
# A relay's answer is ~300 bytes; anything much longer is not a round.
_MOST = 64 * 1024


class BeaconNotYet(BadInput):
    """The day's round is not published yet: nobody can know the list before ``ready_at``."""

    def __init__(self, message: str, ready_at: datetime) -> None:
        super().__init__(message)
        self.ready_at = ready_at


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
    rows = session.execute(
        sa.select(_LEDGER.c.canonical)
        .where(_LEDGER.c.site == site, _LEDGER.c.kind == "policy")
        .order_by(_LEDGER.c.seq.desc())
    ).scalars()
    for canonical in rows:
        entry = json.loads(canonical)
        body = entry["body"]
        zone = ZoneInfo(body["timezone"])
        if parse_rfc3339(entry["at"]) < fire_time(day, time(0, 0), zone):
            return rule_of(body, day)
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


def not_yet(day: date, rule: DayBeacon) -> BeaconNotYet:
    at = rule.local(rule.published)
    return BeaconNotYet(
        f"the draw of {day} is decided by {rule.chain.kind} round {rule.round}, published at "
        f"{at}; nobody can know the list before then: run `screening select` again after {at}",
        rule.published,
    )


def beacon_fields(
    settings: BeaconSettings, rule: DayBeacon, day: date, now: datetime
) -> dict[str, Any]:
    """The draw entry's beacon fields for ``day`` (docs/ledger-format.md)."""
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
        until = (
            f"until {rule.local(rule.give_up_at())}, then the policy says "
            + ("draw without it" if rule.fallback == "draw" else "to keep waiting")
            if now < rule.give_up_at()
            else "as the policy says (fallback = wait)"
        )
        raise EnvironmentProblem(
            f"no relay gave a valid {rule.chain.kind} round {rule.round} ({reason}), so "
            f"nothing was drawn for {day}; the daily job keeps trying {until}; check this "
            "computer's network and clock, or [beacon] relays"
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


def fetch(relay: str, rule: DayBeacon, timeout: int) -> tuple[bytes, bytes]:
    """Round ``rule.round`` from ``relay``, checked: (signature, randomness); else BadRound
    saying what was wrong with the answer."""
    url = f"{relay}/{rule.chain.chain_hash}/public/{rule.round}"
    # http(s) only: config/beacon.py refuses any other scheme in [beacon] relays.
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            data = response.read(_MOST + 1)
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

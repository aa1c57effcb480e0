"""Each draw's beacon (issue 20, docs/beacon.md): which settings govern the day, the round
the rule gives, and the round's signature, checked once however many sites and days name
it. A day drawn without its beacon under fallback = "draw" is flagged; everything else
that differs from the rule breaks the ledger."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from screening.core import beacon
from screening.core.replay.broken import Broken
from screening.core.replay.state import Kept
from screening.core.run_times import fire_time
from screening.core.selection import NO_BEACON

# What a draw says of its beacon: (beacon_id, beacon_value, the "beacon" field or None).
Fields = tuple[str, str, dict[str, Any] | None]
_VERIFIED = {"round", "signature", "draw_time"}
_MISSING = {"round", "draw_time", "missing"}


def check_settings(seq: int, body: dict[str, Any]) -> None:
    """A policy's beacon: a chain this version knows, under its own hash, a time of day
    and a fallback; refused at the policy entry rather than at its first draw."""
    settings = body.get("beacon")
    if settings is None:
        return
    try:
        chain = beacon.chain_of(settings["kind"])
    except beacon.BadRound as error:
        raise Broken(seq, f"entry {seq}: its policy's beacon: {error}") from None
    if settings["chain"] != chain.chain_hash:
        raise Broken(
            seq,
            f"entry {seq}: its policy names the {chain.kind} chain {settings['chain']}, "
            f"not the pinned {chain.chain_hash}",
        )
    time.fromisoformat(settings["run_at"])
    if settings["fallback"] not in ("wait", "draw"):
        raise Broken(seq, f"entry {seq}: its policy's beacon fallback is not wait or draw")


def fields_of(body: dict[str, Any]) -> Fields:
    return (body["beacon_id"], body["beacon_value"], body.get("beacon"))


def _instant(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class Beacons(Kept):
    """The beacon of each draw; the amendments' are the draw's (checked by draws.py)."""

    def _governing(self, site: str, day: date) -> dict[str, Any] | None:
        """The policy whose beacon governs ``day``: the latest entered before the day began
        (midnight in that policy's time zone), so that nobody moves a round on its day."""
        for entered, policy in self._policy_log[site][::-1]:
            if entered < fire_time(day, time(0, 0), ZoneInfo(policy["timezone"])):
                return policy
        return None

    def _check_beacon(
        self, seq: int, site: str, day: date, body: dict[str, Any], at: datetime
    ) -> None:
        where = f"entry {seq} (draw {site} {day})"
        beacon_id, value, given = fields_of(body)
        policy = self._governing(site, day)
        settings = policy.get("beacon") if policy is not None else None
        if policy is None or settings is None:
            if given is not None:
                raise Broken(
                    seq,
                    f"{where}: it carries a beacon, but none governs the day (the policy "
                    "in force when the day began names none)",
                )
            if beacon_id != NO_BEACON or value != "":
                raise Broken(seq, f"{where}: a beacon is named but none is configured")
            return
        chain = beacon.chain_of(settings["kind"])
        drawn = beacon.draw_time(
            day, time.fromisoformat(settings["run_at"]), ZoneInfo(policy["timezone"])
        )
        number = beacon.round_after(chain, drawn)
        if not isinstance(given, dict):
            raise Broken(
                seq,
                f"{where}: drawn with no beacon, but the policy in force when the day began "
                f"names {chain.kind} (round {number})",
            )
        missing = "missing" in given
        if set(given) != (_MISSING if missing else _VERIFIED):
            raise Broken(seq, f"{where}: its beacon has the fields {', '.join(sorted(given))}")
        if type(given["round"]) is not int or given["round"] != number:
            raise Broken(
                seq,
                f"{where}: its beacon is round {given['round']}, but the rule gives round "
                f"{number}, the first after the draw time {_instant(drawn)}",
            )
        if given["draw_time"] != _instant(drawn):
            raise Broken(
                seq,
                f"{where}: its beacon's draw time is {given['draw_time']}, but run_at "
                f"{settings['run_at']} gives {_instant(drawn)}",
            )
        if missing:
            self._without_beacon(seq, where, site, day, settings, body, number)
        else:
            self._with_beacon(seq, where, f"{site} {day}", chain, body, number, at)

    def _without_beacon(
        self,
        seq: int,
        where: str,
        site: str,
        day: date,
        settings: dict[str, Any],
        body: dict[str, Any],
        number: int,
    ) -> None:
        if settings["fallback"] != "draw":
            raise Broken(
                seq, f'{where}: drawn without its beacon, but the policy said fallback = "wait"'
            )
        if body["beacon_id"] != NO_BEACON or body["beacon_value"] != "":
            raise Broken(seq, f"{where}: drawn without its beacon, yet a beacon is named")
        self.missing_beacons.append(
            f"{site} {day} (round {number}: {body['beacon']['missing']}) (entry {seq})"
        )

    def _with_beacon(
        self,
        seq: int,
        where: str,
        named: str,
        chain: beacon.Chain,
        body: dict[str, Any],
        number: int,
        at: datetime,
    ) -> None:
        text = body["beacon"]["signature"]
        if not isinstance(text, str) or len(text) != 96 or text != text.lower():
            raise Broken(seq, f"{where}: its beacon's signature is not 48 bytes in hex")
        signature = bytes.fromhex(text)
        if body["beacon_id"] != beacon.beacon_id(chain, number):
            raise Broken(
                seq,
                f"{where}: its beacon id is {body['beacon_id']!r}, not "
                f"{beacon.beacon_id(chain, number)!r}",
            )
        if body["beacon_value"] != beacon.randomness_of(signature).hex():
            raise Broken(
                seq, f"{where}: its beacon value is not SHA-256 of round {number}'s signature"
            )
        known = self._rounds.get((chain.chain_hash, number))
        if known is None:
            try:
                beacon.check_round(chain, number, signature)
            except beacon.BadRound as error:
                raise Broken(seq, f"{where}: {error}") from None
            self._rounds[(chain.chain_hash, number)] = (signature, seq)
            self.beacon_rounds += 1
        elif known[0] != signature:  # one signature a round: the subgroup check sees to it
            raise Broken(
                seq,
                f"{where}: the signature of round {number} is not the one entry {known[1]} "
                "gave for it",
            )
        published = beacon.round_time(chain, number)
        if at < published:  # the round existed: the clock that dated the entry was behind
            self.early_beacons.append(
                f"{named}: drawn at {_instant(at)}, round {number} published at "
                f"{_instant(published)} (entry {seq})"
            )

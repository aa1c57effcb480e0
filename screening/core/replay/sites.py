"""Sites as the ledger records them: their policies, their time zones and the clocks of
the computers that wrote their entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from screening.core import body_rules
from screening.core.ledger import parse_rfc3339
from screening.core.policy import zone_change_starts
from screening.core.replay.beacons import check_settings
from screening.core.replay.broken import Broken
from screening.core.replay.state import Kept
from screening.core.selection import DrawPolicy

CLOCK_TOLERANCE = timedelta(minutes=5)


class Sites(Kept):
    """Policy and site entries, and every entry's time against the latest before it."""

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
        check_settings(seq, body)
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
        if (earlier or {}).get("beacon") != body.get("beacon") and rfc3339_of(at) < self._latest_at:
            # The rule decides from the next local day by the entry's time: dated back to
            # before midnight, a change could move a day's round after seeing it.
            raise Broken(
                seq,
                f"entry {seq}: it changes the beacon rule of {site!r} but is dated "
                f"{rfc3339_of(at)}, before an earlier entry ({self._latest_at}): a change "
                "of the rule is never recorded with a clock set back",
            )
        if earlier is not None:
            changed = sorted(k for k in set(body) | set(earlier) if body.get(k) != earlier.get(k))
            self.policy_changes.append(
                f"{site} entry {seq} ({rfc3339_of(at)}): {', '.join(changed)}"
            )
        self._policies[site] = body
        self._policy_entry[site] = seq
        self._policy_log[site].append((at, body))

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

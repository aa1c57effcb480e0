"""Who may be drawn: clients, their holds and the days a site is closed, as the ledger
states them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from screening.core import body_rules
from screening.core.replay.broken import Broken
from screening.core.replay.sites import rfc3339_of
from screening.core.replay.state import Kept


class Roster(Kept):
    """Client, hold and closure entries: the pools every later draw is replayed with."""

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

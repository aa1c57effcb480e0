"""The replay itself: each ledger entry, in order, checked and handed to the part that
keeps what it says (sites, roster, draws, screenings) or checks it (reads)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from screening.core import body_rules
from screening.core.ledger import parse_rfc3339
from screening.core.replay.broken import Broken
from screening.core.replay.draws import Draws
from screening.core.replay.roster import Roster
from screening.core.replay.screenings import Screenings
from screening.core.replay.sites import Sites
from screening.core.replay.views import Views


class Replay(Sites, Roster, Draws, Screenings, Views):
    """The state the ledger describes, built one entry at a time by ``take``; ``finish``
    replays the draws still waiting for their key."""

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

    def _take_genesis(self, seq: int, site: str, body: dict[str, Any], at: datetime) -> None:
        body_rules.check_genesis(body)

"""The access log as the replay checks it: each `viewed` entry names a command of
core/access.py and the clients it showed, by uid, sorted and each once, every one a
client the ledger knows at the entry's site (a forged read of someone who never was a
client, or of another site's, is named)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from screening.core import access
from screening.core.body_rules import BodyError
from screening.core.replay.state import Kept


class Views(Kept):
    """`viewed` entries: checked, nothing kept (they change no state)."""

    def _take_viewed(self, seq: int, site: str, body: dict[str, Any], at: datetime) -> None:
        if set(body) != {"command", "clients"}:
            raise BodyError(
                f"a viewed entry has the fields {sorted(body)}, not command and clients"
            )
        command, clients = body["command"], body["clients"]
        if not isinstance(command, str) or command not in access.COMMANDS:
            raise BodyError(f"a viewed entry names {command!r}, which is no command")
        if (
            not isinstance(clients, list)
            or not clients
            or not all(isinstance(uid, str) for uid in clients)
        ):
            raise BodyError("a viewed entry's clients are not a list of uids")
        if any(later <= earlier for earlier, later in zip(clients, clients[1:], strict=False)):
            raise BodyError("a viewed entry's clients are not sorted, each once")
        for uid in clients:
            known = self.clients.get(uid)
            if known is None or known[1] != site:
                raise BodyError(
                    f"it names client {uid}, whom the ledger does not know at site {site}"
                )

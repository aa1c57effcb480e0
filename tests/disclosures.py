"""A disclosure made through the one gate (services/disclosure/gate.py) from a test, as
a progress letter makes one, for tests of what is recorded and verified rather than of
the letter itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tests.conftest import Clinic


class Kept:
    """A test's output of a disclosure: its bytes, kept; released or discarded as the
    gate says (services/disclosure/gate.py Delivery)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.payload = json.dumps(data, sort_keys=True, default=str).encode("utf-8")
        self.released = self.discarded = False

    def release(self) -> None:
        self.released = True

    def discard(self) -> None:
        self.discarded = True


def disclose(clinic: Clinic, code: str, consent: int, recipient: str) -> None:
    """Attendance (nothing else) of client ``code`` to ``recipient`` under ``consent``,
    at the test's clock."""
    from screening import config
    from screening.db.engine import Database, resolve_url
    from screening.services.disclosure import Ask
    from screening.services.disclosure import disclose as through_the_gate
    from screening.services.plumbing import Actor, Context

    settings = config.load(clinic.folder / "screening.toml")
    database = Database(resolve_url(clinic.url, settings.folder))
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        today = now.astimezone(settings.zone).date()
        ctx = Context(settings, database, Actor("staff1"), now, today, command="report progress")
        ask = Ask(code=code, recipient=recipient, consent=consent, purpose=None,
                  needs=frozenset({"attendance"}), first=None, last=None, form="json",
                  command="report progress")  # fmt: skip
        through_the_gate(ctx, ask, lambda session, authority: {"carries": ["attendance"]}, Kept)
    finally:
        database.dispose()

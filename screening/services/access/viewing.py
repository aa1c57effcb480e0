"""The access log (42 CFR Part 2, HIPAA §164.312(b)): every command that shows identified
data (names, or codes with results) appends a `viewed` entry naming the clients it
showed, by uid, in the same transaction as its read. A read that cannot record does not
show: the entry is written before the command prints anything, and a failure to write it
fails the command."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlmodel import Session

from screening.core import access
from screening.core.ledger import Entry
from screening.services.plumbing.context import Context
from screening.services.plumbing.ledger import LedgerWriter

# The roles whose work names clients by code; an auditor's never does.
CODE_ROLES = frozenset({access.ADMIN, access.STAFF, access.CLINICIAN})


def record_view(writer: LedgerWriter, site: str, command: str, uids: Iterable[str]) -> Entry | None:
    """One `viewed` entry: ``command`` (as core/access.py names it) showed these clients.
    Nothing when it showed none."""
    clients = sorted(set(uids))
    if not clients:
        return None
    if command not in access.COMMANDS:
        raise ValueError(f"{command!r} is not a command of core/access.py")
    return writer.append(site, "viewed", {"command": command, "clients": clients})


def sees_codes(ctx: Context) -> bool:
    """Whether the user may see clients' codes: an auditor who holds no other role sees
    uids only (core/access.py)."""
    return bool(ctx.roles & CODE_ROLES)


@contextmanager
def viewing(ctx: Context, command: str) -> Iterator[tuple[Session, set[str]]]:
    """A read that records what it shows: one writing transaction (the clock checked
    against the ledger first, as every write does); the block adds to the set the uid of
    every client its answer shows, and on the way out one entry names them all.

    ``command`` is the read's own name; the context's, when it has one, is what was run
    (the daily job delivering `today`'s list records `schedule run`)."""
    with ctx.database.write(ctx.site) as session:
        writer = LedgerWriter(session, ctx.actor, ctx.now, ctx.settings.zone)
        writer.check_clock()  # a clock behind the ledger is refused before anything is read
        shown: set[str] = set()
        yield session, shown
        record_view(writer, ctx.site, ctx.command or command, shown)

"""PostgreSQL's advisory locks for writing transactions (DESIGN §6, §8).

The sites of a network share one database and one ledger chain, but a site's draws and
records touch its own rows only: a site's write holds its site's lock from its start,
and the append lock only from its first append or new row to its commit. The append
lock guards what all sites share: the ledger's head (the next entry's seq and prev) and
every table's next id (gapless ids are the highest + 1: db/row_ids.py). So two sites
wait for each other only while one of them appends and commits.

The order is always network → site → append, so two writes never wait for each other
in a circle. A write that is about no one site (`init`, a batch) holds the network lock
alone (the site writes share it) and the append lock from its start, as every write did
before locks were per site. SQLite has one writer at a time (BEGIN IMMEDIATE): none of
this applies there.
"""

from __future__ import annotations

import zlib

import sqlalchemy as sa
from sqlalchemy.orm import Session

# Keys in pg_advisory_xact_lock's one-bigint space; the two-int space (a site's lock)
# never meets it (pg_locks.objsubid 1 and 2).
NETWORK_LOCK = 7215600
APPEND_LOCK = 7215601  # the one lock every write took before locks were per site
SITE_CLASS = 7215602  # a site's lock: (SITE_CLASS, site_key(name))
_APPEND_HELD = "screening.append_lock"  # session.info: False until taken, then True


def site_key(site: str) -> int:
    """The site's name as a signed 32-bit int, the same in every process and version
    (CRC-32, not Python's hash(), which each interpreter salts)."""
    value = zlib.crc32(site.encode("utf-8"))
    return value - (1 << 32) if value >= 1 << 31 else value


def begin_site_write(session: Session, site: str) -> None:
    """The start of a site's write: its site's lock; the append lock waits for
    ``hold_append_lock``."""
    session.execute(
        sa.text("SELECT pg_advisory_xact_lock_shared(:network), pg_advisory_xact_lock(:cls, :key)"),
        {"network": NETWORK_LOCK, "cls": SITE_CLASS, "key": site_key(site)},
    )
    session.info[_APPEND_HELD] = False


def begin_network_write(session: Session) -> None:
    """The start of a write about no one site: every site's writes wait for it."""
    session.execute(
        sa.text("SELECT pg_advisory_xact_lock(:network), pg_advisory_xact_lock(:append)"),
        {"network": NETWORK_LOCK, "append": APPEND_LOCK},
    )
    session.info[_APPEND_HELD] = True


def hold_append_lock(session: Session) -> None:
    """Take the append lock if this site's write does not hold it yet: before the ledger's
    head or a table's highest id is read. Under READ COMMITTED the statement after it
    sees every write committed before it was granted."""
    if session.info.get(_APPEND_HELD) is False:
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:append)"), {"append": APPEND_LOCK})
        session.info[_APPEND_HELD] = True

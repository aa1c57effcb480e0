"""Row ids with no gaps: every table's ids run 1, 2, 3, ... (DESIGN §6).

An id is the handle staff type (`--hold 3`, `--screening 12`) and the link between
rows; the ledger does not hold it. So that an id changed in the database is still
seen, ids carry no information of their own: a table's ids are exactly 1..n, apart
from the gaps an older PostgreSQL database already had when it was upgraded (a
rolled-back insert used up a sequence number), which the upgrade listed in
``row_id_gaps``. `audit verify` checks that ids and listed gaps together are 1..n
with nothing twice (services/audit/rows.py); an id moved anywhere breaks that.

New ids are therefore given here, as the highest id (or listed gap) + 1, inside the
writing transaction that holds the write lock (on PostgreSQL the append lock, taken
here if the site's write does not hold it yet: db/locks.py), never by a database sequence (which
leaves a gap whenever a transaction rolls back). On PostgreSQL under `db roles` a login
sees only its own sites' rows, so the highest id of the whole table comes from a function
that reads it as the owner (services/site/db_roles.py).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from screening.db.locks import hold_append_lock
from screening.db.memo import memo


def gap_table() -> sa.Table:
    from screening.db.models import RowIdGap, table_of

    return table_of(RowIdGap)


def next_id(session: Session, table: sa.Table, count: int = 1) -> int:
    """The id the next row of ``table`` gets, ``count`` ids being taken from it: read
    under the append lock (ids are the network's, db/locks.py), once per transaction
    (db/memo.py)."""
    hold_append_lock(session)
    known = memo(session).setdefault("ids", {})
    start = known.get(table.name) or _read_next_id(session, table)
    known[table.name] = start + count
    return start


def _read_next_id(session: Session, table: sa.Table) -> int:
    gaps = gap_table()
    if _rows_hidden(session):
        highest = session.execute(sa.select(sa.func.screening_max_id(table.name))).scalar() or 0
    else:
        highest = session.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
    listed = (
        session.execute(
            sa.select(sa.func.max(gaps.c.row_id)).where(gaps.c.table_name == table.name)
        ).scalar()
        or 0
    )
    return max(highest, listed) + 1


def _rows_hidden(session: Session) -> bool:
    """PostgreSQL with `db roles` set up: asked once per connection."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return False
    if "screening_max_id" not in connection.info:
        connection.info["screening_max_id"] = connection.execute(
            sa.text("SELECT to_regprocedure('screening_max_id(text)') IS NOT NULL")
        ).scalar()
    return bool(connection.info["screening_max_id"])


def give_ids(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Ids for rows inserted as plain dictionaries (``sa.insert`` of many at once)."""
    start = next_id(session, table, len(rows))
    for offset, row in enumerate(rows):
        row["id"] = start + offset


@event.listens_for(Session, "before_flush")
def _assign(session: Session, _context: Any, _instances: Any) -> None:
    waiting: dict[sa.Table, list[Any]] = {}
    for item in list(session.new):
        table = getattr(type(item), "__table__", None)
        if table is None or "id" not in table.c:
            continue
        if getattr(item, "id", 1) is not None:  # given its id by hand: read the table anew
            memo(session).get("ids", {}).pop(table.name, None)
            continue
        waiting.setdefault(table, []).append(item)
    for table, items in waiting.items():
        start = next_id(session, table, len(items))
        for offset, item in enumerate(items):
            item.id = start + offset

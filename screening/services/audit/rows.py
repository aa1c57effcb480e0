"""The checks `audit verify` makes of the rows themselves rather than of what one ledger
entry says (DESIGN §6; the rule of every column is in audit/column_rules.py):

- every value is of its column's type (SQLite stores whatever it is given: a date
  column edited into a number must be named, not end verify with an internal error);
- every table's ids are 1..n, apart from the gaps an upgrade listed (db/row_ids.py);
- every link names a row that exists;
- a salt is empty exactly when there is no text for it to salt.

Problems are named by table, row id and ledger entry; never by a value (a value typed
into the database may be a name).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from screening.core.replay import Broken
from screening.db.models import UTCDateTime
from screening.services.audit.column_rules import SALTED_TEXT, tables
from screening.services.audit.unread import Unread

_ENTRY_COLUMNS = ("created_seq", "ledger_seq", "seq")
# The rows an incremental verify looks at (audit/recent.py): a condition per table.
Recent = Callable[[sa.Table], Any] | None
_CHANGED = "it was changed outside screening"


def _where(table: sa.Table, row: Any) -> str:
    """A row by table, id and ledger entry (the ledger itself: by entry)."""
    mapping = row._mapping
    entry = next((mapping[c] for c in _ENTRY_COLUMNS if c in mapping), None)
    if table.name == "ledger":
        return f"entry {entry}"
    if "id" not in mapping:
        return f"{table.name} row {tuple(mapping.values())}"
    return f"{table.name} row {mapping['id']}" + (f" (entry {entry})" if entry is not None else "")


def _handles(table: sa.Table) -> list[sa.Column[Any]]:
    return [c for c in table.c if c.name == "id" or c.name in _ENTRY_COLUMNS] or list(
        table.primary_key.columns
    )


# --- values of their column's type (SQLite) ------------------------------------------


def _malformed(column: sa.Column[Any]) -> tuple[Any, str] | None:
    """An SQLite condition true when ``column`` holds no value of its type, and what
    the type is called; None for a column the engine keeps to its type itself."""
    kind, quoted = column.type, f'"{column.name}"'
    if isinstance(kind, sa.Boolean):
        test, what = f"typeof({quoted}) != 'integer' OR {quoted} NOT IN (0, 1)", "yes/no value"
    elif isinstance(kind, sa.Integer):
        test, what = f"typeof({quoted}) != 'integer'", "whole number"
    elif isinstance(kind, sa.Date):
        test, what = f"typeof({quoted}) != 'text' OR date({quoted}) IS NOT {quoted}", "date"
    elif isinstance(kind, UTCDateTime):
        test = (
            f"typeof({quoted}) != 'text' OR datetime({quoted}) IS NOT substr({quoted}, 1, 19) "
            f"OR NOT (length({quoted}) = 19 OR (length({quoted}) = 26 AND "
            f"substr({quoted}, 20) GLOB '.[0-9][0-9][0-9][0-9][0-9][0-9]'))"
        )
        what = "time"
    elif isinstance(kind, sa.String):  # Text too
        test, what = f"typeof({quoted}) != 'text'", "text"
    else:
        return None
    if column.nullable:
        test = f"{quoted} IS NOT NULL AND ({test})"
    return sa.text(f"({test})"), what


@functools.cache
def _type_checks() -> list[tuple[sa.Table, list[tuple[sa.Column[Any], str]], Any]]:
    """Per table: its typed columns and one statement finding a row where any of them
    holds something else (built once: verify runs them on every call)."""
    checks = []
    for table in tables():
        tests = [(c, t) for c in table.c if (t := _malformed(c)) is not None]
        statement = (
            sa.select(*_handles(table), *(sa.literal_column(str(t[0])) for _, t in tests))
            .select_from(table)
            .where(sa.or_(*(t[0] for _, t in tests)))
            .limit(1)
        )
        checks.append((table, [(c, t[1]) for c, t in tests], statement))
    return checks


def check_types(session: Session, recent: Recent = None) -> None:
    """Every value is one its column can hold. PostgreSQL refuses any other; SQLite
    keeps what it is given, so it is looked for, one scan of each table (``recent``:
    of the rows it picks)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    for table, tests, statement in _type_checks():
        if recent is not None:
            statement = statement.where(recent(table))
        row = session.execute(statement).first()
        if row is None:
            continue
        flags = list(row)[len(_handles(table)) :]
        column, what = next(test for test, flag in zip(tests, flags, strict=True) if flag)
        raise Broken(
            _entry_of(row),
            f"{_where(table, row)}: its {column.name} holds something that is not a "
            f"{what}: {_CHANGED}",
        )


def _entry_of(row: Any) -> int | None:
    mapping = row._mapping
    entry = next((mapping[c] for c in _ENTRY_COLUMNS if c in mapping), None)
    return entry if type(entry) is int else None


# --- ids, links, salts -----------------------------------------------------------------


_GAPS = sa.table("row_id_gaps", sa.column("table_name"), sa.column("row_id"))


def _listed(table: sa.Table) -> Any:
    return sa.select(_GAPS.c.row_id.label("id")).where(_GAPS.c.table_name == table.name)


@functools.cache
def _id_census() -> Any:
    """One statement: per table with ids, how many ids and gaps, how many distinct, the
    lowest and the highest."""
    parts = []
    for table in tables():
        if "id" in table.c:
            ids = sa.union_all(sa.select(table.c.id), _listed(table)).subquery()
            parts.append(
                sa.select(
                    sa.literal(table.name).label("name"),
                    sa.func.count().label("n"),
                    sa.func.count(sa.distinct(ids.c.id)).label("distinct"),
                    sa.func.min(ids.c.id).label("low"),
                    sa.func.max(ids.c.id).label("high"),
                )
            )
    return sa.union_all(*parts)


def check_ids(session: Session) -> None:
    """Each table's ids with its listed gaps are exactly 1..n: an id changed to any
    other number leaves one out of place (db/row_ids.py)."""
    known = {t.name: t for t in tables() if "id" in t.c}
    stray = session.execute(
        sa.select(_GAPS.c.table_name, _GAPS.c.row_id)
        .where(_GAPS.c.table_name.not_in(sorted(known)))
        .limit(1)
    ).first()
    if stray is not None:
        raise Broken(None, f"row_id_gaps row {tuple(stray)} names no table with ids: {_CHANGED}")
    for name, count, distinct, low, high in session.execute(_id_census()).all():
        if count == 0 or (distinct == count and low == 1 and high == count):
            continue
        table = known[name]
        if distinct != count:
            both = session.execute(
                sa.select(*_handles(table)).where(table.c.id.in_(_listed(table))).limit(1)
            ).first()
            raise Broken(
                _entry_of(both),
                f"{_where(table, both)}: its id is listed as a gap too: {_CHANGED}",
            )
        # Some id or gap is outside 1..count: the one that was moved.
        outside = sa.or_(table.c.id < 1, table.c.id > count)
        row = session.execute(sa.select(*_handles(table)).where(outside).limit(1)).first()
        if row is None:
            gap = session.execute(
                _listed(table).where(sa.or_(_GAPS.c.row_id < 1, _GAPS.c.row_id > count)).limit(1)
            ).scalar()
            raise Broken(None, f"row_id_gaps row ({name!r}, {gap}) is not a gap: {_CHANGED}")
        raise Broken(
            _entry_of(row),
            f"{_where(table, row)}: its id is out of place (ids run 1 to {count}, "
            f"with no gaps but those listed): {_CHANGED}",
        )


@functools.cache
def _link_checks() -> tuple[list[tuple[sa.Table, sa.Column[Any], str]], Any]:
    """Every link, and one statement finding a link to nothing: (which link, the row's
    id, its entry, the value). Built once: verify runs it on every call."""
    return _links(None)


def _links(recent: Recent) -> tuple[list[tuple[sa.Table, sa.Column[Any], str]], Any]:
    """As ``_link_checks``, in the rows ``recent`` picks (all: None)."""
    links: list[tuple[sa.Table, sa.Column[Any], str]] = []
    parts: list[Any] = []
    for table in tables():
        entry = next((table.c[c] for c in _ENTRY_COLUMNS if c in table.c), sa.null())
        for key in sorted(table.foreign_keys, key=lambda k: k.parent.name):
            child, parent = key.parent, key.column
            target = parent.table.alias()
            parts.append(
                sa.select(
                    sa.literal(len(links)).label("link"),
                    (table.c.id if "id" in table.c else sa.null()).label("row_id"),
                    sa.cast(entry, sa.BigInteger).label("entry"),
                    sa.cast(child, sa.BigInteger).label("value"),
                ).where(
                    child.is_not(None),
                    # Not EXISTS (SELECT *): a login that may read only some columns
                    # (an auditor's) may still look for the linked row.
                    ~sa.select(target.c[parent.name])
                    .where(target.c[parent.name] == child)
                    .exists(),
                    sa.true() if recent is None else recent(table),
                )
            )
            what = "entry" if parent.table.name == "ledger" else f"{parent.table.name} row"
            links.append((table, child, what))
    return links, sa.union_all(*parts).subquery().select().limit(1)


def check_links(session: Session, recent: Recent = None) -> None:
    """Every link (foreign key) names a row that exists (``recent``: of the rows it picks)."""
    links, statement = _link_checks() if recent is None else _links(recent)
    found = session.execute(statement).first()
    if found is not None:
        table, child, what = links[found.link]
        where = f"{table.name} row {found.row_id}" + (
            f" (entry {found.entry})" if found.entry is not None else ""
        )
        if table.name == "ledger":
            where = f"entry {found.entry}"
        raise Broken(
            found.entry,
            f"{where}: its {child.name} names {what} {found.value}, which does not exist: "
            f"{_CHANGED}",
        )


def check_salts(session: Session, unread: Unread, recent: Recent = None) -> None:
    """A salt beside no text salts nothing, so nothing would show it changed: it must
    be empty (a salt beside text is checked through the text's digest). Not by a login
    that may read neither (audit/unread.py)."""
    for table in tables():
        texts = SALTED_TEXT.get(table.name)
        if not texts or unread.hides(table.name, "salt", *texts):
            continue
        row = session.execute(
            sa.select(*_handles(table))
            .where(table.c.salt != "", *(table.c[name].is_(None) for name in texts))
            .where(sa.true() if recent is None else recent(table))
            .limit(1)
        ).first()
        if row is not None:
            raise Broken(
                _entry_of(row),
                f"{_where(table, row)}: it has a salt but no text for it to salt: {_CHANGED}",
            )

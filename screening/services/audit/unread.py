"""What `audit verify` compares when its login may not read every column: on PostgreSQL
under `db roles` an auditor reads no names, codes, free text or the salts of their
digests (services/site/db_roles.py, column privileges). Verify then reads every other
column and compares it with the ledger, leaves out of the comparison exactly what
depends on a column it cannot read, and says so in its report, rather than stopping
at the server's "permission denied".

What depends on an unread column is found without a list of it: the row's state is
made twice, with two different stand-ins for the unread columns, and whatever differs
between the two is not compared (``UNREAD`` equals anything).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import defer
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

T = TypeVar("T")

# Two stand-ins for an unread column, (text, salt): a text may be missing, a salt never.
_STAND_INS = ((None, ""), ("unread", "unread"))


class _Unread:
    """A value this login could not read: not compared, so equal to anything."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "UNREAD"


UNREAD: Any = _Unread()


class Unread:
    """The columns of each table this login may not read (none on SQLite, or as the
    owner): has_column_privilege, asked once per verify."""

    def __init__(self, session: Session) -> None:
        self.hidden: dict[str, frozenset[str]] = {}
        if session.get_bind().dialect.name != "postgresql":
            return
        rows = session.execute(
            sa.text(
                "SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a "
                "ON a.attrelid = c.oid WHERE c.relnamespace = current_schema()::regnamespace "
                "AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped "
                "AND NOT has_column_privilege(c.oid, a.attnum, 'SELECT')"
            )
        ).all()
        found: dict[str, set[str]] = {}
        for table, column in rows:
            found.setdefault(table, set()).add(column)
        self.hidden = {table: frozenset(columns) for table, columns in found.items()}

    def __bool__(self) -> bool:
        return bool(self.hidden)

    def names(self) -> list[str]:
        return sorted(f"{t}.{c}" for t, columns in self.hidden.items() for c in columns)

    def hides(self, table: str, *columns: str) -> bool:
        """Any of ``columns`` of ``table`` (all of them, when none are named) is unread."""
        hidden = self.hidden.get(table, frozenset())
        return bool(hidden if not columns else hidden & set(columns))

    def column(self, column: Any) -> Any:
        """The column, or NULL in its place when unread."""
        element = sa.inspect(column) if not isinstance(column, sa.Column) else column
        element = getattr(element, "expression", element)
        if element.name in self.hidden.get(element.table.name, ()):
            return sa.null().label(element.name)
        return column

    def columns(self, table: sa.Table, prefix: str) -> list[Any]:
        return [
            (sa.null() if c.name in self.hidden.get(table.name, ()) else c).label(
                f"{prefix}{c.name}"
            )
            for c in table.c
        ]

    def deferred(self, *models: Any) -> list[Any]:
        """Load options that leave the unread columns of these table models unloaded."""
        return [
            defer(getattr(model, _key(model, name)))
            for model in models
            for name in sorted(self.hidden.get(model.__tablename__, ()))
        ]

    def compare(self, build: Callable[[], T], *rows: Any) -> T:
        """``build()``'s state of ``rows`` (table model objects loaded with
        ``deferred``), with what depends on an unread column made ``UNREAD``."""
        filled = [
            (row, self.hidden[row.__tablename__])
            for row in rows
            if row is not None and row.__tablename__ in self.hidden
        ]
        if not filled:
            return build()
        states = []
        for text, salt in _STAND_INS:
            for row, names in filled:
                for name in names:
                    set_committed_value(
                        row, _key(type(row), name), salt if name == "salt" else text
                    )
            states.append(build())
        blinded: T = _blind(states[0], states[1])
        return blinded


def _key(model: Any, column: str) -> str:
    mapper = sa.inspect(model)
    key: str = mapper.get_property_by_column(mapper.local_table.c[column]).key
    return key


def _blind(first: Any, second: Any) -> Any:
    if isinstance(first, dict) and isinstance(second, dict):
        return {
            key: _blind(first.get(key), second.get(key)) if key in first else UNREAD
            for key in first.keys() | second.keys()
        }
    if isinstance(first, tuple) and isinstance(second, tuple) and len(first) == len(second):
        return tuple(_blind(a, b) for a, b in zip(first, second, strict=True))
    return first if first is second or _equal(first, second) else UNREAD


def _equal(first: Any, second: Any) -> bool:
    try:
        return bool(first == second)
    except Exception:  # a value that cannot be compared cannot be trusted either
        return False


def sites_out_of_sight(session: Session) -> list[str]:
    """The sites whose rows this login cannot read (PostgreSQL's row-level security: a
    login that works reads only the sites it holds a role at; the tables' owner and an
    auditor's own login read every site). Verify compares every row with the whole
    ledger, so a login that cannot see them all cannot verify the network."""
    if session.get_bind().dialect.name != "postgresql":
        return []
    guarded = session.execute(
        sa.text(
            "SELECT relrowsecurity AND pg_get_userbyid(relowner) <> session_user "
            "FROM pg_class WHERE oid = to_regclass('clients')"
        )
    ).scalar()
    if not guarded:
        return []
    if session.execute(sa.text("SELECT screening_audits()")).scalar():
        return []
    seen = session.execute(sa.text("SELECT screening_sites(ARRAY['admin','staff','clinician'])"))
    mine = set(seen.scalar() or [])
    every = session.execute(sa.text("SELECT name FROM sites ORDER BY name")).scalars()
    return [site for site in every if site not in mine]

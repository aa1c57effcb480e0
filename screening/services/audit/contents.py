"""Every result version's content digest, recomputed from its row, its result's row and
its analytes, for `audit verify` to compare with the digest its ledger entry holds
(audit/domain.py). A login that may not read some of those columns (audit/unread.py)
cannot recompute it: the digest is then not compared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from types import SimpleNamespace
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session

from screening.db.models import Client, Result, ResultVersion, Screening, table_of
from screening.services.audit.merge import BATCH
from screening.services.audit.unread import UNREAD, Unread
from screening.services.results.versions import analyte_bodies_by_version, content_digest


def version_states(
    session: Session,
    unread: Unread,
    where: Callable[[sa.Table], Any] | None = None,
    site: str | None = None,
) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """Each version's digest, recomputed from its row, its result's row and its analytes.
    Read as plain rows (no ORM objects: a million of them would cost minutes), the
    analytes (16 a version) straight from the driver in one pass beside them. ``where``:
    only the versions it picks (an incremental verify's, audit/recent.py); ``site``: that
    site's versions only (audit/one_site.py); their analytes are looked up a batch at a
    time instead (the one pass would read every version's)."""
    versions = table_of(ResultVersion)
    results = table_of(Result)
    version_names = [c.name for c in versions.c]
    result_names = [c.name for c in results.c]
    rows = (
        sa.select(
            *unread.columns(versions, "v_"),
            *unread.columns(results, "r_"),
        )
        .outerjoin(results, results.c.id == versions.c.result_id)
        .order_by(versions.c.seq)
        .execution_options(yield_per=BATCH)
    )
    if site is not None:
        screenings, clients = table_of(Screening), table_of(Client)
        rows = rows.join(screenings, screenings.c.id == results.c.screening_id).join(
            clients, (clients.c.id == screenings.c.client_id) & (clients.c.site == site)
        )
    if where is not None:
        rows = rows.where(where(versions))
    hidden = unread.hides("results") or unread.hides("result_versions")
    if hidden:
        for row in session.execute(rows):
            yield (
                row.v_seq,
                "",
                {"result": row.r_created_seq, "content": UNREAD, "reason": row.v_reason},
            )
        return
    if where is not None or site is not None:
        yield from _states(session.execute(rows), None, version_names, result_names, session)
        return
    analytes = _Analytes(session)
    try:
        yield from _states(session.execute(rows), analytes, version_names, result_names)
    finally:
        analytes.close()


def _looked_up(found: dict[int, list[dict[str, Any]]], key: Any) -> list[dict[str, Any]]:
    return found.get(key, [])


def _states(
    rows: Any,
    analytes: _Analytes | None,
    version_names: list[str],
    result_names: list[str],
    session: Session | None = None,
) -> Iterator[tuple[int, str, dict[str, Any]]]:
    split = len(version_names)
    for batch in rows.partitions():
        if analytes is None and session is not None:  # a few versions: a batch's lookup
            at = version_names.index("id")
            found = analyte_bodies_by_version(session, [row[at] for row in batch])
            of: Callable[[Any], list[dict[str, Any]]] = partial(_looked_up, found)
        else:
            of = cast(_Analytes, analytes).of
        for row in batch:
            version = SimpleNamespace(**dict(zip(version_names, row[:split], strict=True)))
            result = SimpleNamespace(**dict(zip(result_names, row[split:], strict=True)))
            try:
                # Plain rows in the ORM objects' place: content_digest reads only their
                # attributes.
                digest = content_digest(
                    cast(Result, result),
                    cast(ResultVersion, version),
                    of(version.id),
                    first=version.seq == result.created_seq,
                    stored=True,
                )
            except (ValueError, TypeError, AttributeError) as error:
                # A stored list edited into something that is not one (bad JSON).
                digest = f"unreadable ({type(error).__name__})"
            yield (
                version.seq,
                "",
                {"result": result.created_seq, "content": digest, "reason": version.reason},
            )


class _Analytes:
    """The analytes as the bodies their version's digest covers, from the stored text as
    it is (a level edited in the database then changes the digest however it was
    written). Read in one pass in version order through the driver's own cursor (in the
    session's transaction, server-side on PostgreSQL): nine in ten of the rows verify
    reads, and every column is text but the version's id (check_types has made sure of
    it on SQLite; PostgreSQL keeps each column to its type). Versions come in entry
    order, which is their id order unless rows were moved: a version out of that order
    has its analytes looked up on their own."""

    def __init__(self, session: Session) -> None:
        connection = session.connection()
        self._raw: Any = connection.connection  # the driver's own connection
        self._marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        self._cursor: Any
        if connection.dialect.name == "postgresql":
            self._cursor = self._raw.cursor(name="verify_analytes")
            self._cursor.itersize = BATCH
        else:
            self._cursor = self._raw.cursor()
        self._cursor.execute(f"{_SELECT} ORDER BY version_id")
        self._rows = iter(self._cursor)
        self._ahead: Any = next(self._rows, None)
        self._last: int | None = None

    def of(self, version_id: Any) -> list[dict[str, Any]]:
        if type(version_id) is not int or (self._last is not None and version_id <= self._last):
            return self._lookup(version_id)
        self._last = version_id
        rows = self._rows
        ahead = self._ahead
        while ahead is not None and ahead[0] < version_id:
            ahead = next(rows, None)
        found = []
        while ahead is not None and ahead[0] == version_id:
            found.append(_body(ahead))
            ahead = next(rows, None)
        self._ahead = ahead
        return found

    def _lookup(self, version_id: Any) -> list[dict[str, Any]]:
        cursor = self._raw.cursor()
        try:
            cursor.execute(f"{_SELECT} WHERE version_id = {self._marker}", (version_id,))
            return [_body(row) for row in cursor]
        finally:
            cursor.close()

    def close(self) -> None:
        self._cursor.close()


_SELECT = "SELECT version_id, code, outcome, stage, level, cutoff FROM analyte_results"


def _body(row: Any) -> dict[str, Any]:
    _, code, outcome, stage, level, cutoff = row
    return {"code": code, "outcome": outcome, "stage": stage, "level": level, "cutoff": cutoff}

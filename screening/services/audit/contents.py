"""Every result version's content digest, recomputed from its row, its result's row and
its analytes, for `audit verify` to compare with the digest its ledger entry holds
(audit/domain.py). A login that may not read some of those columns (audit/unread.py)
cannot recompute it: the digest is then not compared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
    Read as plain rows (no ORM objects: a million of them would cost minutes). ``where``:
    only the versions it picks (an incremental verify's, audit/recent.py); ``site``: that
    site's versions only (audit/one_site.py)."""
    versions = table_of(ResultVersion)
    results = table_of(Result)
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
    for batch in session.execute(rows).partitions():
        analytes = analyte_bodies_by_version(session, [row.v_id for row in batch])
        for row in batch:
            version = SimpleNamespace(
                **{key[2:]: value for key, value in row._mapping.items() if key[0] == "v"}
            )
            result = SimpleNamespace(
                **{key[2:]: value for key, value in row._mapping.items() if key[0] == "r"}
            )
            first = version.seq == result.created_seq
            try:
                # Plain rows in the ORM objects' place: content_digest reads only their
                # attributes.
                digest = content_digest(
                    cast(Result, result),
                    cast(ResultVersion, version),
                    analytes.get(version.id, []),
                    first=first,
                    stored=True,
                )
            except (ValueError, TypeError, AttributeError) as error:
                # A stored list edited into something that is not one (bad JSON).
                digest = f"unreadable ({type(error).__name__})"
            if unread.hides("results") or unread.hides("result_versions"):
                digest = UNREAD
            yield (
                version.seq,
                "",
                {"result": result.created_seq, "content": digest, "reason": version.reason},
            )

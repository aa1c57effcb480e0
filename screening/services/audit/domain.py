"""Every domain row against what the replayed ledger says of it (DESIGN §6): clients,
holds, closures, draws and their amendments, screenings, results and every result
version, whose content is hashed again from its rows. Rows are named by ledger entry and
client uid, never by a value (a value typed into the database may be a name). A login
that may not read names, codes and free text compares the rest (audit/unread.py).
The screening, result and version rows' states are read by a second process while the
first walks the chain (audit/second.py, audit/row_states.py).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from screening.core.canonical import private_digest
from screening.core.replay import Broken, Replay
from screening.db.models import (
    Client,
    Closure,
    Draw,
    DrawAmendment,
    Hold,
)
from screening.services.audit.contents import version_states
from screening.services.audit.merge import (
    differences,
    in_key_order,
    match_rows,
    stream,
)
from screening.services.audit.one_site import of_site
from screening.services.audit.report import Report
from screening.services.audit.row_states import result_rows, screening_rows
from screening.services.audit.second import HERE, Rows
from screening.services.audit.unread import Unread
from screening.services.clients.holds import hold_record
from screening.services.draws.closures import closure_record
from screening.services.records.clients import client_state


def check_domain(
    session: Session,
    report: Report,
    replay: Replay,
    unread: Unread,
    second: Rows | None = None,
    site: str | None = None,
) -> None:
    """Every domain row against what the ledger says of it, as two streams merged in
    the same order: the replay's maps sorted by (entry, uid), and the rows read in
    entry order (the uid order within an entry is Python's, whatever the database's
    collation). ``site``: that site's rows only (audit/one_site.py), read here."""
    report.clients = _check_clients(session, replay, unread, site)
    # Outer joins throughout: a row whose parent is gone (foreign keys switched off and
    # a row deleted) must be named, not silently left out of the comparison.
    holds = (
        sa.select(Hold, Client)
        .outerjoin(Client, col(Client.id) == Hold.client_id)
        .options(*unread.deferred(Hold, Client))
        .order_by(col(Hold.ledger_seq))
    )
    holds = of_site(holds, col(Client.site), site)
    report.holds = match_rows(
        "hold",
        replay.holds.ordered(),
        (
            (h.ledger_seq, c.site, unread.compare(partial(hold_record, h, c), h, c))
            for h, c in stream(session, holds)
        ),
    )
    closures = (
        sa.select(Closure).options(*unread.deferred(Closure)).order_by(col(Closure.ledger_seq))
    )
    closures = of_site(closures, col(Closure.site), site)
    report.closures = match_rows(
        "closure",
        replay.closures.ordered(),
        (
            (c.ledger_seq, c.site, unread.compare(partial(closure_record, c), c))
            for (c,) in stream(session, closures)
        ),
    )
    report.draws = _check_draws(session, replay, unread, site)
    second = second or HERE
    report.screenings = _check_screenings(session, replay, unread, second, site)
    report.results = _check_results(session, replay, unread, second, site)
    amendments = (
        sa.select(DrawAmendment, col(Draw.site), col(Draw.day))
        .outerjoin(Draw, col(Draw.id) == DrawAmendment.draw_id)
        .options(*unread.deferred(DrawAmendment))
        .order_by(col(DrawAmendment.ledger_seq))
    )
    amendments = of_site(amendments, col(Draw.site), site)
    match_rows(
        "draw amendment",
        (
            (seq, (site, {"reason": body["reason"], "date": body["date"]}))
            for seq, (site, body) in replay.amendments.ordered()
        ),
        (
            (
                a.ledger_seq,
                site,
                unread.compare(partial(_amendment_state, a, day), a),
            )
            for a, site, day in stream(session, amendments)
        ),
    )


def _check_screenings(
    session: Session, replay: Replay, unread: Unread, second: Rows, site: str | None
) -> int:
    return match_rows(
        "screening",
        ((key, (state["site"], state)) for key, state in replay.screenings.ordered()),
        second.rows("screenings", lambda: screening_rows(session, unread, site)),
    )


def _check_results(
    session: Session, replay: Replay, unread: Unread, second: Rows, site: str | None
) -> int:
    """Every result names its screening and latest version as the ledger does, and every
    version's content hashes to the digest its entry holds."""
    count = match_rows(
        "result",
        (
            (
                seq,
                (
                    r["site"],
                    {
                        "screening": r["screening"],
                        "latest": r["latest"],
                        "late": r.get("late"),
                        "collected_at": None,  # whole seconds (its digest holds those)
                        "collected, method, specimen": r["stated"],
                    },
                ),
            )
            for seq, r in replay.results.ordered()
        ),
        second.rows("results", lambda: result_rows(session, unread, site)),
    )
    match_rows(
        "result version",
        (
            (seq, ("", {"result": result, "content": digest, "reason": reason}))
            for seq, (result, digest, reason) in replay.versions.ordered()
        ),
        second.rows("versions", lambda: version_states(session, unread, site=site)),
    )
    return count


def _check_clients(session: Session, replay: Replay, unread: Unread, site: str | None) -> int:
    """Clients are matched by uid, so that a row moved to another entry or site is named."""
    rows = sa.select(Client).options(*unread.deferred(Client)).order_by(col(Client.ledger_seq))
    rows = of_site(rows, col(Client.site), site)
    count = 0
    for (row,) in stream(session, rows):
        check_client(row, replay.clients.get(row.uid), unread)
        count += 1
    if count != len(replay.clients):
        # Every row matched its uid's entry, so some entry has lost its row: the first.
        stored = in_key_order(
            ((seq, uid), "", {})
            for seq, uid in stream(
                session,
                of_site(
                    sa.select(col(Client.ledger_seq), col(Client.uid)),
                    col(Client.site),
                    site,
                ).order_by(col(Client.ledger_seq)),
            )
        )
        have = next(stored, None)
        for uid, (seq, _, _) in replay.clients.ordered():
            if have is not None and have[0] == (seq, uid):
                have = next(stored, None)
                continue
            raise client_gone(seq, uid)
    return count


def check_client(row: Client, known: Any, unread: Unread) -> None:
    """One clients row against what the ledger says of its uid (``known``: None when
    it says nothing); the full and the incremental verify word a mismatch alike."""
    if known is None:
        raise Broken(
            None,
            f"client {row.uid} has a row in the database but no ledger entry "
            f"(clients row {row.id})",
        )
    seq, site, state = known
    if row.ledger_seq != seq or row.site != site:
        raise Broken(
            seq,
            f"entry {seq} (client {row.uid}): the row names entry "
            f"{row.ledger_seq} at site {row.site!r}, the ledger says entry "
            f"{seq} at site {site!r}",
        )
    differs = differences(unread.compare(partial(client_state, row), row), state)
    if differs:
        raise Broken(
            seq,
            f"entry {seq} (client {row.uid}): the database row differs from "
            f"the ledger in {', '.join(differs)}",
        )


def client_gone(seq: int, uid: str) -> Broken:
    return Broken(
        seq,
        f"entry {seq} (client {uid}): the ledger records this client but the database row is gone",
    )


def _check_draws(session: Session, replay: Replay, unread: Unread, site: str | None) -> int:
    expected = (
        (
            state.created_seq,
            (
                site,
                {
                    "date": day.isoformat(),
                    "latest": state.latest_seq,
                    "revealed": state.revealed_seq,
                    "late": state.late,
                    "drawn_at": state.at,
                    "reason": state.reason,
                },
            ),
        )
        for (site, day), state in replay.draws.ordered()
    )
    rows = sa.select(Draw).options(*unread.deferred(Draw)).order_by(col(Draw.created_seq))
    rows = of_site(rows, col(Draw.site), site)
    return match_rows(
        "draw",
        expected,
        (
            (d.created_seq, d.site, unread.compare(partial(_draw_state, d), d))
            for (d,) in stream(session, rows)
        ),
    )


def _draw_state(d: Draw) -> dict[str, Any]:
    return {
        "date": d.day.isoformat(),
        "latest": d.ledger_seq,
        "revealed": d.revealed_seq,
        "late": d.late_reason is not None,
        "drawn_at": d.drawn_at,
        "reason": private_digest(d.salt, d.late_reason),
    }


def _amendment_state(amendment: DrawAmendment, day: Any) -> dict[str, Any]:
    return {
        "reason": private_digest(amendment.salt, amendment.reason),
        "date": day and day.isoformat(),
    }

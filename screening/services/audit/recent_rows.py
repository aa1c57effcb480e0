"""Each table an incremental verify compares (audit/recent.py picks the rows): the
same row states, joins and expectations as the full verify's (audit/domain.py,
audit/consent_rows.py), for the rows the new entries made or changed only."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from screening.core.canonical import private_digest
from screening.core.ledger import rfc3339
from screening.core.replay import Replay, Store
from screening.db.models import (
    Client,
    Closure,
    Consent,
    Disclosure,
    Draw,
    DrawAmendment,
    Hold,
    Restriction,
    Result,
    Screening,
)
from screening.services.audit.consent_rows import (
    ConsentEntries,
    consent_record,
    disclosure_record,
    restriction_record,
)
from screening.services.audit.contents import version_states
from screening.services.audit.domain import (
    _amendment_state,
    _draw_state,
    check_client,
    client_gone,
)
from screening.services.audit.recent import Recent, by_entry, merge, table_of_model, touched
from screening.services.audit.report import Report
from screening.services.audit.row_states import (
    _screening_state,
    result_query,
    screening_query,
)
from screening.services.audit.unread import UNREAD, Unread
from screening.services.clients.holds import hold_record
from screening.services.draws.closures import closure_record
from screening.services.plumbing.ledger import as_utc


def check_recent(
    session: Session,
    report: Report,
    replay: Replay,
    consents: ConsentEntries,
    unread: Unread,
    recent: Recent,
) -> None:
    """Every row the new entries made or changed, against the replay. The report's
    counts are the ledger's (every earlier row matched when the checkpoint was written)."""
    _clients(session, replay, unread, recent)
    by_entry(
        "hold",
        replay.holds,
        recent.rows(
            session,
            sa.select(Hold, Client)
            .outerjoin(Client, col(Client.id) == Hold.client_id)
            .options(*unread.deferred(Hold, Client)),
            table_of_model(Hold),
            [col(Hold.ledger_seq)],
            touched(replay.holds),
        ),
        lambda r: r[0].ledger_seq,
        lambda r: (r[1].site, unread.compare(partial(hold_record, r[0], r[1]), r[0], r[1])),
    )
    by_entry(
        "closure",
        replay.closures,
        recent.rows(
            session,
            sa.select(Closure).options(*unread.deferred(Closure)),
            table_of_model(Closure),
            [col(Closure.ledger_seq)],
            touched(replay.closures),
        ),
        lambda r: r[0].ledger_seq,
        lambda r: (r[0].site, unread.compare(partial(closure_record, r[0]), r[0])),
    )
    _draws(session, replay, unread, recent)
    _screenings(session, replay, unread, recent)
    _results(session, replay, unread, recent)
    amendments = recent.rows(
        session,
        sa.select(DrawAmendment, col(Draw.site), col(Draw.day))
        .outerjoin(Draw, col(Draw.id) == DrawAmendment.draw_id)
        .options(*unread.deferred(DrawAmendment)),
        table_of_model(DrawAmendment),
        [col(DrawAmendment.ledger_seq)],
        touched(replay.amendments),
    )
    by_entry(
        "draw amendment",
        replay.amendments,
        amendments,
        lambda r: r[0].ledger_seq,
        lambda r: (r.site, unread.compare(partial(_amendment_state, r[0], r.day), r[0])),
        lambda known: (known[0], {"reason": known[1]["reason"], "date": known[1]["date"]}),
    )
    _consents(session, consents, unread, recent)
    report.clients, report.holds = len(replay.clients), len(replay.holds)
    report.closures, report.draws = len(replay.closures), len(replay.draws)
    report.screenings, report.results = len(replay.screenings), len(replay.results)


def _clients(session: Session, replay: Replay, unread: Unread, recent: Recent) -> None:
    rows = recent.rows(
        session,
        sa.select(Client).options(*unread.deferred(Client)),
        table_of_model(Client),
        [col(Client.uid)],
        touched(replay.clients),
    )
    # Worded as the full verify words them (audit/domain.py), in the same order.
    for found in sorted(rows, key=lambda r: _by_entry(r[0].ledger_seq)):
        check_client(found[0], replay.clients.get(found[0].uid), unread)
    present = {row[0].uid for row in rows}
    gone = []
    for uid in touched(replay.clients) - present:
        known = replay.clients.get(uid) if isinstance(uid, str) else None
        if known is not None:
            gone.append((known[0], uid))
    if gone:
        raise client_gone(*min(gone))


def _by_entry(seq: Any) -> tuple[int, int]:
    return (0, seq) if type(seq) is int else (1, 0)


def _draws(session: Session, replay: Replay, unread: Unread, recent: Recent) -> None:
    rows = recent.rows(
        session,
        sa.select(Draw).options(*unread.deferred(Draw)),
        table_of_model(Draw),
        [col(Draw.site), col(Draw.day)],
        touched(replay.draws),
    )
    keys = touched(replay.draws) | {(row[0].site, row[0].day) for row in rows}
    merge(
        "draw",
        replay.draws,
        keys,
        rows,
        lambda r: r[0].created_seq,
        lambda r: (r[0].site, unread.compare(partial(_draw_state, r[0]), r[0])),
        lambda key, state: (
            state.created_seq,
            (
                key[0],
                {
                    "date": key[1].isoformat(),
                    "latest": state.latest_seq,
                    "revealed": state.revealed_seq,
                    "late": state.late,
                    "drawn_at": state.at,
                    "reason": state.reason,
                },
            ),
        ),
    )


def _screenings(session: Session, replay: Replay, unread: Unread, recent: Recent) -> None:
    statement = screening_query(unread)
    # By their creating entry: a draw's other screenings come too, and match as well.
    rows = recent.rows(
        session,
        statement,
        table_of_model(Screening),
        [col(Screening.created_seq)],
        {key[0] for key in touched(replay.screenings)},
    )
    by_entry(
        "screening",
        replay.screenings,
        rows,
        lambda r: (r[0].created_seq, r.uid),
        lambda r: (r.site, unread.compare(partial(_screening_state, r), r[0])),
        lambda state: (state["site"], state),
    )


def _results(session: Session, replay: Replay, unread: Unread, recent: Recent) -> None:
    statement = result_query(unread)
    key = [col(Result.created_seq)]
    rows = recent.rows(session, statement, table_of_model(Result), key, touched(replay.results))
    hidden = unread.hides("results", "salt", "late_reason")

    def state_of(r: Any) -> tuple[str, dict[str, Any]]:
        return r.site, {
            "screening": (r.screening_seq, r.uid),
            "latest": r.ledger_seq,
            "late": UNREAD if hidden else private_digest(r.salt, r.late_reason),
            "collected_at": "a fraction of a second" if r.collected_at.microsecond else None,
            "collected, method, specimen": (
                rfc3339(as_utc(r.collected_at)),
                r.method,
                r.specimen_type,
            ),
        }

    by_entry(
        "result",
        replay.results,
        rows,
        lambda r: r.created_seq,
        state_of,
        lambda r: (
            r["site"],
            {
                "screening": r["screening"],
                "latest": r["latest"],
                "late": r.get("late"),
                "collected_at": None,
                "collected, method, specimen": r["stated"],
            },
        ),
    )
    # Versions are only ever made by new entries: those after the checkpoint.
    versions = list(version_states(session, unread, where=recent))
    recent.compared += len(versions)
    keys = touched(replay.versions) | {seq for seq, _, _ in versions}
    merge(
        "result version",
        replay.versions,
        keys,
        versions,
        lambda v: v[0],
        lambda v: (v[1], v[2]),
        lambda seq, known: (
            seq,
            ("", {"result": known[0], "content": known[1], "reason": known[2]}),
        ),
    )


def _consents(session: Session, entries: ConsentEntries, unread: Unread, recent: Recent) -> None:
    for label, store, model, record in (
        ("consent", entries.consents, Consent, consent_record),
        ("restriction", entries.restrictions, Restriction, restriction_record),
    ):
        _added(label, store, model, record, session, unread, recent)
    rows = recent.rows(
        session,
        sa.select(Disclosure, Client, col(Consent.uid))
        .outerjoin(Client, col(Client.id) == Disclosure.client_id)
        .outerjoin(Consent, col(Consent.id) == Disclosure.consent_id)
        .options(*unread.deferred(Disclosure, Client)),
        table_of_model(Disclosure),
        [col(Disclosure.seq)],
        touched(entries.disclosures),
    )
    by_entry(
        "disclosure",
        entries.disclosures,
        rows,
        lambda r: r[0].seq,
        lambda r: (
            r[0].site,
            unread.compare(partial(disclosure_record, r[0], r[1], r[2]), r[0], r[1]),
        ),
    )


def _added(
    label: str,
    store: Store,
    model: Any,
    record: Callable[..., dict[str, Any]],
    session: Session,
    unread: Unread,
    recent: Recent,
) -> None:
    """Consents and restrictions: keyed by the entry that added them."""
    rows = recent.rows(
        session,
        sa.select(model, Client)
        .outerjoin(Client, col(Client.id) == model.client_id)
        .options(*unread.deferred(model, Client)),
        table_of_model(model),
        [model.added_seq],
        touched(store),
    )
    by_entry(
        label,
        store,
        rows,
        lambda r: r[0].added_seq,
        lambda r: (r[0].site, unread.compare(partial(record, r[0], r[1]), r[0], r[1])),
    )

"""What a writing transaction reads once and keeps (``memo``).

Under the write locks nothing else writes them, so the ledger's head and the next row
id of a table (kept only once the append lock is held: db/locks.py), a site's salt and
record and the staff names stored (under the site's lock) stay what this transaction
last read or wrote. The commands of a batch (``Database.batch``) share one transaction,
so each of them reads these once, not once per command. The memo is forgotten at any
rollback, a savepoint's included (what the command wrote is gone), and when the
transaction ends (the lock is let go).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

_MEMO = "screening.memo"


def memo(session: Session) -> dict[str, Any]:
    return session.info.setdefault(_MEMO, {})


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, _previous: SessionTransaction) -> None:
    session.info.pop(_MEMO, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_MEMO, None)

"""The client each ledger entry is about, indexed: one client's history without a scan.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def subject(kind: str, body: dict[str, Any]) -> str | None:
    """The client an entry is about, as core/ledger.py's `subject` said it when this
    migration was written: a migration runs as written, whatever the code later becomes
    (and the database layer does not import the core)."""
    uid: str | None = None
    if kind == "client":
        uid = body["client"]["uid"]
    elif kind == "hold":
        uid = body["hold"]["uid"]
    elif kind in ("result", "amendment"):
        uid = body["uid"]
    elif kind == "screening":
        uid = body["uid"] if body["action"] == "create" else body["screening"][1]
    return uid


_APPEND_ONLY = "the ledger is append-only: entries are never updated or deleted"


def _guard(on: bool) -> None:
    """The append-only triggers stand aside for this one backfill of a derived column."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for action in ("UPDATE", "DELETE"):
            if on:
                op.execute(
                    f"CREATE TRIGGER ledger_no_{action.lower()} BEFORE {action} ON ledger "
                    f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
                )
            else:
                op.execute(f"DROP TRIGGER IF EXISTS ledger_no_{action.lower()}")
    elif on:
        op.execute(
            "CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger "
            "FOR EACH ROW EXECUTE FUNCTION screening_ledger_append_only()"
        )
    else:
        op.execute("DROP TRIGGER IF EXISTS ledger_append_only ON ledger")


def upgrade() -> None:
    _guard(False)
    # Plain ALTER TABLE on both backends: a batch copy of the ledger would trip its
    # foreign keys on SQLite.
    op.add_column("ledger", sa.Column("uid", sa.String(36), nullable=True))
    op.create_index("ix_ledger_uid", "ledger", ["uid"])
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT seq, kind, canonical FROM ledger WHERE kind IN "
            "('client', 'hold', 'result', 'screening', 'amendment')"
        )
    ).all()
    for seq, kind, canonical in rows:
        about = subject(kind, json.loads(canonical)["body"])
        bind.execute(
            sa.text("UPDATE ledger SET uid = :uid WHERE seq = :seq"), {"uid": about, "seq": seq}
        )
    _guard(True)


def downgrade() -> None:
    _guard(False)
    op.drop_index("ix_ledger_uid", "ledger")
    op.execute("ALTER TABLE ledger DROP COLUMN uid")
    _guard(True)

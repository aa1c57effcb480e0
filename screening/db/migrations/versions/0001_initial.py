"""Ledger, clients, holds and closures.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_APPEND_ONLY = "the ledger is append-only: entries are never updated or deleted"


def upgrade() -> None:
    op.create_table(
        "ledger",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("site", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("canonical", sa.Text, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_index("ix_ledger_site_kind", "ledger", ["site", "kind"])
    op.create_table(
        "clients",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uid", sa.String(36), nullable=False, unique=True),
        sa.Column("site", sa.String(32), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column("track", sa.String(64), nullable=False),
        sa.Column("phase", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("admitted_on", sa.Date, nullable=False),
        sa.Column("discharged_on", sa.Date, nullable=True),
        sa.Column("discharge_reason", sa.Text, nullable=True),
        sa.Column("medications", sa.Text, nullable=False),
        sa.Column("ledger_seq", sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False),
        sa.UniqueConstraint("site", "code", name="uq_clients_site_code"),
    )
    op.create_index("ix_clients_site", "clients", ["site"])
    op.create_table(
        "holds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("client_id", sa.Integer, sa.ForeignKey("clients.id"), nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column(
            "ledger_seq", sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False, unique=True
        ),
    )
    op.create_index("ix_holds_client_id", "holds", ["client_id"])
    op.create_table(
        "closures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site", sa.String(32), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column(
            "ledger_seq", sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False, unique=True
        ),
        sa.UniqueConstraint("site", "date", name="uq_closures_site_date"),
    )
    # Against accidents only; `audit verify` is the real guard (DESIGN §6).
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER ledger_no_{action.lower()} BEFORE {action} ON ledger "
                f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION screening_ledger_append_only() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger "
            "FOR EACH ROW EXECUTE FUNCTION screening_ledger_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS ledger_no_update")
        op.execute("DROP TRIGGER IF EXISTS ledger_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS ledger_append_only ON ledger")
        op.execute("DROP FUNCTION IF EXISTS screening_ledger_append_only()")
    op.drop_table("closures")
    op.drop_table("holds")
    op.drop_table("clients")
    op.drop_table("ledger")

"""Draws and screenings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "draws",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site", sa.String(32), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("late_reason", sa.Text, nullable=True),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column(
            "created_seq", sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False, unique=True
        ),
        sa.Column("ledger_seq", sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False),
        sa.Column("revealed_seq", sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=True),
        sa.UniqueConstraint("site", "date", name="uq_draws_site_date"),
    )
    op.create_table(
        "screenings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("client_id", sa.Integer, sa.ForeignKey("clients.id"), nullable=False),
        sa.Column("draw_id", sa.Integer, sa.ForeignKey("draws.id"), nullable=True),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("due_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_seq", sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False),
        sa.Column("ledger_seq", sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False),
        sa.UniqueConstraint("draw_id", "client_id", name="uq_screenings_draw_client"),
    )
    op.create_index("ix_screenings_client_date", "screenings", ["client_id", "date"])
    op.create_index("ix_screenings_draw_id", "screenings", ["draw_id"])
    op.create_table(
        "draw_amendments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("draw_id", sa.Integer, sa.ForeignKey("draws.id"), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column(
            "ledger_seq", sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False, unique=True
        ),
    )
    op.create_index("ix_draw_amendments_draw_id", "draw_amendments", ["draw_id"])


def downgrade() -> None:
    op.drop_table("draw_amendments")
    op.drop_table("screenings")
    op.drop_table("draws")

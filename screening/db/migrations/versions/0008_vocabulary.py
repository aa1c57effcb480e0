"""Outcomes stated against their level: the reason, kept with the version.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column: SQLite and PostgreSQL both add it in place (no table copy).
    op.add_column("result_versions", sa.Column("override_reason", sa.Text, nullable=True))


def downgrade() -> None:
    # In place too (SQLite 3.35+): a batch copy would trip the analytes' foreign keys.
    op.execute("ALTER TABLE result_versions DROP COLUMN override_reason")

"""Indexes for what every write does: find pending screenings past their deadline, and
drawn days whose key is not revealed yet, without reading every screening or draw.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_screenings_status_due", "screenings", ["status", "due_by"])
    op.create_index("ix_draws_site_revealed", "draws", ["site", "revealed_seq"])


def downgrade() -> None:
    op.drop_index("ix_draws_site_revealed", "draws")
    op.drop_index("ix_screenings_status_due", "screenings")

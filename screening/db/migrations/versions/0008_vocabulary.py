"""Outcomes stated against their level: the reason, kept with the version.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("result_versions") as batch:
        batch.add_column(sa.Column("override_reason", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("result_versions") as batch:
        batch.drop_column("override_reason")

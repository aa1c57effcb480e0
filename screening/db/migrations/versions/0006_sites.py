"""Sites in the database: each site's name, time zones (and when each took effect) and
the salt of the staff names' digests, with the staff names themselves.

An older database gets empty tables: its sites are adopted from the ledger, and said to
the user, by the first command that uses them (services/records/sites.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(32), nullable=False, unique=True),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column(
            "created_seq", sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False, unique=True
        ),
    )
    op.create_table(
        "site_zones",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site", sa.String(32), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column(
            "ledger_seq", sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False, unique=True
        ),
    )
    op.create_index("ix_site_zones_site", "site_zones", ["site", "ledger_seq"])
    op.create_table(
        "staff_names",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site", sa.String(32), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.UniqueConstraint("site", "digest", name="uq_staff_names_site_digest"),
    )


def downgrade() -> None:
    op.drop_table("staff_names")
    op.drop_index("ix_site_zones_site", "site_zones")
    op.drop_table("site_zones")
    op.drop_table("sites")

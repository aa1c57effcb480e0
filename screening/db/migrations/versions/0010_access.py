"""Roles: who may do what at which site (issue 17).

``access_grants`` holds each role a user holds at a site, from the ledger's `role`
entry that granted it until the one that revoked it. The first `db upgrade` of a clinic
made before roles makes the user running it the site's admin (services/access/).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_grants",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("site", sa.String(32), nullable=False),
        sa.Column("login", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column(
            "granted_seq", sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False, unique=True
        ),
        sa.Column(
            "revoked_seq", sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=True, unique=True
        ),
    )
    op.create_index("ix_access_grants_site_login", "access_grants", ["site", "login"])


def downgrade() -> None:
    op.drop_index("ix_access_grants_site_login", table_name="access_grants")
    op.drop_table("access_grants")

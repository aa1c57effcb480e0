"""Roles: who may do what at which site (issue 17).

``access_grants`` holds each role a user holds at a site, from the ledger's `role`
entry that granted it until the one that revoked it. ``ledger.login`` is the database
login that wrote each new entry (PostgreSQL). The first `db upgrade` of a clinic
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
    # Who wrote each entry from now on, as the server knows it: on PostgreSQL the login
    # that inserted the row (a default row-level security holds it to), which verify
    # compares with the writer the entry names (its login_digest). The entries before
    # keep none: their writer is what they say.
    op.add_column("ledger", sa.Column("login", sa.Text, nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE ledger ALTER COLUMN login SET DEFAULT session_user")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # `db roles` policies name the column; the next `db roles` makes them again.
        op.execute("DROP POLICY IF EXISTS screening_insert ON ledger")
    op.drop_column("ledger", "login")
    op.drop_index("ix_access_grants_site_login", table_name="access_grants")
    op.drop_table("access_grants")

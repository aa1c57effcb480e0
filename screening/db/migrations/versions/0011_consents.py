"""Consents to disclose, clients' restrictions, and the disclosures made (issue 18).

``consents`` holds each written consent (or court order) from its `consent` entry until
the one that revoked it; ``restrictions`` each client's restriction (42 CFR 2.26) until
lifted; ``disclosures`` each disclosure made through the gate, for the accounting of
disclosures. Older exports' disclosures stay entries only.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _seq(name: str, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(
        name, sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=nullable, unique=True
    )


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("uid", sa.String(36), nullable=False, unique=True),
        sa.Column("site", sa.String(32), nullable=False),
        sa.Column("client_id", sa.Integer, sa.ForeignKey("clients.id"), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("recipient_class", sa.Boolean, nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("shares", sa.Text, nullable=False),
        sa.Column("covers_from", sa.Date, nullable=False),
        sa.Column("expires_on", sa.Date, nullable=True),
        sa.Column("at_discharge", sa.Boolean, nullable=False),
        sa.Column("signed_on", sa.Date, nullable=False),
        sa.Column("signed_by", sa.Text, nullable=False),
        sa.Column("how_to_revoke", sa.Text, nullable=True),
        sa.Column("revocable_from", sa.Date, nullable=True),
        sa.Column("taken_by", sa.String(64), nullable=False),
        sa.Column("salt", sa.String(32), nullable=False),
        _seq("added_seq"),
        _seq("revoked_seq", nullable=True),
        sa.Column("revoke_reason", sa.String(32), nullable=True),
        sa.Column("revoke_note", sa.Text, nullable=True),
    )
    op.create_index("ix_consents_site", "consents", ["site"])
    op.create_index("ix_consents_client_id", "consents", ["client_id"])
    op.create_table(
        "restrictions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("site", sa.String(32), nullable=False),
        sa.Column("client_id", sa.Integer, sa.ForeignKey("clients.id"), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("lift_note", sa.Text, nullable=True),
        sa.Column("salt", sa.String(32), nullable=False),
        _seq("added_seq"),
        _seq("lifted_seq", nullable=True),
    )
    op.create_index("ix_restrictions_site", "restrictions", ["site"])
    op.create_index("ix_restrictions_client_id", "restrictions", ["client_id"])
    op.create_table(
        "disclosures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("site", sa.String(32), nullable=False),
        _seq("seq"),
        sa.Column("client_id", sa.Integer, sa.ForeignKey("clients.id"), nullable=True),
        sa.Column("consent_id", sa.Integer, sa.ForeignKey("consents.id"), nullable=True),
        sa.Column("basis", sa.String(16), nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("what", sa.Text, nullable=False),
        sa.Column("period_from", sa.Date, nullable=True),
        sa.Column("period_to", sa.Date, nullable=True),
        sa.Column("form", sa.String(16), nullable=False),
        sa.Column("content", sa.String(64), nullable=False),
    )
    op.create_index("ix_disclosures_site", "disclosures", ["site"])
    op.create_index("ix_disclosures_client_id", "disclosures", ["client_id"])


def downgrade() -> None:
    for table in ("disclosures", "restrictions", "consents"):
        for index in ("site", "client_id"):
            op.drop_index(f"ix_{table}_{index}", table_name=table)
        op.drop_table(table)

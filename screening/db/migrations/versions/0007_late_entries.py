"""Late entries, reversed misses, holds ended early or withdrawn, closures withdrawn.

Each is an event in the ledger; these columns keep the clinic's own words beside it
(the ledger holds salted digests of them), and `audit verify` checks every one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("late_reason", sa.Text, nullable=True))
    with op.batch_alter_table("screenings") as batch:
        batch.add_column(sa.Column("reversed_status", sa.String(24), nullable=True))
        batch.add_column(sa.Column("reversal_approver", sa.Text, nullable=True))
    with op.batch_alter_table("holds") as batch:
        batch.add_column(sa.Column("ended_on", sa.Date, nullable=True))
        batch.add_column(
            sa.Column("withdrawn", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("change_reason", sa.Text, nullable=True))
        batch.add_column(sa.Column("changed_seq", sa.BigInteger, nullable=True))
        batch.create_foreign_key("fk_holds_changed_seq", "ledger", ["changed_seq"], ["seq"])
    with op.batch_alter_table("closures") as batch:
        batch.add_column(sa.Column("withdrawn_reason", sa.Text, nullable=True))
        batch.add_column(sa.Column("withdrawn_seq", sa.BigInteger, nullable=True))
        batch.create_foreign_key("fk_closures_withdrawn_seq", "ledger", ["withdrawn_seq"], ["seq"])


def downgrade() -> None:
    with op.batch_alter_table("closures") as batch:
        batch.drop_constraint("fk_closures_withdrawn_seq", type_="foreignkey")
        batch.drop_column("withdrawn_seq")
        batch.drop_column("withdrawn_reason")
    with op.batch_alter_table("holds") as batch:
        batch.drop_constraint("fk_holds_changed_seq", type_="foreignkey")
        batch.drop_column("changed_seq")
        batch.drop_column("change_reason")
        batch.drop_column("withdrawn")
        batch.drop_column("ended_on")
    with op.batch_alter_table("screenings") as batch:
        batch.drop_column("reversal_approver")
        batch.drop_column("reversed_status")
    with op.batch_alter_table("results") as batch:
        batch.drop_column("late_reason")

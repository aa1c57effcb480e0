"""Results straight from the lab (issue 19): what a lab's HL7 report said of itself.

``lab_status`` is the report status of the version a lab's message made (preliminary,
final, corrected, cannot_obtain, withdrawn); ``lab_message`` the SHA-256 of the lab, the
message's control id and the lab's order, by which a message imported before is
recognised and skipped. Both are in the version's content digest when set. Specimen ids
are also indexed case-folded: a label is one label whatever its case, at recording and
when a lab's report is matched.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("result_versions") as batch:
        batch.add_column(sa.Column("lab_status", sa.String(16), nullable=True))
        batch.add_column(sa.Column("lab_message", sa.String(64), nullable=True))
        batch.create_index("ix_result_versions_lab_message", ["lab_message"])
    op.create_index("ix_results_specimen_id_folded", "results", [sa.text("lower(specimen_id)")])


def downgrade() -> None:
    op.drop_index("ix_results_specimen_id_folded", "results")
    with op.batch_alter_table("result_versions") as batch:
        batch.drop_index("ix_result_versions_lab_message")
        batch.drop_column("lab_message")
        batch.drop_column("lab_status")

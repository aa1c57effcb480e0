"""Results, their versions and analytes; screening notes, excusals and observation.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("screenings") as batch:
        batch.add_column(
            sa.Column("observed_required", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("salt", sa.String(32), nullable=False, server_default=""))
        batch.add_column(sa.Column("replaces_id", sa.Integer, nullable=True))
        batch.create_foreign_key("fk_screenings_replaces", "screenings", ["replaces_id"], ["id"])
        batch.add_column(sa.Column("note", sa.Text, nullable=True))
        batch.add_column(sa.Column("status_note", sa.Text, nullable=True))
        batch.add_column(
            sa.Column("status_auto", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("excuse_code", sa.String(32), nullable=True))
        batch.add_column(sa.Column("approved_by", sa.Text, nullable=True))
    op.create_table(
        "results",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "screening_id", sa.Integer, sa.ForeignKey("screenings.id"), nullable=False, unique=True
        ),
        sa.Column("specimen_type", sa.String(16), nullable=False),
        sa.Column("specimen_id", sa.String(64), nullable=True, unique=True),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("collector", sa.Text, nullable=False),
        sa.Column("observed", sa.Boolean, nullable=False),
        sa.Column("observed_reason", sa.Text, nullable=True),
        sa.Column("temperature_ok", sa.Boolean, nullable=True),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("panel", sa.String(64), nullable=False),
        sa.Column("medications", sa.Text, nullable=False),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column(
            "created_seq", sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False, unique=True
        ),
        sa.Column("ledger_seq", sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False),
    )
    op.create_table(
        "result_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("result_id", sa.Integer, sa.ForeignKey("results.id"), nullable=False),
        sa.Column("seq", sa.BigInteger, sa.ForeignKey("ledger.seq"), nullable=False, unique=True),
        sa.Column("reason", sa.String(24), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("lab_report_id", sa.String(64), nullable=True),
        sa.Column("validity", sa.String(16), nullable=False),
        sa.Column("validity_version", sa.String(64), nullable=False),
        sa.Column("measures", sa.Text, nullable=False),
        sa.Column("void", sa.Boolean, nullable=False),
    )
    op.create_index("ix_result_versions_result_id", "result_versions", ["result_id"])
    op.create_table(
        "analyte_results",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("result_versions.id"), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("level", sa.String(32), nullable=True),
        sa.Column("cutoff", sa.String(32), nullable=True),
        sa.UniqueConstraint("version_id", "code", name="uq_analyte_version_code"),
    )


def downgrade() -> None:
    op.drop_table("analyte_results")
    op.drop_table("result_versions")
    op.drop_table("results")
    with op.batch_alter_table("screenings") as batch:
        for column in (
            "approved_by",
            "excuse_code",
            "replaces_id",
            "status_note",
            "note",
            "salt",
            "observed_required",
        ):
            batch.drop_column(column)

"""Every stored column checked by `audit verify`: ids without gaps, salts only with text.

- ``row_id_gaps`` lists the ids a table skipped so far (an older PostgreSQL database
  used a sequence, which a rolled-back insert leaves a gap in); from now on ids are
  given without gaps (db/row_ids.py), and verify checks that every table's ids and
  listed gaps are exactly 1..n. Nothing is renumbered: ids staff know stay as they were.
- A salt salts the free text beside it. A draw with no late reason, or a screening
  with no note, had one that salted nothing (and so could not be checked); it is
  emptied, and verify now requires a salt to be empty exactly when there is no text.
- A collection time is kept in whole seconds, as its digest holds it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = (
    "sites",
    "site_zones",
    "staff_names",
    "clients",
    "holds",
    "closures",
    "draws",
    "draw_amendments",
    "screenings",
    "results",
    "result_versions",
    "analyte_results",
)


def upgrade() -> None:
    gaps = op.create_table(
        "row_id_gaps",
        sa.Column("table_name", sa.String(32), primary_key=True),
        sa.Column("row_id", sa.Integer, primary_key=True, autoincrement=False),
    )
    bind = op.get_bind()
    for table in TABLES:
        ids = [row[0] for row in bind.execute(sa.text(f"SELECT id FROM {table} ORDER BY id"))]
        present = set(ids)
        missing = [n for n in range(1, (ids[-1] if ids else 0) + 1) if n not in present]
        if missing:
            op.bulk_insert(gaps, [{"table_name": table, "row_id": n} for n in missing])
    if bind.dialect.name == "postgresql":
        # Ids are given by the program from now on (db/row_ids.py): an insert that does
        # not give one (by hand, or a later migration) fails loudly rather than taking a
        # sequence number that would leave a gap or collide.
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN id DROP DEFAULT")
    op.execute("UPDATE draws SET salt = '' WHERE late_reason IS NULL")
    op.execute("UPDATE screenings SET salt = '' WHERE note IS NULL AND status_note IS NULL")
    # A collection time is hashed in whole seconds; a fraction stored beside it is dropped.
    if bind.dialect.name == "sqlite":
        op.execute(
            "UPDATE results SET collected_at = substr(collected_at, 1, 19) || '.000000' "
            "WHERE substr(collected_at, 20) NOT IN ('', '.000000')"
        )
    else:
        op.execute(
            "UPDATE results SET collected_at = date_trunc('second', collected_at) "
            "WHERE collected_at <> date_trunc('second', collected_at)"
        )


def downgrade() -> None:
    # The emptied salts salted nothing; they are not brought back.
    op.drop_table("row_id_gaps")
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:  # the sequences again, past every id given meanwhile
            sequence = f"{table}_id_seq"
            op.execute(
                f"SELECT setval('{sequence}', COALESCE((SELECT max(id) FROM {table}), 0) + 1, "
                "false)"
            )
            op.execute(f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT nextval('{sequence}')")

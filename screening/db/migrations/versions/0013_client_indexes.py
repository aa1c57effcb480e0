"""Indexes for a network's ten years (issue 21): a client code typed in any case, and the
clients in the program on a day, found without reading every client a site ever
enrolled (which `clients add` and each day's draw did, slower with every admission).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_clients_site_code_folded", "clients", ["site", sa.text("lower(code)")])
    op.create_index("ix_clients_site_discharged", "clients", ["site", "discharged_on"])


def downgrade() -> None:
    op.drop_index("ix_clients_site_discharged", "clients")
    op.drop_index("ix_clients_site_code_folded", "clients")

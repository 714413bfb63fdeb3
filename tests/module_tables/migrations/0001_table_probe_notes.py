"""The notes of the table_probe module: one row per note, of a province's agency.

Revision ID: 0001_table_probe_notes
Revises:
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from eiso.core.sdk import enable_row_level_security

revision = "0001_table_probe_notes"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "table_probe_notes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("province_id", sa.BigInteger, sa.ForeignKey("provinces.id"), nullable=False),
        sa.Column("agency_id", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    enable_row_level_security(op, "table_probe_notes", agency_column="agency_id")


def downgrade() -> None:
    op.drop_table("table_probe_notes")

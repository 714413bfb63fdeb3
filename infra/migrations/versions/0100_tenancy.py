"""Reorganisations (merges of provinces and agencies), agency lineage, origins of moved rows.

Revision ID: 0100_tenancy
Revises: 0002_modules
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import grant

revision = "0100_tenancy"
down_revision = "0002_modules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reorganisations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("from_codes", sa.JSON, nullable=False),
        sa.Column("into_code", sa.String(64), nullable=False),
        sa.Column("into_province_id", sa.BigInteger, nullable=False),
        sa.Column("into_agency_id", sa.BigInteger, nullable=True),
        sa.Column("done_by", sa.String(200), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "agency_lineage",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "reorganisation_id", sa.Integer, sa.ForeignKey("reorganisations.id"), nullable=False
        ),
        sa.Column("from_province_id", sa.BigInteger, nullable=False),
        sa.Column("from_agency_id", sa.BigInteger, nullable=False),
        sa.Column("into_province_id", sa.BigInteger, nullable=False),
        sa.Column("into_agency_id", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_agency_lineage_into", "agency_lineage", ["into_province_id", "into_agency_id"]
    )
    op.create_index(
        "ix_agency_lineage_from", "agency_lineage", ["from_province_id", "from_agency_id"]
    )
    op.create_table(
        "reorganised_rows",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "reorganisation_id",
            sa.Integer,
            sa.ForeignKey("reorganisations.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("province_id", sa.BigInteger, nullable=False),
        sa.Column("row_id", sa.BigInteger, nullable=False),
        sa.Column("from_agency_id", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_reorganised_rows_row", "reorganised_rows", ["table_name", "province_id", "row_id"]
    )
    grant(op, "reorganisations", "SELECT, INSERT")
    grant(op, "agency_lineage", "SELECT, INSERT, UPDATE")
    grant(op, "reorganised_rows", "SELECT, INSERT, UPDATE")


def downgrade() -> None:
    op.drop_table("reorganised_rows")
    op.drop_table("agency_lineage")
    op.drop_table("reorganisations")

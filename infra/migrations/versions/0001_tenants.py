"""Tenants: provinces, agencies, units, with row-level security on the tenant tables.

Revision ID: 0001_tenants
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import enable_tenant_rls, grant

revision = "0001_tenants"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provinces",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_folded", sa.String(200), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("merged_into_id", sa.Integer, sa.ForeignKey("provinces.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "agencies",
        sa.Column("province_id", sa.BigInteger, sa.ForeignKey("provinces.id"), primary_key=True),
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("name_folded", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("parent_id", sa.BigInteger, nullable=True),
        sa.Column("iso_status", sa.String(32), nullable=False),
        sa.Column("iso_status_since", sa.Date, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("merged_into_id", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_id", "parent_id"],
            ["agencies.province_id", "agencies.id"],
            name="fk_agencies_parent",
        ),
    )
    op.create_index("ix_agencies_province_folded", "agencies", ["province_id", "name_folded"])
    op.create_index("ix_agencies_id", "agencies", ["id"])
    op.create_table(
        "units",
        sa.Column("province_id", sa.BigInteger, primary_key=True),
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("agency_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_id", "agency_id"],
            ["agencies.province_id", "agencies.id"],
            name="fk_units_agency",
        ),
    )
    grant(op, "provinces", "SELECT, INSERT, UPDATE")
    enable_tenant_rls(op, "agencies", agency_column="id")
    enable_tenant_rls(op, "units")


def downgrade() -> None:
    op.drop_table("units")
    op.drop_table("agencies")
    op.drop_table("provinces")

"""Module activation per province, with history.

Revision ID: 0002_modules
Revises: 0001_tenants
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import grant

revision = "0002_modules"
down_revision = "0001_tenants"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "module_activations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "province_id", sa.BigInteger, sa.ForeignKey("provinces.id"), nullable=False, index=True
        ),
        sa.Column("module", sa.String(64), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("changed_by", sa.String(200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("province_id", "module", name="uq_module_activation"),
    )
    op.create_table(
        "module_activation_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "province_id", sa.BigInteger, sa.ForeignKey("provinces.id"), nullable=False, index=True
        ),
        sa.Column("module", sa.String(64), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("changed_by", sa.String(200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    grant(op, "module_activations")
    grant(op, "module_activation_events", "SELECT, INSERT")


def downgrade() -> None:
    op.drop_table("module_activation_events")
    op.drop_table("module_activations")

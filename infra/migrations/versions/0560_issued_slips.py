"""One-stop slips as issued: each slip's number, the event it records, the moment of that event
and what it printed, frozen, so a reprint is the same document.

Revision ID: 0560_issued_slips
Revises: 0550_dossier_code_search_scoped
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import enable_tenant_rls
from eiso.infra.tenant_columns import tenant_columns

revision = "0560_issued_slips"
down_revision = "0550_dossier_code_search_scoped"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issued_slips",
        *tenant_columns("issued_slips"),
        sa.Column("dossier_id", sa.BigInteger, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("event_id", sa.BigInteger, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", sa.JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "province_id",
            "agency_id",
            "dossier_id",
            "number",
            "event_id",
            name="uq_issued_slips_event",
        ),
    )
    op.create_index("ix_issued_slips_dossier", "issued_slips", ["dossier_id", "number"])
    enable_tenant_rls(op, "issued_slips")


def downgrade() -> None:
    op.drop_index("ix_issued_slips_dossier", "issued_slips")
    op.drop_table("issued_slips")

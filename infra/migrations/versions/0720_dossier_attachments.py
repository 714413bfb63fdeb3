"""The files a citizen files with a dossier online, one row per file: the component it is for,
its name, type (sniffed from the content), size and sha256 (the bytes are in the file storage,
infra/storage.py). Owned by the dossier's agency, under row-level security like the dossier.

Revision ID: 0720_dossier_attachments
Revises: 0570_tightened_counting
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import enable_tenant_rls
from eiso.infra.tenant_columns import tenant_columns

revision = "0720_dossier_attachments"
down_revision = "0570_tightened_counting"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dossier_attachments",
        *tenant_columns("dossier_attachments"),
        sa.Column("dossier_id", sa.BigInteger, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("component_code", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_id", "dossier_id"],
            ["dossiers.province_id", "dossiers.id"],
            name="fk_dossier_attachments_dossier",
        ),
    )
    op.create_index(
        "ix_dossier_attachments_dossier", "dossier_attachments", ["dossier_id", "position"]
    )
    enable_tenant_rls(op, "dossier_attachments")


def downgrade() -> None:
    op.drop_index("ix_dossier_attachments_dossier", "dossier_attachments")
    op.drop_table("dossier_attachments")

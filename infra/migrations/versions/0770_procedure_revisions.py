"""A procedure's rule changes (issue 17, core API 1.5): the successor legal basis and the
rules it brings from its start date (`procedures.revisions`, `sdk.RuleChange` as JSON, oldest
first). The engine picks the rules in force at a dossier's receipt.

Revision ID: 0770_procedure_revisions
Revises: 0720_dossier_attachments
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0770_procedure_revisions"
down_revision = "0720_dossier_attachments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server default: rows written before, and raw inserts (the bench generator), get none.
    op.add_column(
        "procedures", sa.Column("revisions", sa.JSON, nullable=False, server_default="[]")
    )


def downgrade() -> None:
    op.drop_column("procedures", "revisions")

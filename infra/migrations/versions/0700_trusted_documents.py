"""Trusted GraphQL documents: the operations frontends registered, called by their sha256.
National data (one set for the whole deployment): no tenant columns, no row-level security.

Revision ID: 0700_trusted_documents
Revises: 0200_auth
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import grant

revision = "0700_trusted_documents"
down_revision = "0200_auth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trusted_documents",
        sa.Column("id", sa.String(64), primary_key=True),  # sha256 hex of `body`
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("operation_names", sa.String(1000), nullable=False),
        sa.Column("client", sa.String(100), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_trusted_documents_client", "trusted_documents", ["client"])
    grant(op, "trusted_documents", "SELECT, INSERT, UPDATE, DELETE")


def downgrade() -> None:
    op.drop_index("ix_trusted_documents_client", "trusted_documents")
    op.drop_table("trusted_documents")

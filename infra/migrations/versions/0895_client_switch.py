"""Integration clients a province's administrator can disable (issue 21, the province
console): `auth_clients.active`, true for every client there is.

Revision ID: 0895_client_switch
Revises: 0880_process_documents
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0895_client_switch"
down_revision = "0880_process_documents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "auth_clients",
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    )


def downgrade() -> None:
    with op.batch_alter_table("auth_clients") as batch:
        batch.drop_column("active")

"""Auth: revoked access tokens in the database, so a revocation survives Redis being down or
restarted empty.

Revision ID: 0210_auth_revoked_tokens
Revises: 0200_auth
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import grant

revision = "0210_auth_revoked_tokens"
down_revision = "0200_auth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_revoked_tokens",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_auth_revoked_tokens_expires_at", "auth_revoked_tokens", ["expires_at"])
    grant(op, "auth_revoked_tokens")


def downgrade() -> None:
    op.drop_table("auth_revoked_tokens")

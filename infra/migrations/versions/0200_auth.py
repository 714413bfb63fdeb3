"""Auth: users, OAuth2 clients, signing keys, refresh tokens, provincial identity providers.

Revision ID: 0200_auth
Revises: 0002_modules
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import grant

revision = "0200_auth"
down_revision = "0002_modules"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "auth_users",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("username", sa.String(150), nullable=False, unique=True),
        sa.Column("display_name", sa.String(300), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=True),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column(
            "province_id", sa.BigInteger, sa.ForeignKey("provinces.id"), nullable=True, index=True
        ),
        sa.Column("agency_id", sa.BigInteger, nullable=True),
        sa.Column("idp_issuer", sa.String(500), nullable=True),
        sa.Column("idp_subject", sa.String(255), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("idp_issuer", "idp_subject", name="uq_auth_users_idp"),
    )
    op.create_table(
        "auth_clients",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret_hash", sa.String(300), nullable=True),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("grant_types", sa.JSON, nullable=False),
        sa.Column("redirect_uris", sa.JSON, nullable=False),
        sa.Column("province_id", sa.BigInteger, sa.ForeignKey("provinces.id"), nullable=True),
        sa.Column("agency_id", sa.BigInteger, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "auth_signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("public_jwk", sa.JSON, nullable=False),
        sa.Column("private_jwk_encrypted", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("retired_at", TZ, nullable=True),
    )
    op.create_table(
        "auth_refresh_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False, index=True),
        sa.Column("user_id", sa.BigInteger, nullable=True, index=True),
        sa.Column("scope", sa.String(1000), nullable=False),
        sa.Column("issued_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
    )
    op.create_table(
        "auth_identity_providers",
        sa.Column("province_id", sa.BigInteger, sa.ForeignKey("provinces.id"), primary_key=True),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("metadata_url", sa.String(500), nullable=True),
        sa.Column("client_id", sa.String(200), nullable=False),
        sa.Column("client_secret_encrypted", sa.Text, nullable=False),
        sa.Column("scope", sa.String(500), nullable=False),
        sa.Column("claim_mapping", sa.JSON, nullable=False),
        sa.Column("default_role", sa.String(32), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    for table in ("auth_users", "auth_clients", "auth_refresh_tokens", "auth_identity_providers"):
        grant(op, table)
    # Keys are inserted and retired, never deleted by the app.
    grant(op, "auth_signing_keys", "SELECT, INSERT, UPDATE")


def downgrade() -> None:
    for table in (
        "auth_identity_providers",
        "auth_refresh_tokens",
        "auth_signing_keys",
        "auth_clients",
        "auth_users",
    ):
        op.drop_table(table)

"""Engine foundations: national calendar overrides, the audit hash chain, the event outbox.

Revision ID: 0400_engine_base
Revises: 0002_modules
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import app_role, enable_tenant_rls, grant
from eiso.infra.tenant_columns import tenant_columns

revision = "0400_engine_base"
down_revision = "0002_modules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_overrides",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("day", sa.Date, nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "audit_entries",
        *tenant_columns("audit_entries"),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("entity_type", sa.String(100), nullable=False),
        sa.Column("entity_id", sa.String(100), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("agency_id", "seq", name="uq_audit_entries_agency_seq"),
    )
    op.create_index("ix_audit_entries_entity", "audit_entries", ["entity_type", "entity_id"])
    op.create_table(
        "audit_heads",
        *tenant_columns("audit_heads"),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("province_id", sa.BigInteger, nullable=True),
        sa.Column("agency_id", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_outbox_unsent", "outbox", ["sent_at", "id"])
    grant(op, "calendar_overrides")
    # The chain is append-only for the application: no UPDATE, no DELETE.
    enable_tenant_rls(op, "audit_entries", privileges="SELECT, INSERT")
    # Append-only, except that a merge of provinces re-homes an agency's chain.
    if op.get_bind().dialect.name == "postgresql" and (role := app_role(op)):
        op.execute(f'GRANT UPDATE (province_id) ON audit_entries TO "{role}"')
    enable_tenant_rls(op, "audit_heads", privileges="SELECT, INSERT, UPDATE")
    grant(op, "outbox", "SELECT, INSERT, UPDATE, DELETE")


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("audit_heads")
    op.drop_table("audit_entries")
    op.drop_table("calendar_overrides")

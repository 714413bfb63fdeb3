"""Module storage: each module's keys and counters per province (core/plugins/storage.py, the
SDK's `module_store`). The province's own rows, as `module_activations`: row-level security
shows them to the province, its agencies and the nation. Never dropped when a module is
disabled (disabling keeps a module's data).

Revision ID: 0730_module_store
Revises: 0410_outbox_modules_rls
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import enable_tenant_rls, province_predicate

revision = "0730_module_store"
down_revision = "0410_outbox_modules_rls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "module_store",
        sa.Column("province_id", sa.BigInteger, sa.ForeignKey("provinces.id"), nullable=False),
        sa.Column("module", sa.String(64), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("value", sa.Text, nullable=True),
        sa.Column("counter", sa.BigInteger, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("province_id", "module", "key", name="pk_module_store"),
    )
    enable_tenant_rls(op, "module_store", predicate=province_predicate())


def downgrade() -> None:
    op.drop_table("module_store")

"""Review flags get a due date (issue 20): raised + N working days, N each province's setting
(`review_deadline_settings`, eiso's default without one). Flags raised before this revision
keep no due date (never shown overdue).

Revision ID: 0920_review_deadline
Revises: 0915_deferrable_keys
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import enable_tenant_rls, province_predicate

revision = "0920_review_deadline"
down_revision = "0915_deferrable_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("review_flags", sa.Column("due_on", sa.Date, nullable=True))
    op.create_table(
        "review_deadline_settings",
        sa.Column("province_id", sa.BigInteger, sa.ForeignKey("provinces.id"), primary_key=True),
        sa.Column("review_days", sa.Integer, nullable=False),
        sa.Column("changed_by", sa.String(200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    enable_tenant_rls(op, "review_deadline_settings", predicate=province_predicate())


def downgrade() -> None:
    op.drop_table("review_deadline_settings")
    with op.batch_alter_table("review_flags") as batch:
        batch.drop_column("due_on")

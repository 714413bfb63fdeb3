"""Conformity with a QMS scope (issue 20): each agency's scope (the procedures and activities
its QMS covers, with the last change that requires re-announcement), and on the announcement
who made it, the scope it covers and the notice to the province's DOST.

Revision ID: 0830_conformity_scope
Revises: 0820_feedback
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import enable_tenant_rls
from eiso.infra.tenant_columns import tenant_columns

revision = "0830_conformity_scope"
down_revision = "0820_feedback"
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "conformity_scopes",
        *tenant_columns("conformity_scopes"),
        sa.Column("procedures", sa.JSON, nullable=False),
        sa.Column("activities", sa.JSON, nullable=False),
        sa.Column("set_by", sa.String(200), nullable=False),
        sa.Column("set_at", _tz(), nullable=False),
        sa.Column("changed_at", _tz(), nullable=False),
        sa.Column("change_reason", sa.String(300), nullable=False),
        sa.UniqueConstraint("province_id", "agency_id", name="uq_conformity_scopes_agency"),
    )
    enable_tenant_rls(op, "conformity_scopes")
    op.add_column(
        "conformity_announcements", sa.Column("announced_by", sa.String(200), nullable=True)
    )
    op.add_column("conformity_announcements", sa.Column("announced_scope", sa.JSON, nullable=True))
    op.add_column("conformity_announcements", sa.Column("dost_notified_at", _tz(), nullable=True))
    op.add_column(
        "conformity_announcements", sa.Column("notice_event_id", sa.BigInteger, nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("conformity_announcements") as batch:
        for column in ("notice_event_id", "dost_notified_at", "announced_scope", "announced_by"):
            batch.drop_column(column)
    op.drop_table("conformity_scopes")

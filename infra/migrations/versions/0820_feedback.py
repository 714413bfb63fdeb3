"""Citizens' feedback and petitions (core/feedback): one row per submission, owned by the agency
it is about, under row-level security like the dossiers; and each province's answer deadline
(working days), seen by the nation, the province and its agencies.

Revision ID: 0820_feedback
Revises: 0770_procedure_revisions
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import enable_tenant_rls, province_predicate
from eiso.infra.tenant_columns import tenant_columns

revision = "0820_feedback"
down_revision = "0770_procedure_revisions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback_items",
        *tenant_columns("feedback_items"),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("lookup_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("procedure_code", sa.String(64), nullable=True),
        sa.Column("dossier_code", sa.String(64), nullable=True),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("contact_name", sa.String(200), nullable=True),
        sa.Column("contact_phone", sa.String(200), nullable=True),
        sa.Column("contact_email", sa.String(200), nullable=True),
        sa.Column("publish_consent", sa.Boolean, nullable=False),
        sa.Column("published", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer_days", sa.Integer, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assignee", sa.String(200), nullable=True),
        sa.Column("answer", sa.Text, nullable=True),
        sa.Column("answered_by", sa.String(200), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("on_time", sa.Boolean, nullable=True),
        sa.Column("rating", sa.Integer, nullable=True),
        sa.Column("rating_comment", sa.Text, nullable=True),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("uq_feedback_items_code", "feedback_items", ["code"], unique=True)
    op.create_index(
        "ix_feedback_items_due",
        "feedback_items",
        ["province_id", "agency_id", "state", "due_at"],
    )
    enable_tenant_rls(op, "feedback_items")
    op.create_table(
        "feedback_settings",
        sa.Column("province_id", sa.BigInteger, sa.ForeignKey("provinces.id"), primary_key=True),
        sa.Column("answer_days", sa.Integer, nullable=False),
        sa.Column("changed_by", sa.String(200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    enable_tenant_rls(op, "feedback_settings", predicate=province_predicate())


def downgrade() -> None:
    op.drop_table("feedback_settings")
    op.drop_index("ix_feedback_items_due", "feedback_items")
    op.drop_index("uq_feedback_items_code", "feedback_items")
    op.drop_table("feedback_items")

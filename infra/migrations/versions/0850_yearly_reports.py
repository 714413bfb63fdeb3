"""The yearly report as a workflow (core/qms/yearly_reports.py): each agency's report of a year
with its written parts, eiso's figures, its moves and reminders (tenant rows, row-level
security by agency), and each province's deadline setting (the province's own row, seen by the
province, its agencies and the nation).

Revision ID: 0850_yearly_reports
Revises: 0830_conformity_scope
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import enable_tenant_rls, province_predicate
from eiso.infra.tenant_columns import tenant_columns

revision = "0850_yearly_reports"
down_revision = "0830_conformity_scope"
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "yearly_reports",
        *tenant_columns("yearly_reports"),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        *(
            sa.Column(part, sa.Text, nullable=False)
            for part in (
                "scope",
                "procedures",
                "legal_updates",
                "difficulties",
                "proposals",
                "funding",
            )
        ),
        sa.Column("figures", sa.JSON, nullable=False),
        sa.Column("history", sa.JSON, nullable=False),
        sa.Column("reminders", sa.JSON, nullable=False),
        sa.Column("submitted_at", _tz(), nullable=True),
        sa.Column("accepted_at", _tz(), nullable=True),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
        sa.UniqueConstraint("province_id", "agency_id", "year", name="uq_yearly_reports_year"),
    )
    enable_tenant_rls(op, "yearly_reports")
    op.create_table(
        "yearly_report_settings",
        sa.Column(
            "province_id",
            sa.BigInteger,
            sa.ForeignKey("provinces.id"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("due_month", sa.Integer, nullable=False),
        sa.Column("due_day", sa.Integer, nullable=False),
        sa.Column("remind_days_before", sa.Integer, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
    )
    enable_tenant_rls(op, "yearly_report_settings", predicate=province_predicate())


def downgrade() -> None:
    op.drop_table("yearly_report_settings")
    op.drop_table("yearly_reports")

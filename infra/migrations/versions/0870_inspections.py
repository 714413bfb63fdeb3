"""The DOST's yearly inspection of ISO application and how each agency applies its QMS
(core/qms/inspections.py, core/qms/application.py): the province's plans, checklist and ISO
steering committee (province rows, seen by the province, its agencies and the nation); each
inspected agency's inspections and findings, QMS profile and training records (tenant rows,
row-level security by agency).

Revision ID: 0870_inspections
Revises: 0860_figure_rollups
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import enable_tenant_rls, province_predicate
from eiso.infra.tenant_columns import tenant_columns

revision = "0870_inspections"
down_revision = "0850_yearly_reports"
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _province_key() -> sa.Column:
    return sa.Column(
        "province_id",
        sa.BigInteger,
        sa.ForeignKey("provinces.id"),
        primary_key=True,
        autoincrement=False,
    )


def _stamp(who: str = "updated") -> list[sa.Column]:
    return [
        sa.Column(f"{who}_by", sa.String(200), nullable=False),
        sa.Column(f"{who}_at", _tz(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "inspection_plans",
        _province_key(),
        sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        *_stamp(),
    )
    op.create_table(
        "inspection_checklists",
        _province_key(),
        sa.Column("items", sa.JSON, nullable=False),
        *_stamp(),
    )
    op.create_table(
        "steering_members",
        _province_key(),
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("person", sa.String(200), nullable=False),
        sa.Column("committee_role", sa.String(200), nullable=False),
        sa.Column("agency_id", sa.BigInteger, nullable=True),
        sa.Column("since", sa.Date, nullable=False),
        sa.Column("until", sa.Date, nullable=True),
        *_stamp(),
    )
    op.create_table(
        "steering_meetings",
        _province_key(),
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("minutes", sa.Text, nullable=False),
        sa.Column("decisions", sa.JSON, nullable=False),
        *_stamp("created"),
    )
    for table in (
        "inspection_plans",
        "inspection_checklists",
        "steering_members",
        "steering_meetings",
    ):
        enable_tenant_rls(op, table, predicate=province_predicate())

    op.create_table(
        "inspections",
        *tenant_columns("inspections"),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("planned_on", sa.Date, nullable=False),
        sa.Column("inspectors", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("checklist", sa.JSON, nullable=False),
        sa.Column("conclusion", sa.Text, nullable=False),
        sa.Column("started_at", _tz(), nullable=True),
        sa.Column("concluded_at", _tz(), nullable=True),
        sa.Column("closed_at", _tz(), nullable=True),
        *_stamp(),
        sa.UniqueConstraint("province_id", "agency_id", "year", name="uq_inspections_year"),
    )
    op.create_table(
        "inspection_findings",
        *tenant_columns("inspection_findings"),
        sa.Column("inspection_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("item_code", sa.String(32), nullable=False),
        sa.Column("clause", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("nonconformity_id", sa.BigInteger, nullable=False),
        sa.Column("verified", sa.Boolean, nullable=False),
        sa.Column("verified_by", sa.String(200), nullable=True),
        sa.Column("verified_at", _tz(), nullable=True),
        sa.Column("verification_note", sa.Text, nullable=False),
        *_stamp("created"),
        sa.ForeignKeyConstraint(
            ["province_id", "inspection_id"],
            ["inspections.province_id", "inspections.id"],
            name="fk_inspection_findings_inspection",
        ),
    )
    op.create_table(
        "qms_profiles",
        *tenant_columns("qms_profiles"),
        sa.Column("standard", sa.String(32), nullable=False),
        sa.Column("upgraded_on", sa.Date, nullable=True),
        sa.Column("medium", sa.String(16), nullable=False),
        *_stamp(),
        sa.UniqueConstraint("province_id", "agency_id", name="uq_qms_profiles_agency"),
    )
    op.create_table(
        "training_records",
        *tenant_columns("training_records"),
        sa.Column("person", sa.String(200), nullable=False),
        sa.Column("position", sa.String(200), nullable=False),
        sa.Column("training", sa.String(500), nullable=False),
        sa.Column("provider", sa.String(300), nullable=False),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("evidence", sa.String(500), nullable=False),
        *_stamp("created"),
    )
    for table in ("inspections", "inspection_findings", "qms_profiles", "training_records"):
        enable_tenant_rls(op, table)


def downgrade() -> None:
    for table in (
        "training_records",
        "qms_profiles",
        "inspection_findings",
        "inspections",
        "steering_meetings",
        "steering_members",
        "inspection_checklists",
        "inspection_plans",
    ):
        op.drop_table(table)

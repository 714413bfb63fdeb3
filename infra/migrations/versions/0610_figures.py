"""Figures and objectives: what the engine stamps on a finished dossier (finished_at,
handling_days, on_time, late_since), the indexes the grouped aggregates use, and the quality
objectives table (clause 6.2).

Revision ID: 0610_figures
Revises: 0600_qms
Depends on: 0500_dossiers
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import enable_tenant_rls

revision = "0610_figures"
down_revision = "0600_qms"
branch_labels = None
depends_on = "0500_dossiers"

# The received-by-period aggregates use 0520's keyset indexes (agency or province, received_at, id).
INDEXES = {
    "ix_dossiers_province_finished": ["province_id", "finished_at"],
    "ix_dossiers_agency_finished": ["agency_id", "finished_at"],
}


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("handling_days", sa.Float, nullable=True))
        batch.add_column(sa.Column("on_time", sa.Boolean, nullable=True))
        batch.add_column(sa.Column("late_since", sa.DateTime(timezone=True), nullable=True))
    _backfill()
    for name, columns in INDEXES.items():
        op.create_index(name, "dossiers", columns)
    op.create_table(
        "objectives",
        sa.Column("province_id", sa.BigInteger, primary_key=True),
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        # empty: an objective of the whole province
        sa.Column("agency_id", sa.BigInteger, nullable=True, index=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("comparator", sa.String(16), nullable=False),
        sa.Column("target", sa.Float, nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("procedure_code", sa.String(32), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_id", "agency_id"],
            ["agencies.province_id", "agencies.id"],
            name="fk_objectives_agency",
        ),
        sa.ForeignKeyConstraint(["province_id"], ["provinces.id"], name="fk_objectives_province"),
    )
    op.create_index("ix_objectives_period", "objectives", ["province_id", "period_start"])
    enable_tenant_rls(op, "objectives")


def _backfill() -> None:
    """Dossiers finished before this revision: when, from their timeline, and whether on time.
    Their handling time needs the working-day calendar and stays empty (the figures' mean and
    p90 count only the dossiers that have one)."""
    op.execute(
        "UPDATE dossiers SET finished_at = (SELECT min(e.at) FROM dossier_events e"
        " WHERE e.province_id = dossiers.province_id AND e.dossier_id = dossiers.id"
        " AND e.to_status IN (3, 7, 8, 9)) WHERE status IN (3, 7, 8, 9, 10)"
    )
    op.execute(
        "UPDATE dossiers SET on_time = (NOT was_late AND appointment_at IS NOT NULL"
        " AND finished_at <= appointment_at) WHERE status IN (9, 10) AND finished_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("objectives")
    for name in INDEXES:
        op.drop_index(name, "dossiers")
    with op.batch_alter_table("dossiers") as batch:
        for column in ("late_since", "on_time", "handling_days", "finished_at"):
            batch.drop_column(column)

"""The dossier engine: procedure catalogue, adoptions, dossiers, their timeline, code counters.

Revision ID: 0500_dossiers
Revises: 0400_engine_base
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import enable_tenant_rls, grant
from eiso.infra.tenant_columns import tenant_columns

revision = "0500_dossiers"
down_revision = "0400_engine_base"
branch_labels = None
depends_on = None

TENANT_TABLES = ("procedure_adoptions", "dossiers", "dossier_events", "dossier_counters")


def upgrade() -> None:
    op.create_table(
        "procedures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("name_vi", sa.String(500), nullable=False),
        sa.Column("name_en", sa.String(500), nullable=False),
        sa.Column("sector", sa.String(100), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("time_limit_amount", sa.Integer, nullable=False),
        sa.Column("time_limit_unit", sa.String(16), nullable=False),
        sa.Column("cutoff", sa.String(8), nullable=True),
        sa.Column("steps", sa.JSON, nullable=False),
        sa.Column("components", sa.JSON, nullable=False),
        sa.Column("fee", sa.JSON, nullable=True),
        sa.Column("module", sa.String(63), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    grant(op, "procedures", "SELECT, INSERT, UPDATE")
    op.create_table(
        "procedure_adoptions",
        *tenant_columns("procedure_adoptions"),
        sa.Column("procedure_code", sa.String(32), nullable=False),
        sa.Column("time_limit_amount", sa.Integer, nullable=False),
        sa.Column("step_units", sa.JSON, nullable=False),
        sa.Column("adopted_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "agency_id", "procedure_code", name="uq_procedure_adoptions_agency_code"
        ),
    )
    op.create_table(
        "dossiers",
        *tenant_columns("dossiers"),
        sa.Column("code", sa.String(80), nullable=False, unique=True),
        sa.Column("lookup_hash", sa.String(64), nullable=False),
        sa.Column("procedure_code", sa.String(32), nullable=False, index=True),
        sa.Column("applicant", sa.JSON, nullable=False),
        sa.Column("sector_data", sa.JSON, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("current_step", sa.Integer, nullable=False),
        sa.Column("assignee", sa.String(200), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("appointment_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pauses", sa.JSON, nullable=False),
        sa.Column("supplement_count", sa.Integer, nullable=False),
        sa.Column("was_late", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("input_hash", sa.String(64), nullable=True),
        sa.Column("rating", sa.Integer, nullable=True),
        sa.Column("rating_comment", sa.String(2000), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("agency_id", "idempotency_key", name="uq_dossiers_agency_idempotency"),
    )
    op.create_index("ix_dossiers_agency_status", "dossiers", ["agency_id", "status", "received_at"])
    op.create_table(
        "dossier_events",
        *tenant_columns("dossier_events"),
        sa.Column("dossier_id", sa.BigInteger, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("from_status", sa.Integer, nullable=True),
        sa.Column("to_status", sa.Integer, nullable=False),
        sa.Column("note", sa.String(2000), nullable=False),
    )
    op.create_index("ix_dossier_events_dossier", "dossier_events", ["dossier_id", "at"])
    op.create_table(
        "dossier_counters",
        *tenant_columns("dossier_counters"),
        sa.Column("day", sa.String(6), nullable=False),
        sa.Column("last", sa.Integer, nullable=False),
        sa.UniqueConstraint("agency_id", "day", name="uq_dossier_counters_agency_day"),
    )
    for table in TENANT_TABLES:
        enable_tenant_rls(op, table)


def downgrade() -> None:
    for table in reversed(("procedures", *TENANT_TABLES)):
        op.drop_table(table)

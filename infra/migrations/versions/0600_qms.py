"""QMS improvement loop: documents and versions (7.5), nonconformities (10.2), risks (6.1),
internal audits (9.2).

Revision ID: 0600_qms
Revises: 0400_engine_base
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import enable_tenant_rls
from eiso.infra.tenant_columns import tenant_columns

revision = "0600_qms"
down_revision = "0400_engine_base"
branch_labels = None
depends_on = None

TABLES = [
    "documents",
    "document_versions",
    "document_acknowledgements",
    "nonconformities",
    "risks",
    "audit_programmes",
    "audit_plans",
    "audit_checklist_items",
    "audit_findings",
]


def _parent(table: str, name: str, column: str, parent: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["province_id", column], [f"{parent}.province_id", f"{parent}.id"], name=name
    )


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "documents",
        *tenant_columns("documents"),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("is_model", sa.Boolean, nullable=False),
        sa.Column("model_version_id", sa.BigInteger, nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.UniqueConstraint("province_id", "agency_id", "code", name="uq_documents_agency_code"),
    )
    op.create_index("ix_documents_model_version", "documents", ["province_id", "model_version_id"])
    op.create_table(
        "document_versions",
        *tenant_columns("document_versions"),
        sa.Column("document_id", sa.BigInteger, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("attachment_sha256", sa.String(64), nullable=True),
        sa.Column("attachment_name", sa.String(300), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("approved_by", sa.String(200), nullable=True),
        sa.Column("approved_at", _tz(), nullable=True),
        sa.Column("effective_at", _tz(), nullable=True),
        sa.Column("obsolete_at", _tz(), nullable=True),
        _parent("document_versions", "fk_document_versions_document", "document_id", "documents"),
        sa.UniqueConstraint(
            "province_id", "document_id", "number", name="uq_document_versions_number"
        ),
    )
    op.create_table(
        "document_acknowledgements",
        *tenant_columns("document_acknowledgements"),
        sa.Column("version_id", sa.BigInteger, nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("at", _tz(), nullable=False),
        _parent(
            "document_acknowledgements",
            "fk_document_acknowledgements_version",
            "version_id",
            "document_versions",
        ),
        sa.UniqueConstraint(
            "province_id", "version_id", "subject", name="uq_document_acknowledgements"
        ),
    )
    op.create_table(
        "nonconformities",
        *tenant_columns("nonconformities"),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("source_ref", sa.String(100), nullable=True),
        sa.Column("procedure_code", sa.String(64), nullable=True),
        sa.Column("step", sa.String(100), nullable=True),
        sa.Column("officer", sa.String(200), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("root_cause", sa.Text, nullable=True),
        sa.Column("corrective_action", sa.Text, nullable=True),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("due_date", sa.Date, nullable=True),
        sa.Column("effectiveness_result", sa.Text, nullable=True),
        sa.Column("effective", sa.Boolean, nullable=True),
        sa.Column("checked_by", sa.String(200), nullable=True),
        sa.Column("checked_at", _tz(), nullable=True),
        sa.Column("raised_by", sa.String(200), nullable=False),
        sa.Column("raised_at", _tz(), nullable=False),
        sa.Column("closed_at", _tz(), nullable=True),
    )
    op.create_table(
        "risks",
        *tenant_columns("risks"),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("likelihood", sa.Integer, nullable=False),
        sa.Column("impact", sa.Integer, nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("treatment", sa.Text, nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("review_date", sa.Date, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
    )
    op.create_table(
        "audit_programmes",
        *tenant_columns("audit_programmes"),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.UniqueConstraint("province_id", "agency_id", "year", name="uq_audit_programmes_year"),
    )
    op.create_table(
        "audit_plans",
        *tenant_columns("audit_plans"),
        sa.Column("programme_id", sa.BigInteger, nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("auditors", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        _parent("audit_plans", "fk_audit_plans_programme", "programme_id", "audit_programmes"),
    )
    op.create_table(
        "audit_checklist_items",
        *tenant_columns("audit_checklist_items"),
        sa.Column("plan_id", sa.BigInteger, nullable=False),
        sa.Column("clause", sa.String(16), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        _parent("audit_checklist_items", "fk_audit_checklist_items_plan", "plan_id", "audit_plans"),
    )
    op.create_table(
        "audit_findings",
        *tenant_columns("audit_findings"),
        sa.Column("plan_id", sa.BigInteger, nullable=False),
        sa.Column("clause", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("nonconformity_id", sa.BigInteger, nullable=True),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", _tz(), nullable=False),
        _parent("audit_findings", "fk_audit_findings_plan", "plan_id", "audit_plans"),
    )
    for table in TABLES:
        # Nonconformities are never deleted: the application may not DELETE them at all.
        privileges = (
            "SELECT, INSERT, UPDATE"
            if table == "nonconformities"
            else "SELECT, INSERT, UPDATE, DELETE"
        )
        enable_tenant_rls(op, table, privileges=privileges)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)

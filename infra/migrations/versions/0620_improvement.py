"""The improvement loop: nonconformities raised by the dossier engine (one per dossier and
cause), legal bases with versions and the review flags they raise, conformity announcements,
management reviews with their actions.

Revision ID: 0620_improvement
Revises: 0600_qms
Depends on: 0500_dossiers
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import enable_tenant_rls, grant
from eiso.infra.tenant_columns import tenant_columns

revision = "0620_improvement"
down_revision = "0600_qms"
branch_labels = None
depends_on = "0500_dossiers"

TENANT_TABLES = ["review_flags", "conformity_announcements", "management_reviews", "review_actions"]
GLOBAL_TABLES = ["legal_basis_versions", "procedure_legal_bases"]


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _global_tables() -> None:
    op.create_table(
        "legal_basis_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("valid_from", sa.Date, nullable=True),
        sa.Column("valid_until", sa.Date, nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("entered_by", sa.String(200), nullable=False),
        sa.Column("entered_at", _tz(), nullable=False),
        sa.UniqueConstraint("reference", "version", name="uq_legal_basis_versions"),
    )
    op.create_table(
        "procedure_legal_bases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("procedure_code", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.UniqueConstraint("procedure_code", "reference", name="uq_procedure_legal_bases"),
    )
    op.create_index("ix_procedure_legal_bases_reference", "procedure_legal_bases", ["reference"])


def _tenant_tables() -> None:
    op.create_table(
        "review_flags",
        *tenant_columns("review_flags"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("legal_version", sa.Integer, nullable=False),
        sa.Column("raised_at", _tz(), nullable=False),
        sa.Column("reviewed_by", sa.String(200), nullable=True),
        sa.Column("reviewed_at", _tz(), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.UniqueConstraint(
            "province_id",
            "agency_id",
            "kind",
            "subject",
            "reference",
            "legal_version",
            name="uq_review_flags",
        ),
    )
    op.create_table(
        "conformity_announcements",
        *tenant_columns("conformity_announcements"),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("building_since", sa.Date, nullable=True),
        sa.Column("announced_on", sa.Date, nullable=True),
        sa.Column("decision_number", sa.String(100), nullable=True),
        sa.Column("reannounce_since", sa.Date, nullable=True),
        sa.Column("reannounce_reason", sa.String(300), nullable=True),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
        sa.UniqueConstraint("province_id", "agency_id", name="uq_conformity_announcements_agency"),
    )
    op.create_table(
        "management_reviews",
        *tenant_columns("management_reviews"),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("chaired_by", sa.String(200), nullable=False),
        sa.Column("risk_threshold", sa.Integer, nullable=False),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("conclusions", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
    )
    op.create_table(
        "review_actions",
        *tenant_columns("review_actions"),
        sa.Column("review_id", sa.BigInteger, nullable=False),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("done_by", sa.String(200), nullable=True),
        sa.Column("done_at", _tz(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_id", "review_id"],
            ["management_reviews.province_id", "management_reviews.id"],
            name="fk_review_actions_review",
        ),
    )


def upgrade() -> None:
    op.add_column("nonconformities", sa.Column("cause", sa.String(32), nullable=True))
    # One nonconformity per dossier (its code in source_ref) per cause; NULL causes never clash.
    op.create_index(
        "uq_nonconformities_cause",
        "nonconformities",
        ["province_id", "source_ref", "cause"],
        unique=True,
    )
    op.add_column("documents", sa.Column("legal_reference", sa.String(100), nullable=True))
    op.create_index("ix_documents_legal_reference", "documents", ["legal_reference"])
    _global_tables()
    _tenant_tables()
    for table in GLOBAL_TABLES:
        grant(op, table, "SELECT, INSERT, UPDATE")
    for table in TENANT_TABLES:
        enable_tenant_rls(op, table)


def downgrade() -> None:
    for table in reversed([*GLOBAL_TABLES, *TENANT_TABLES]):
        op.drop_table(table)
    op.drop_index("ix_documents_legal_reference", "documents")
    op.drop_index("uq_nonconformities_cause", "nonconformities")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("legal_reference")
    with op.batch_alter_table("nonconformities") as batch:
        batch.drop_column("cause")

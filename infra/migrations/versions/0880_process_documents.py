"""The ISO process documents generated from adopted procedures (issue 20, core/qms/
process_docs.py): what each generated version of a process document says (its spec) and the
digest that tells when the procedure or its rules changed.

Revision ID: 0880_process_documents
Revises: 0870_inspections
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import enable_tenant_rls
from eiso.infra.tenant_columns import tenant_columns

revision = "0880_process_documents"
down_revision = "0870_inspections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "process_document_sources",
        *tenant_columns("process_document_sources"),
        sa.Column("document_id", sa.BigInteger, nullable=False),
        sa.Column("version_id", sa.BigInteger, nullable=False),
        sa.Column("procedure_code", sa.String(32), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_id", "version_id"],
            ["document_versions.province_id", "document_versions.id"],
            name="fk_process_document_sources_version",
        ),
        sa.UniqueConstraint(
            "province_id", "version_id", name="uq_process_document_sources_version"
        ),
    )
    op.create_index(
        "ix_process_document_sources_procedure",
        "process_document_sources",
        ["province_id", "procedure_code"],
    )
    enable_tenant_rls(op, "process_document_sources")


def downgrade() -> None:
    op.drop_table("process_document_sources")

"""Counting rules as data (issue 17): a procedure's clock stops, extensions and supplements per
stage (`procedures.counting`); a dossier's recorded extensions and its apology slip (once, and
whether it was late); a dossier's nonconformity per cause is now one per agency (each stage of
an interlinked dossier has its own).

Revision ID: 0560_counting_rules
Revises: 0550_dossier_code_search_scoped
Depends on: 0610_figures, 0620_improvement
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0560_counting_rules"
down_revision = "0550_dossier_code_search_scoped"
branch_labels = None
depends_on = ("0610_figures", "0620_improvement")  # late_since, nonconformities


def upgrade() -> None:
    # Server defaults: rows written before, and raw inserts (the bench generator), get them.
    op.add_column("procedures", sa.Column("counting", sa.JSON, nullable=False, server_default="{}"))
    op.add_column("dossiers", sa.Column("extensions", sa.JSON, nullable=False, server_default="[]"))
    op.add_column("dossiers", sa.Column("apology_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "dossiers",
        sa.Column("apology_late", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.drop_index("uq_nonconformities_cause", "nonconformities")
    op.create_index(
        "uq_nonconformities_cause",
        "nonconformities",
        ["province_id", "agency_id", "source_ref", "cause"],
        unique=True,
    )
    # Dossiers that already have an apology (was_late set by the old record_apology).
    op.execute(
        "UPDATE dossiers SET apology_at = updated_at WHERE was_late AND late_since IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("uq_nonconformities_cause", "nonconformities")
    op.create_index(
        "uq_nonconformities_cause",
        "nonconformities",
        ["province_id", "source_ref", "cause"],
        unique=True,
    )
    op.drop_column("dossiers", "apology_late")
    op.drop_column("dossiers", "apology_at")
    op.drop_column("dossiers", "extensions")
    op.drop_column("procedures", "counting")

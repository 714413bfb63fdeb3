"""Indexes for the `dossiers` page on a million rows: keyset on (received_at, id) per agency
and per province, with a status, for the late filter (partial), and a code search that
ignores case.

Revision ID: 0520_dossier_indexes
Revises: 0500_dossiers
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0520_dossier_indexes"
down_revision = "0500_dossiers"
branch_labels = None
depends_on = None

LATE_INDEX_WHERE = "was_late OR status IN (1, 2, 4, 6)"  # = core.dossiers.models.LATE_INDEX_WHERE


def upgrade() -> None:
    op.create_index("ix_dossiers_agency_received", "dossiers", ["agency_id", "received_at", "id"])
    op.create_index("ix_dossiers_province_received", "dossiers", ["province_id", "received_at", "id"])
    op.create_index("ix_dossiers_province_status", "dossiers", ["province_id", "status", "received_at", "id"])
    op.create_index("ix_dossiers_agency_late", "dossiers", ["agency_id", "received_at", "id"],
                    postgresql_where=sa.text(LATE_INDEX_WHERE), sqlite_where=sa.text(LATE_INDEX_WHERE))
    op.create_index("ix_dossiers_code_lower", "dossiers", [sa.func.lower(sa.text("code")).label("code_lower")],
                    postgresql_ops={"code_lower": "text_pattern_ops"})


def downgrade() -> None:
    for name in ("ix_dossiers_code_lower", "ix_dossiers_agency_late", "ix_dossiers_province_status",
                 "ix_dossiers_province_received", "ix_dossiers_agency_received"):
        op.drop_index(name, table_name="dossiers")

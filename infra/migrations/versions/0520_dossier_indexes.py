"""Indexes for the `dossiers` page on a million rows: keyset on (received_at, id) per agency
and per province, alone, with a status, with a procedure, and for the late filter (partial).
No index for the code search: under row-level security PostgreSQL may not use one for
lower(code) LIKE (neither lower() nor LIKE is leakproof), so it would only cost writes.

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
    # ix_dossiers_agency_received leads with agency_id; the index on agency_id alone only
    # misleads the planner (under RLS it sorts a whole agency rather than read 51 rows).
    op.drop_index("ix_dossiers_agency_id", table_name="dossiers")
    op.create_index("ix_dossiers_agency_received", "dossiers", ["agency_id", "received_at", "id"])
    op.create_index(
        "ix_dossiers_province_received", "dossiers", ["province_id", "received_at", "id"]
    )
    op.create_index(
        "ix_dossiers_province_status", "dossiers", ["province_id", "status", "received_at", "id"]
    )
    op.create_index(
        "ix_dossiers_agency_procedure",
        "dossiers",
        ["agency_id", "procedure_code", "received_at", "id"],
    )
    op.create_index(
        "ix_dossiers_province_procedure",
        "dossiers",
        ["province_id", "procedure_code", "received_at", "id"],
    )
    for scope in ("agency", "province"):
        op.create_index(
            f"ix_dossiers_{scope}_late",
            "dossiers",
            [f"{scope}_id", "received_at", "id"],
            postgresql_where=sa.text(LATE_INDEX_WHERE),
            sqlite_where=sa.text(LATE_INDEX_WHERE),
        )


def downgrade() -> None:
    for name in (
        "ix_dossiers_province_late",
        "ix_dossiers_agency_late",
        "ix_dossiers_province_procedure",
        "ix_dossiers_agency_procedure",
        "ix_dossiers_province_status",
        "ix_dossiers_province_received",
        "ix_dossiers_agency_received",
    ):
        op.drop_index(name, table_name="dossiers")
    op.create_index("ix_dossiers_agency_id", "dossiers", ["agency_id"])

"""The dossier code search of a province or an agency in one index range: `(province_id,
code_folded)` and `(agency_id, code_folded)` with `text_pattern_ops`. With the code index
alone, PostgreSQL ANDed its bitmap with the province's whole index (268,000 entries for
1,900 matches: 4 ms of a 5 ms page); the nation's search keeps `ix_dossiers_code_folded`.

Revision ID: 0550_dossier_code_search_scoped
Revises: 0540_dossier_code_search
Create Date: 2026-12-05
"""

from alembic import op

revision = "0550_dossier_code_search_scoped"
down_revision = "0540_dossier_code_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column in ("province_id", "agency_id"):
        op.create_index(
            f"ix_dossiers_{column.removesuffix('_id')}_code",
            "dossiers",
            [column, "code_folded"],
            postgresql_ops={"code_folded": "text_pattern_ops"},
        )


def downgrade() -> None:
    for name in ("ix_dossiers_province_code", "ix_dossiers_agency_code"):
        op.drop_index(name, table_name="dossiers")

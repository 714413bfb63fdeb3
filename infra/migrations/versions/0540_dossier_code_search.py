"""The dossier code search served by an index under row-level security: a computed
`code_folded` (lower(code)) with a `text_pattern_ops` index, compared as a prefix range with
the leakproof pattern operators (infra/index_conditions.py) instead of `lower(code) LIKE`, which
PostgreSQL may only apply row by row after the policy.

Revision ID: 0540_dossier_code_search
Revises: 0530_dossier_sharing
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0540_dossier_code_search"
down_revision = "0530_dossier_sharing"
branch_labels = None
depends_on = None

CODE_FOLDED = "lower(code)"  # = core.dossiers.models.CODE_FOLDED


def upgrade() -> None:
    # Stored on PostgreSQL (indexed); SQLite can only add a virtual one.
    persisted = True if op.get_bind().dialect.name == "postgresql" else None
    op.add_column(
        "dossiers",
        sa.Column(
            "code_folded",
            sa.String(80),
            sa.Computed(CODE_FOLDED, persisted=persisted),
            nullable=True,
        ),
    )
    op.create_index(
        "ix_dossiers_code_folded",
        "dossiers",
        ["code_folded"],
        postgresql_ops={"code_folded": "text_pattern_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_dossiers_code_folded", table_name="dossiers")
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("code_folded")

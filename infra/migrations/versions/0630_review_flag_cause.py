"""Review flags carry their cause: the basis changed, or the version in force expired
(`valid_until` passed). Both can concern the same version, so the cause joins the unique key.

Revision ID: 0630_review_flag_cause
Revises: 0620_improvement
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0630_review_flag_cause"
down_revision = "0620_improvement"
branch_labels = None
depends_on = None

KEY = ["province_id", "agency_id", "kind", "subject", "reference", "legal_version"]


def upgrade() -> None:
    # Batch mode: SQLite rebuilds the table to change a constraint; PostgreSQL alters in place.
    with op.batch_alter_table("review_flags") as batch:
        batch.add_column(
            sa.Column("cause", sa.String(16), nullable=False, server_default="changed")
        )
        batch.drop_constraint("uq_review_flags", type_="unique")
        batch.create_unique_constraint("uq_review_flags", [*KEY, "cause"])


def downgrade() -> None:
    op.execute("DELETE FROM review_flags WHERE cause = 'expired'")
    with op.batch_alter_table("review_flags") as batch:
        batch.drop_constraint("uq_review_flags", type_="unique")
        batch.create_unique_constraint("uq_review_flags", KEY)
        batch.drop_column("cause")

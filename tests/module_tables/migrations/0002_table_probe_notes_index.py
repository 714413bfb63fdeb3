"""An index on the notes of a province (a module's second revision chains on its first).

Revision ID: 0002_table_probe_notes_index
Revises: 0001_table_probe_notes
Create Date: 2026-12-06
"""

from alembic import op

revision = "0002_table_probe_notes_index"
down_revision = "0001_table_probe_notes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_table_probe_notes_province", "table_probe_notes", ["province_id"])


def downgrade() -> None:
    op.drop_index("ix_table_probe_notes_province", "table_probe_notes")

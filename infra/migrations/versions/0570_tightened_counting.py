"""A province tightens a procedure's counting rules through its agencies' adoptions (issue 17):
an earlier cut-off and fewer supplement requests per stage, kept on the dossier at receipt
(the agencies of later steps cannot read the adoption). None: the procedure's own rule.

Revision ID: 0570_tightened_counting
Revises: 0560_counting_rules
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0570_tightened_counting"
down_revision = "0560_counting_rules"
branch_labels = None
depends_on = None

TABLES = ("procedure_adoptions", "dossiers")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("cutoff", sa.String(8), nullable=True))
        op.add_column(table, sa.Column("supplements_per_stage", sa.Integer, nullable=True))


def downgrade() -> None:
    for table in TABLES:
        op.drop_column(table, "supplements_per_stage")
        op.drop_column(table, "cutoff")

"""The name of the unit that receives an agency's dossiers (printed on the one-stop slips).

Revision ID: 0110_agency_receiving_unit
Revises: 0100_tenancy
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0110_agency_receiving_unit"
down_revision = "0100_tenancy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("agencies", sa.Column("receiving_unit_name", sa.String(300), nullable=True))


def downgrade() -> None:
    op.drop_column("agencies", "receiving_unit_name")

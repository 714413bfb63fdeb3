"""Dossiers handed over on Citus (issue 23): `dossiers.handed_to`, the agencies a step of the
dossier was handed over to (its steps with `handed_over`), kept by the engine with each
hand-over, filled here for the dossiers handed over before.

On a single PostgreSQL the dossiers policy keeps reading dossier_steps (0530). Citus refuses a
policy that reads another table, so `eiso db upgrade` on Citus (infra/citus) writes the
hand-over arm of the dossiers policy with this column instead, and the check of dossier_steps
(the sender inserts the receiver's step) with the step's `from_agency_id`: the receiving
agency sees the dossier there too.

Revision ID: 0899_scope_province
Revises: 0895_client_switch
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0899_scope_province"
down_revision = "0895_client_switch"
branch_labels = None
depends_on = None

# Every dossier with a handed-over step, read under the nation scope (forced row-level
# security applies to the owner too; SET LOCAL so that Citus's workers see it as well).
_BACKFILL = """
UPDATE dossiers d SET handed_to = ARRAY(
  SELECT DISTINCT s.agency_id FROM dossier_steps s
  WHERE s.province_id = d.province_id AND s.dossier_id = d.id AND s.handed_over ORDER BY 1)
WHERE EXISTS (SELECT 1 FROM dossier_steps s
              WHERE s.province_id = d.province_id AND s.dossier_id = d.id AND s.handed_over)
"""


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column(
        "dossiers",
        sa.Column(
            "handed_to",
            postgresql.ARRAY(sa.BigInteger) if postgres else sa.JSON,
            nullable=False,
            server_default=sa.text("'{}'" if postgres else "'[]'"),
        ),
    )
    if not postgres:
        return  # no row-level security reads it on SQLite; the engine keeps it from now on
    citus = op.get_bind().exec_driver_sql("select current_setting('citus.version', true)")
    if citus.scalar() is not None:
        op.execute("SET LOCAL citus.propagate_set_commands = 'local'")
    op.execute("SET LOCAL eiso.scope = 'nation'")
    op.execute(_BACKFILL)
    op.execute("SET LOCAL eiso.scope = ''")


def downgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("handed_to")

"""Dossiers handed over to other agencies, found from an index: the steps an agency received
from another get a computed `handed_over` (`from_agency_id <> agency_id`: a column, so the
statistics know how rare it is) and a partial index, and the dossiers policy
looks the handed-over ids up by primary key (`id = ANY (ARRAY(...))`, an init-plan evaluated
only for rows the caller does not own) instead of hashing every step of the agency.

Revision ID: 0530_dossier_sharing
Revises: 0510_transfer
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.rls import scope_ids, scope_predicate, scope_setting

revision = "0530_dossier_sharing"
down_revision = "0510_transfer"
branch_labels = None
depends_on = None

HANDED_OVER = "from_agency_id <> agency_id"  # = core.dossiers.models.HANDED_OVER


def _policy(shared: str) -> None:
    predicate = scope_predicate()
    op.execute("DROP POLICY tenant_scope ON dossiers")
    op.execute(
        f"CREATE POLICY tenant_scope ON dossiers USING (({predicate}) OR {shared}) "
        f"WITH CHECK (({predicate}) OR {shared})"
    )


def upgrade() -> None:
    # Stored on PostgreSQL (the partial index needs it); SQLite can only add a virtual one.
    persisted = True if op.get_bind().dialect.name == "postgresql" else None
    op.add_column(
        "dossier_steps",
        sa.Column(
            "handed_over", sa.Boolean, sa.Computed(HANDED_OVER, persisted=persisted), nullable=True
        ),
    )
    op.create_index(
        "ix_dossier_steps_handed",
        "dossier_steps",
        ["agency_id", "dossier_id"],
        postgresql_where=sa.text("handed_over"),
        sqlite_where=sa.text("handed_over = 1"),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    # The casts sit inside the sub-select: `agency_id = ANY (<bigint[]>)` is leakproof, so the
    # partial index serves it under dossier_steps' own policy.
    _policy(
        f"({scope_setting('scope')} = 'agencies' "
        f"AND province_id = ANY ({scope_ids('province_ids')}) "
        f"AND id = ANY (ARRAY(SELECT s.dossier_id FROM dossier_steps s WHERE s.handed_over "
        f"AND s.agency_id = ANY ({scope_ids('agency_ids')}))))"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _policy(
            "(province_id, id) IN (SELECT s.province_id, s.dossier_id FROM dossier_steps s WHERE "
            f"{scope_setting('scope')} = 'agencies' AND s.agency_id = ANY "
            f"({scope_ids('agency_ids')}))"
        )
    op.drop_index("ix_dossier_steps_handed", table_name="dossier_steps")
    with op.batch_alter_table("dossier_steps") as batch:
        batch.drop_column("handed_over")

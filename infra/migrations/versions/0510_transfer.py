"""Cross-agency transfer: a dossier's steps, each owned by the agency that holds it; the
dossier's common part shared with those agencies; the adoption's step → agency map. Also
the values a live dossier holds unique at its agency (`dossier_keys`).

Revision ID: 0510_transfer
Revises: 0500_dossiers
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from eiso.infra.ids import new_id
from eiso.infra.rls import enable_tenant_rls, grant, scope_predicate
from eiso.infra.tenant_columns import tenant_columns

revision = "0510_transfer"
down_revision = "0500_dossiers"
branch_labels = None
depends_on = None

# plpgsql, never inlined: the function's query runs under the caller's row-level security on
# dossiers (PostgreSQL would refuse a policy of dossier_steps reading dossiers through a
# sub-select while the dossiers policy reads dossier_steps: recursion).
_VISIBLE = """
CREATE FUNCTION eiso_dossier_visible(p bigint, d bigint) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN EXISTS (SELECT 1 FROM dossiers WHERE province_id = p AND id = d);
END $$"""


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _json_column(name: str) -> sa.Column:
    return sa.Column(name, sa.JSON, nullable=False, server_default=sa.text("'{}'"))


def upgrade() -> None:
    op.add_column("procedure_adoptions", _json_column("step_agencies"))
    op.add_column("dossiers", _json_column("step_agencies"))
    op.add_column("dossiers", sa.Column("time_limit_amount", sa.Integer, nullable=True))
    op.create_table(
        "dossier_steps",
        *tenant_columns("dossier_steps"),
        sa.Column("dossier_id", sa.BigInteger, nullable=False),
        sa.Column("step_index", sa.Integer, nullable=False),
        sa.Column("step_code", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sector_data", sa.JSON, nullable=False),
        sa.Column("from_agency_id", sa.BigInteger, nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(
            ["province_id", "dossier_id"],
            ["dossiers.province_id", "dossiers.id"],
            name="fk_dossier_steps_dossier",
        ),
        sa.UniqueConstraint(
            "province_id", "dossier_id", "step_index", name="uq_dossier_steps_dossier_index"
        ),
    )
    op.create_table(
        "dossier_keys",
        *tenant_columns("dossier_keys"),
        sa.Column("namespace", sa.String(64), nullable=False),
        sa.Column("value", sa.String(500), nullable=False),
        sa.Column("dossier_id", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["province_id", "dossier_id"],
            ["dossiers.province_id", "dossiers.id"],
            name="fk_dossier_keys_dossier",
        ),
        sa.UniqueConstraint("agency_id", "namespace", "value", name="uq_dossier_keys_agency_value"),
    )
    enable_tenant_rls(op, "dossier_keys")
    _backfill()
    if not _postgres():
        return
    predicate = scope_predicate()
    op.execute(_VISIBLE)
    op.execute("ALTER TABLE dossier_steps ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE dossier_steps FORCE ROW LEVEL SECURITY")
    # Read and change: the step's own agency. Insert also: the agency handing the dossier over.
    op.execute(
        f"CREATE POLICY tenant_scope ON dossier_steps USING ({predicate}) "
        f"WITH CHECK (({predicate}) OR eiso_dossier_visible(province_id, dossier_id))"
    )
    op.execute("DROP POLICY tenant_scope ON dossiers")
    # Uncorrelated: evaluated once per statement (a hashed sub-plan), not once per row.
    # The cast sits inside the sub-select: `agency_id = ANY (<bigint[] parameter>)` is leakproof,
    # so PostgreSQL may use the agency_id index under dossier_steps' own policy.
    shared = (
        "(province_id, id) IN (SELECT s.province_id, s.dossier_id FROM dossier_steps s WHERE "
        "(select current_setting('eiso.scope', true)) = 'agencies' AND s.agency_id = ANY "
        "((select string_to_array(current_setting('eiso.agency_ids', true), ',')::bigint[])"
        "::bigint[]))"
    )
    op.execute(
        f"CREATE POLICY tenant_scope ON dossiers USING (({predicate}) OR {shared}) "
        f"WITH CHECK (({predicate}) OR {shared})"
    )
    grant(op, "dossier_steps")


def _backfill() -> None:
    """Dossiers received before this revision: their current step, held by their agency."""
    bind = op.get_bind()
    dossiers = bind.execute(
        sa.text(
            "select province_id, id, agency_id, current_step, received_at, procedure_code"
            " from dossiers"
        )
    ).all()
    procedures = sa.table("procedures", sa.column("code"), sa.column("steps", sa.JSON))
    codes = {
        code: [s.get("code") for s in steps or []]
        for code, steps in bind.execute(sa.select(procedures.c.code, procedures.c.steps)).all()
    }
    steps = sa.table(
        "dossier_steps",
        *(
            sa.column(c)
            for c in (
                "province_id",
                "id",
                "agency_id",
                "dossier_id",
                "step_index",
                "step_code",
                "status",
                "started_at",
            )
        ),
        sa.column("sector_data", sa.JSON),
    )
    rows = []
    for p, d, a, i, at, procedure in dossiers:
        names = codes.get(procedure, [])
        rows.append(
            {
                "province_id": p,
                "id": new_id(),
                "agency_id": a,
                "dossier_id": d,
                "step_index": i,
                "step_code": names[i] if i < len(names) else str(i),
                "status": "active",
                "sector_data": {},
                "started_at": at,
            }
        )
    if rows:
        op.bulk_insert(steps, rows)


def downgrade() -> None:
    if _postgres():
        op.execute("DROP POLICY tenant_scope ON dossiers")
        predicate = scope_predicate()
        op.execute(
            f"CREATE POLICY tenant_scope ON dossiers USING ({predicate}) WITH CHECK ({predicate})"
        )
    op.drop_table("dossier_keys")
    op.drop_table("dossier_steps")
    if _postgres():
        op.execute("DROP FUNCTION eiso_dossier_visible(bigint, bigint)")
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("time_limit_amount")
        batch.drop_column("step_agencies")
    with op.batch_alter_table("procedure_adoptions") as batch:
        batch.drop_column("step_agencies")

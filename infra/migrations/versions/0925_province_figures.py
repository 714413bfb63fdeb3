"""The figures' rollups summed over a province's agencies (core/qms/rollups.py, issue 21's
dashboard): `province_counters` keyed (province_id, grain, day, procedure_code) and
`province_histograms` with the bucket besides, what the groupings above an agency read (a
province of 250 agencies: a 250th of the rows). Filled from `figure_counters` and
`figure_histograms` with a GROUP BY (no dossier read), as `eiso qms rollups rebuild` does.

Row-level security: the nation and the province read and write them; a scope of agencies
writes its provinces' rows (every move adds to them in the statement of its agency rows) and
sees them too, but the application reads them only for the nation and province scopes
(`rollups.read_tables`). On a Citus coordinator whose tables are already distributed they are
distributed here (co-located with `agencies`, their policy in its Citus form) before their
rows, as 0910 does; on a new one `eiso db upgrade` distributes them after the migrations.

Revision ID: 0925_province_figures
Revises: 0920_review_deadline
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from eiso.core.qms.rollups import PROVINCE_HISTOGRAMS, PROVINCE_ROLLUPS, province_rows_sql
from eiso.infra.citus import already_distributed
from eiso.infra.rls import enable_tenant_rls, province_predicate

revision = "0925_province_figures"
down_revision = "0920_review_deadline"
branch_labels = None
depends_on = None

TABLES = {t.name: t for t in (PROVINCE_ROLLUPS, PROVINCE_HISTOGRAMS)}


def _columns(table: sa.Table) -> list[sa.Column]:
    """The model's columns (core/qms/rollups.py), as this revision creates them."""
    return [
        sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=False, autoincrement=False)
        for c in table.columns
    ]


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    citus = already_distributed(bind)
    if citus:
        # a foreign key to a reference table (provinces) after the shards' parallel DDL:
        # Citus wants one connection per node for the whole transaction
        op.execute("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
    for table in TABLES:
        fk = f"fk_{table}_province"
        # Citus: distributed before its foreign key (a plain table's is refused there)
        foreign_keys = (
            [] if citus else [sa.ForeignKeyConstraint(["province_id"], ["provinces.id"], name=fk)]
        )
        op.create_table(table, *_columns(TABLES[table]), *foreign_keys)
        if citus:
            op.execute(
                f"select create_distributed_table('{table}', 'province_id', "
                "colocate_with => 'agencies')"
            )
            op.create_foreign_key(fk, table, "provinces", ["province_id"], ["id"])
        op.create_index(f"ix_{table}_grain_day", table, ["grain", "day", "province_id"])
    if postgres:
        # the agency rows are under forced row-level security: read them as the nation
        if citus:
            op.execute("SET LOCAL citus.propagate_set_commands = 'local'")
        op.execute("SET LOCAL eiso.scope = 'nation'")
    for statement in province_rows_sql("true"):
        op.execute(statement)
    if postgres:
        op.execute("SET LOCAL eiso.scope = ''")
    for table in TABLES:
        # on Citus in the form it accepts (no sub-select)
        enable_tenant_rls(op, table, predicate=province_predicate(inline=citus))
        if postgres:
            op.execute(f"ALTER TABLE {table} SET (parallel_workers = 0)")  # as 0910's tables
            op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)  # its index with it

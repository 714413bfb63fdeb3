"""The figures' rollups as one counter row per agency, procedure and day (month, year), and
the handling-time histogram apart (core/qms/rollups.py, issue 23): `figure_counters` keyed
(province_id, grain, day, agency_id, procedure_code) and `figure_histograms` with the bucket
besides, both tenant tables under row-level security by agency. 0905's `figure_rollups` held
one row per bucket with every counter: a province's year per agency read thousands of rows.

The conversion is SQL over the old rows (GROUP BY without the bucket for the counters, the
bucket rows' handling times for the histograms); the dossiers are not read again.

On a Citus coordinator whose tables an earlier `eiso db upgrade` distributed, the new tables
are distributed here (co-located with `agencies`, their policy in its Citus form) before
their foreign key and their rows, since Citus refuses a plain table's foreign key to a
distributed table; on a new one `eiso db upgrade` distributes them after the migrations, as
every tenant table.

Revision ID: 0910_rollup_counters
Revises: 0905_figure_rollups
Create Date: 2026-12-06
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from eiso.core.qms.rollups import BIN_KEY, BINS, COUNTERS, KEY, NO_BUCKET
from eiso.infra.citus import already_distributed
from eiso.infra.rls import enable_tenant_rls, scope_predicate

revision = "0910_rollup_counters"
down_revision = "0905_figure_rollups"
branch_labels = None
depends_on = None

OLD = "figure_rollups"
OLD_KEY = ("province_id", "agency_id", "procedure_code", "grain", "day", "bucket")
NEW = {"figure_counters": (KEY, COUNTERS), "figure_histograms": (BIN_KEY, BINS)}


def _columns(key: tuple[str, ...], names: tuple[str, ...]) -> list[sa.Column]:
    types: dict[str, sa.types.TypeEngine[Any]] = {
        "province_id": sa.BigInteger(),
        "agency_id": sa.BigInteger(),
        "procedure_code": sa.String(32),
        "grain": sa.SmallInteger(),
        "day": sa.Date(),
        "bucket": sa.SmallInteger(),
    }
    return [
        *(sa.Column(name, types[name], primary_key=True, autoincrement=False) for name in key),
        *(
            sa.Column(name, sa.BigInteger if name == "handling_sum" else sa.Integer, nullable=False)
            for name in names
        ),
    ]


def _fk(table: str) -> tuple[str, list[str], list[str]]:
    return (
        f"fk_{table}_agency",
        ["province_id", "agency_id"],
        ["agencies.province_id", "agencies.id"],
    )


def converted(table: str) -> str:
    """The INSERT … SELECT of `table`'s rows from the old ones (SQLite, PostgreSQL, Citus)."""
    key, names = NEW[table]
    if table == "figure_counters":
        sums = ", ".join(f"sum({name})" for name in names)
        return (
            f"INSERT INTO {table} ({', '.join(key)}, {', '.join(names)}) "
            f"SELECT {', '.join(key)}, {sums} FROM {OLD} GROUP BY {', '.join(key)} "
            f"HAVING {' OR '.join(f'sum({name}) <> 0' for name in names)} "
            f"ORDER BY {', '.join(key)}"  # a province's period on few pages
        )
    # one old row per bucket already: its handling times as they are
    return (
        f"INSERT INTO {table} ({', '.join(key)}, {', '.join(names)}) "
        f"SELECT {', '.join(key)}, {', '.join(names)} FROM {OLD} "
        f"WHERE bucket <> {NO_BUCKET} AND ({' OR '.join(f'{name} <> 0' for name in names)}) "
        f"ORDER BY {', '.join(key)}"
    )


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    citus = already_distributed(bind)
    for table, (key, names) in NEW.items():
        name, local, remote = _fk(table)
        # PostgreSQL: the foreign key after the rows (one check, not one per row)
        foreign_keys = [] if postgres else [sa.ForeignKeyConstraint(local, remote, name=name)]
        op.create_table(table, *_columns(key, names), *foreign_keys)
        if citus:
            op.execute(
                f"select create_distributed_table('{table}', 'province_id', "
                "colocate_with => 'agencies')"
            )
            op.create_foreign_key(name, table, "agencies", local, ["province_id", "id"])
    if postgres:
        # The old rows are under forced row-level security: read them as the nation (SET
        # LOCAL, which Citus sends to the workers as well).
        if citus:
            op.execute("SET LOCAL citus.propagate_set_commands = 'local'")
        op.execute("SET LOCAL eiso.scope = 'nation'")
    for table in NEW:
        op.execute(converted(table))
    if postgres:
        op.execute("SET LOCAL eiso.scope = ''")
    for table in NEW:
        if postgres and not citus:
            name, local, _ = _fk(table)
            op.create_foreign_key(name, table, "agencies", local, ["province_id", "id"])
        op.create_index(f"ix_{table}_grain_day", table, ["grain", "day", "province_id"])
        if citus:  # the policy in the form Citus accepts (infra/citus `citus_predicate`)
            from eiso.infra.citus import citus_predicate

            enable_tenant_rls(op, table, predicate=citus_predicate(scope_predicate()))
        else:
            enable_tenant_rls(op, table)
    op.drop_index("ix_figure_rollups_grain_day", OLD)
    op.drop_table(OLD)
    if postgres:
        for table in NEW:
            # A read is a few index ranges: starting parallel workers for each part of a
            # many-period statement cost more than the scans (seconds on a loaded machine).
            op.execute(f"ALTER TABLE {table} SET (parallel_workers = 0)")
            op.execute(f"ANALYZE {table}")  # the planner's estimates of a large conversion


def downgrade() -> None:
    """Back to one row per bucket: the counters of the finished dossiers go to a bucket row
    only through a rebuild (`eiso qms rollups rebuild`), so the old table starts with the
    counters in bucket -1 and the histograms' handling times in their buckets."""
    bind = op.get_bind()
    op.create_table(
        OLD,
        *_columns(OLD_KEY, COUNTERS),
        sa.ForeignKeyConstraint(*_fk(OLD)[1:], name="fk_figure_rollups_agency"),
    )
    key = ", ".join(KEY)
    if bind.dialect.name == "postgresql":
        op.execute("SET LOCAL eiso.scope = 'nation'")
    counters = ", ".join(
        f"c.{name} - coalesce(h.{name}, 0)" if name in BINS else f"c.{name}" for name in COUNTERS
    )
    joined = " AND ".join(f"h.{k} = c.{k}" for k in KEY)
    op.execute(
        f"INSERT INTO {OLD} ({key}, bucket, {', '.join(COUNTERS)}) "
        f"SELECT {', '.join(f'c.{k}' for k in KEY)}, {NO_BUCKET}, {counters} "
        "FROM figure_counters c "
        f"LEFT JOIN (SELECT {key}, {', '.join(f'sum({b}) AS {b}' for b in BINS)} "
        f"FROM figure_histograms GROUP BY {key}) h ON {joined}"
    )
    op.execute(
        f"INSERT INTO {OLD} ({key}, bucket, {', '.join(COUNTERS)}) "
        f"SELECT {key}, bucket, "
        + ", ".join(name if name in BINS else "0" for name in COUNTERS)
        + " FROM figure_histograms"
    )
    if bind.dialect.name == "postgresql":
        op.execute("SET LOCAL eiso.scope = ''")
    op.create_index("ix_figure_rollups_grain_day", OLD, ["grain", "day", "province_id"])
    enable_tenant_rls(op, OLD)
    for table in NEW:
        op.drop_index(f"ix_{table}_grain_day", table)
        op.drop_table(table)

"""The figures' rollups (core/qms/rollups.py, issue 23): per agency, procedure and local day
(and month and year) the dossier counters the figures add up, tenant rows under row-level
security by agency; filled from the existing dossiers (the same computation as
`eiso qms rollups rebuild`).

Revision ID: 0905_figure_rollups
Revises: 0899_scope_province
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from eiso.core.qms.rollups import COUNTERS
from eiso.infra.rls import EVERY_TENANT, enable_tenant_rls

revision = "0905_figure_rollups"
down_revision = "0899_scope_province"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "figure_rollups",
        sa.Column("province_id", sa.BigInteger, primary_key=True),
        sa.Column("agency_id", sa.BigInteger, primary_key=True),
        sa.Column("procedure_code", sa.String(32), primary_key=True),
        sa.Column("grain", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("bucket", sa.SmallInteger, primary_key=True, autoincrement=False),
        *(
            sa.Column(name, sa.BigInteger if name == "handling_sum" else sa.Integer, nullable=False)
            for name in COUNTERS
        ),
        sa.ForeignKeyConstraint(
            ["province_id", "agency_id"],
            ["agencies.province_id", "agencies.id"],
            name="fk_figure_rollups_agency",
        ),
    )
    fill(op.get_bind())  # before the secondary index: a large fill is quicker without it
    op.create_index(
        "ix_figure_rollups_grain_day", "figure_rollups", ["grain", "day", "province_id"]
    )
    enable_tenant_rls(op, "figure_rollups")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE figure_rollups")  # the planner's estimates of a large fill


OLD_KEY = ("province_id", "agency_id", "procedure_code", "grain", "day", "bucket")


def fill(bind: sa.Connection) -> None:
    """Every province's rollups from its dossier rows, in this revision's layout (one row per
    handling-time bucket; 0910 converts them): the day rows of `rollups.days_sql`, then the
    month and year rows, on PostgreSQL; `rollups.contribution` on SQLite."""
    from eiso.core.qms import rollups

    if bind.dialect.name == "postgresql":
        bind.execute(sa.text(EVERY_TENANT))
    provinces = [pid for (pid,) in bind.execute(sa.text("SELECT id FROM provinces ORDER BY id"))]
    if bind.dialect.name == "postgresql":  # in SQL, every province in one pass
        sums = ", ".join(f"sum({c})" for c in COUNTERS)
        nonzero = " OR ".join(f"sum({c}) <> 0" for c in COUNTERS)
        days = (
            rollups.days_sql("true")
            + f" INSERT INTO figure_rollups ({', '.join(OLD_KEY)}, {', '.join(COUNTERS)})"
            f" SELECT pr, a, p, {rollups.DAY}, day, bucket, {sums} FROM g"
            f" GROUP BY pr, a, p, day, bucket HAVING {nonzero}"
        )
        for statement in (
            days,
            *rollups.rolled_up_sql("figure_rollups", OLD_KEY, COUNTERS, "true"),
        ):
            bind.execute(sa.text(statement))
        return
    table = sa.table("figure_rollups", *(sa.column(c) for c in (*OLD_KEY, *COUNTERS)))
    for province_id in provinces:
        found = bind.execute(rollups.rows_statement(province_id)).all()
        values = [
            {"province_id": province_id, "grain": grain, "day": first, "agency_id": agency}
            | {"procedure_code": procedure, "bucket": bucket}
            | dict(zip(COUNTERS, counters, strict=True))
            for (grain, first, agency, procedure, bucket), counters in rollups.by_grain(
                rollups.counters_of(found)
            ).items()
            if any(counters)
        ]
        for start in range(0, len(values), 5000):
            bind.execute(sa.insert(table), values[start : start + 5000])


def downgrade() -> None:
    op.drop_index("ix_figure_rollups_grain_day", "figure_rollups")
    op.drop_table("figure_rollups")

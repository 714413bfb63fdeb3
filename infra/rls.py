"""PostgreSQL row-level security for tenant tables, used by migrations (a no-op on SQLite), and
the one way past it for a reader of every tenant (`every_tenant`).

The policy reads the caller's scope from per-transaction settings that the session sets with
`set_config(..., true)` at the start of every transaction; with no scope set, no row is
visible (fail closed). The lookups are wrapped in `(select ...)` so PostgreSQL evaluates them
once per statement, not once per row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncSession

from eiso.infra.pg_begin import is_citus, set_local_statements

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext


class MigrationOp(Protocol):
    """What these helpers use of a migration's `alembic.op`."""

    def get_bind(self) -> Connection: ...

    def get_context(self) -> MigrationContext: ...

    def execute(self, sqltext: str) -> None: ...


_SETTING = "(select current_setting('eiso.{name}', true))"
_IDS = "(select string_to_array(current_setting('eiso.{name}', true), ','))::bigint[]"


def scope_setting(name: str) -> str:
    """The caller's `eiso.<name>` setting, read once per statement."""
    return _SETTING.format(name=name)


def scope_ids(name: str) -> str:
    """The caller's `eiso.<name>` ids as a bigint[], cast inside the sub-select (the comparison
    with it stays leakproof, so an index may serve it under another table's policy)."""
    # The outer cast makes it an expression: `= ANY ((select ...))` would compare with rows.
    return (
        f"(select string_to_array(current_setting('eiso.{name}', true), ',')::bigint[])::bigint[]"
    )


# The same reads without the sub-select, for Citus, which refuses sub-selects in a
# distributed table's policy (infra/citus): evaluated per row there.
_INLINE_SETTING = "current_setting('eiso.{name}', true)"
_INLINE_IDS = "string_to_array(current_setting('eiso.{name}', true), ',')::bigint[]"


def inline_setting(name: str) -> str:
    """`scope_setting` without the sub-select (Citus: read per row)."""
    return _INLINE_SETTING.format(name=name)


def inline_ids(name: str) -> str:
    """`scope_ids` without the sub-select (Citus: read per row)."""
    return _INLINE_IDS.format(name=name)


def scope_predicate(
    agency_column: str = "agency_id", province_column: str = "province_id", *, inline: bool = False
) -> str:
    setting, ids = (_INLINE_SETTING, _INLINE_IDS) if inline else (_SETTING, _IDS)
    scope = setting.format(name="scope")
    provinces, agencies = ids.format(name="province_ids"), ids.format(name="agency_ids")
    return (
        f"{scope} = 'nation'"
        f" OR ({scope} = 'province' AND {province_column} = ANY ({provinces}))"
        f" OR ({scope} = 'agencies' AND {agency_column} = ANY ({agencies}))"
    )


# For the few readers of every tenant's rows that no tenant scope describes (the outbox relay):
# the nation scope for the current transaction only, as a tenant session's `after_begin` sets
# it (tenants/scope.py). On SQLite, where there is no row-level security, not needed.
EVERY_TENANT = "select set_config('eiso.scope', 'nation', true)"


async def every_tenant(session: AsyncSession) -> None:
    """Let this transaction's statements see every tenant's rows under row-level security
    (on Citus with SET LOCAL, which reaches the workers: infra/pg_begin.py)."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return
    sync = connection.sync_connection
    if sync is None or not is_citus(sync):
        await connection.execute(text(EVERY_TENANT))
        return
    for statement in set_local_statements({"scope": "nation"}) or ():
        await connection.exec_driver_sql(statement)


def province_predicate(province_column: str = "province_id", *, inline: bool = False) -> str:
    """A province's own rows (no agency column): seen by the nation, the province, and its
    agencies (an agency scope names its provinces too). `inline`: without the sub-selects
    (Citus)."""
    setting, ids = (_INLINE_SETTING, _INLINE_IDS) if inline else (_SETTING, _IDS)
    scope = setting.format(name="scope")
    provinces = ids.format(name="province_ids")
    return (
        f"{scope} = 'nation'"
        f" OR ({scope} IN ('province', 'agencies') AND {province_column} = ANY ({provinces}))"
    )


def _is_postgres(op: MigrationOp) -> bool:
    return op.get_bind().dialect.name == "postgresql"


def app_role(op: MigrationOp) -> str | None:
    """The application's role when it differs from the migrating owner, else None."""
    config = op.get_context().config
    attributes = config.attributes if config else {}
    url = attributes.get("app_database_url")
    if not url:
        return None
    role = make_url(url.replace("postgres://", "postgresql://", 1)).username
    owner = op.get_bind().exec_driver_sql("select current_user").scalar()
    return role if role and role != owner else None


def grant(op: MigrationOp, table: str, privileges: str = "SELECT, INSERT, UPDATE, DELETE") -> None:
    if not _is_postgres(op):
        return
    role = app_role(op)
    if role:
        op.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
        op.execute(f'GRANT {privileges} ON {table} TO "{role}"')
        op.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"')


def enable_tenant_rls(
    op: MigrationOp,
    table: str,
    *,
    agency_column: str = "agency_id",
    province_column: str = "province_id",
    privileges: str = "SELECT, INSERT, UPDATE, DELETE",
    predicate: str | None = None,
) -> None:
    """Enable and force RLS on `table` with the tenant-scope policy (or `predicate`), and grant
    the app role."""
    if not _is_postgres(op):
        return
    predicate = predicate or scope_predicate(agency_column, province_column)
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_scope ON {table} USING ({predicate}) WITH CHECK ({predicate})"
    )
    grant(op, table, privileges)

"""eiso on Citus: after the migrations, `eiso db upgrade` on a coordinator (a database with
the `citus` extension) distributes every tenant table by `province_id`, co-located with
`agencies`, and makes every other table a reference table (docs/operating.md, "Citus").

A tenant table is one with a NOT NULL `province_id` under forced row-level security. Citus
enforces a primary key or unique constraint only when it holds the distribution column: the
few that do not (an agency's ids are unique in the nation, so adding the agency's province
changes nothing they allow) are rebuilt with `province_id` first, here only. A unique index or
foreign key that cannot be kept that way stops the step with a message naming it.

Idempotent: a table Citus already knows is left alone, so a later migration's new table is
distributed by the next upgrade. Without the extension it does nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections import defaultdict
from graphlib import TopologicalSorter
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from eiso.infra.rls import inline_ids, inline_setting, scope_predicate

DISTRIBUTION_COLUMN = "province_id"
ANCHOR = "agencies"  # the table every tenant table is co-located with
# Tables that stay plain tables of the coordinator: the migrations' bookkeeping, and the
# outbox, a queue that every move appends to and only the relay reads (FOR UPDATE SKIP
# LOCKED), joined with no other table: as a reference table each append would be a
# two-phase commit on every node.
LOCAL_TABLES = ("outbox",)


class CitusLayoutError(RuntimeError):
    """A table cannot be distributed as it is (a constraint without `province_id`)."""


@dataclasses.dataclass(frozen=True)
class Layout:
    """What the step did or would do, by table name."""

    distributed: tuple[str, ...]
    reference: tuple[str, ...]
    rebuilt_constraints: tuple[str, ...]
    narrowed_policies: tuple[str, ...] = ()
    handover_policies: tuple[str, ...] = ()  # given their Citus form (`handover_policies`)


_TABLES = """
select c.relname,
       c.relforcerowsecurity
         and exists (select 1 from pg_attribute a where a.attrelid = c.oid
                     and a.attname = $1 and a.attnotnull and not a.attisdropped) as tenant
from pg_class c
where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
  and not exists (select 1 from pg_dist_partition p where p.logicalrelid = c.oid)
  and c.relname not like 'alembic_version%' and c.relname <> all($2::text[])
order by 1
"""

# Every primary key, unique constraint and unique index with its key columns.
_UNIQUE = """
select t.relname, i.relname as index, con.conname, con.contype,
       array(select a.attname::text from unnest(x.indkey) k
             join pg_attribute a on a.attrelid = x.indrelid and a.attnum = k) as columns,
       x.indexprs is not null or x.indpred is not null as partial
from pg_index x
join pg_class t on t.oid = x.indrelid
join pg_class i on i.oid = x.indexrelid
left join pg_constraint con on con.conindid = x.indexrelid and con.contype in ('p', 'u')
where t.relnamespace = 'public'::regnamespace and x.indisunique
"""

_FOREIGN_KEYS = """
select c.conrelid::regclass::text, c.confrelid::regclass::text, c.conname,
       array(select a.attname::text from unnest(c.conkey) k
             join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k) as columns,
       pg_get_constraintdef(c.oid) as definition
from pg_constraint c
where c.connamespace = 'public'::regnamespace and c.contype = 'f'
"""


# The tables distributed by an earlier upgrade (hash-distributed: the tenant tables).
_DISTRIBUTED = "select logicalrelid::text from pg_dist_partition where partmethod = 'h'"


# A policy's `(SELECT <expression> AS <alias>)` wrapper around a scope setting (infra/rls.py
# reads each once per statement that way): Citus refuses any sub-select in a distributed
# table's policy, so on Citus the expression stands bare (evaluated per row, still cheap).
_WRAPPED = re.compile(r"\(\s*SELECT\s+((?:(?!\bSELECT\b|\bFROM\b).)+?)\s+AS\s+\w+\)", re.S)
_SUBQUERY = re.compile(r"\bSELECT\b|\beiso_dossier_visible\b", re.I)

_POLICIES = """
select p.tablename, p.policyname, p.qual, p.with_check from pg_policies p
where p.schemaname = 'public' and p.tablename = any($1::text[])
"""


def already_distributed(bind: Any) -> bool:
    """A migration's connection (SQLAlchemy) to a Citus coordinator whose tenant tables an
    earlier `eiso db upgrade` distributed: a migration's new tenant table is distributed there
    before its foreign keys and rows (migrations 0910, 0925)."""
    if bind.dialect.name != "postgresql":
        return False
    if bind.exec_driver_sql("select current_setting('citus.version', true)").scalar() is None:
        return False
    found = bind.exec_driver_sql(
        f"select 1 from pg_dist_partition where logicalrelid = '{ANCHOR}'::regclass"
    )
    return found.first() is not None


def citus_predicate(predicate: str) -> str:
    """`predicate` without the sub-select wrappers of its scope settings."""
    return _WRAPPED.sub(r"(\1)", predicate)


HANDOVER_COLUMN = "handed_to"  # dossiers.handed_to (migration 0899_scope_province)


def handover_policies() -> dict[str, tuple[str, str]]:
    """The two policies that read another table on a single PostgreSQL (a dossier handed over
    to the agency of a later step: migrations 0510, 0530), as Citus can hold them: (USING,
    WITH CHECK) by table.

    - dossiers: the agencies' own, or handed over to one of them in their provinces, read
      from the dossier's own `handed_to` (the engine adds the receiving agency with the
      hand-over) instead of a sub-select of dossier_steps;
    - dossier_steps: read and changed by the step's agency; inserted also by the agency
      handing the step over, which names itself in `from_agency_id` (in its provinces)
      instead of the check that it sees the dossier (a function reading dossiers: on a
      worker a distributed query inside a shard's, which Citus refuses)."""
    predicate = scope_predicate(inline=True)
    agencies = (
        f"{inline_setting('scope')} = 'agencies'"
        f" AND province_id = ANY ({inline_ids('province_ids')})"
    )
    handed = f"({agencies} AND {HANDOVER_COLUMN} && {inline_ids('agency_ids')})"
    sender = f"({agencies} AND from_agency_id = ANY ({inline_ids('agency_ids')}))"
    return {
        "dossiers": (f"({predicate}) OR {handed}", f"({predicate}) OR {handed}"),
        "dossier_steps": (predicate, f"({predicate}) OR {sender}"),
    }


async def _rewrite_policies(
    connection: asyncpg.Connection, tenant: set[str]
) -> tuple[list[str], list[str]]:
    """Every tenant table's policy without sub-selects. The hand-over's two policies, which
    read another table, take their Citus form (`handover_policies`); any other policy that
    reads another table falls back to the plain tenant scope (fail closed). The names of the
    policies so rewritten, and so narrowed."""
    narrowed, handover = [], []
    citus_forms = handover_policies()
    for table, name, qual, check in await connection.fetch(_POLICIES, sorted(tenant)):
        using, checking = citus_predicate(qual or "true"), citus_predicate(check or qual or "true")
        if table in citus_forms and name == "tenant_scope":
            using, checking = citus_forms[table]
            handover.append(f"{table}.{name}")
        elif _SUBQUERY.search(using) or _SUBQUERY.search(checking):
            using = checking = scope_predicate(inline=True)
            narrowed.append(f"{table}.{name}")
        await connection.execute(f'DROP POLICY "{name}" ON "{table}"')
        await connection.execute(
            f'CREATE POLICY "{name}" ON "{table}" USING ({using}) WITH CHECK ({checking})'
        )
    return narrowed, handover


# What tells a hand-over policy in its Citus form (pg_policies deparses the text its own way).
_CITUS_FORM = {"dossiers": HANDOVER_COLUMN, "dossier_steps": "from_agency_id"}


async def _restore_handover(connection: asyncpg.Connection, known: set[str]) -> list[str]:
    """The hand-over policies of tables an earlier upgrade distributed while they were
    narrowed to the tenant scope (before migration 0899): given their Citus form (Citus
    sends the policy's DROP and CREATE to the shards)."""
    restored = []
    forms = handover_policies()
    for table, name, qual, check in await connection.fetch(_POLICIES, sorted(known & set(forms))):
        if name != "tenant_scope" or _CITUS_FORM[table] in f"{qual} {check}":
            continue
        using, checking = forms[table]
        await connection.execute(f'DROP POLICY "{name}" ON "{table}"')
        await connection.execute(
            f'CREATE POLICY "{name}" ON "{table}" USING ({using}) WITH CHECK ({checking})'
        )
        restored.append(f"{table}.{name}")
    return restored


async def has_citus(connection: asyncpg.Connection) -> bool:
    found = await connection.fetchval("select 1 from pg_extension where extname = 'citus'")
    return bool(found)


async def _rebuild_uniques(connection: asyncpg.Connection, tenant: set[str]) -> list[str]:
    """Put `province_id` first in the tenant tables' keys that lack it; the constraints'
    names stay (the ORM and the code name none of the rebuilt ones)."""
    rebuilt = []
    for row in await connection.fetch(_UNIQUE):
        table, columns = row["relname"], list(row["columns"])
        if table not in tenant or DISTRIBUTION_COLUMN in columns:
            continue
        if row["partial"]:
            raise CitusLayoutError(
                f"unique index {row['index']} on {table} lacks {DISTRIBUTION_COLUMN}: Citus "
                "cannot enforce it; add the column to it in a migration"
            )
        keyed = ", ".join([DISTRIBUTION_COLUMN, *columns])
        if row["conname"] is None:  # a plain unique index (no constraint): rebuilt as one
            await connection.execute(f'DROP INDEX "{row["index"]}"')
            await connection.execute(f'CREATE UNIQUE INDEX "{row["index"]}" ON "{table}" ({keyed})')
            rebuilt.append(f"{table}.{row['index']}")
            continue
        kind = "PRIMARY KEY" if row["contype"] == "p" else "UNIQUE"
        await connection.execute(
            f'ALTER TABLE "{table}" DROP CONSTRAINT "{row["conname"]}", '
            f'ADD CONSTRAINT "{row["conname"]}" {kind} ({keyed})'
        )
        rebuilt.append(f"{table}.{row['conname']}")
    return rebuilt


def _order(tables: set[str], foreign_keys: list[asyncpg.Record]) -> list[str]:
    """`tables` with every referenced table before the tables referencing it."""
    graph: dict[str, set[str]] = defaultdict(set)
    for table in tables:
        graph[table]
    for fk in foreign_keys:
        source, target = fk[0], fk[1]
        if source in tables and target in tables and source != target:
            graph[source].add(target)
    if ANCHOR in graph:  # first: the others are co-located with it
        for table in graph:
            if table != ANCHOR:
                graph[table].add(ANCHOR)
    return list(TopologicalSorter(graph).static_order())


def _check_foreign_keys(
    foreign_keys: list[asyncpg.Record], tenant: set[str], reference: set[str]
) -> None:
    for source, target, name, columns, _definition in foreign_keys:
        if source in reference and target in tenant:
            raise CitusLayoutError(
                f"foreign key {name}: {source} (a reference table) refers to {target}, a "
                "distributed table; Citus refuses it"
            )
        if source in tenant and target in tenant and DISTRIBUTION_COLUMN not in columns:
            raise CitusLayoutError(
                f"foreign key {name} on {source} lacks {DISTRIBUTION_COLUMN}: Citus refuses a "
                "foreign key between distributed tables without the distribution column"
            )


async def distribute(connection: asyncpg.Connection) -> Layout:
    """Distribute the tenant tables and replicate the others (those not yet known to
    Citus), in one transaction."""
    if not await has_citus(connection):
        return Layout((), (), ())
    async with connection.transaction():
        rows = await connection.fetch(_TABLES, DISTRIBUTION_COLUMN, list(LOCAL_TABLES))
        known = {r[0] for r in await connection.fetch(_DISTRIBUTED)}
        tenant = {r["relname"] for r in rows if r["tenant"]}
        reference = {r["relname"] for r in rows if not r["tenant"]}
        foreign_keys = await connection.fetch(_FOREIGN_KEYS)
        _check_foreign_keys(foreign_keys, tenant | known, reference)
        rebuilt = await _rebuild_uniques(connection, tenant)
        narrowed, handover = await _rewrite_policies(connection, tenant)
        handover += await _restore_handover(connection, known)
        # Sequential mode: the distribution and the foreign keys see each other in one
        # transaction.
        await connection.execute("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
        # The foreign keys go while the tables change kind and come back after: Citus would
        # otherwise turn a table referring to a new reference table into a "Citus local"
        # table, which it refuses for a table with a policy.
        moving = tenant | reference
        kept = [fk for fk in foreign_keys if fk[0] in moving or fk[1] in moving]
        for fk in kept:
            await connection.execute(f'ALTER TABLE "{fk[0]}" DROP CONSTRAINT "{fk[2]}"')
        for table in _order(reference, foreign_keys):
            await connection.execute("select create_reference_table($1)", table)
        anchor_known = ANCHOR in known
        for table in _order(tenant, foreign_keys):
            # The anchor starts its own co-location group; the others join it.
            colocate = "none" if table == ANCHOR and not anchor_known else ANCHOR
            await connection.execute(
                "select create_distributed_table($1, $2, colocate_with => $3)",
                table,
                DISTRIBUTION_COLUMN,
                colocate,
            )
        for fk in kept:
            await connection.execute(
                f'ALTER TABLE "{fk[0]}" ADD CONSTRAINT "{fk[2]}" {fk["definition"]}'
            )
    return Layout(
        tuple(_order(tenant, foreign_keys)),
        tuple(sorted(reference)),
        tuple(rebuilt),
        tuple(narrowed),
        tuple(handover),
    )


async def _distribute_url(database_url: str) -> Layout:
    url = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        return await distribute(connection)
    finally:
        await connection.close()


def distribute_database(database_url: str) -> Layout | None:
    """`distribute` on the database at `database_url` (the migrations' owner); None for a
    database that is not PostgreSQL. Call it from synchronous code (as the migrations)."""
    if not database_url.startswith(("postgresql", "postgres:")):
        return None
    return asyncio.run(_distribute_url(database_url))

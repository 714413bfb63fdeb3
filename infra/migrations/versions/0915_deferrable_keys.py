"""The composite province keys become DEFERRABLE INITIALLY IMMEDIATE (issue 23): every foreign
key (province_id, X) → parent (province_id, id) between tenant tables. Checked as before at the
end of each statement; a province merge defers them to its commit (`SET CONSTRAINTS ALL
DEFERRED`, tenants/reorganisation.py), which moves parent and child rows to the new
province_id one table at a time (docs/operating.md, "Merges"). The keys are found in the
database (not in today's models): every such key an earlier migration created.

- PostgreSQL: `ALTER TABLE … ALTER CONSTRAINT … DEFERRABLE INITIALLY IMMEDIATE`, a change of
  the catalog only (no table is read or rewritten).
- Citus: a table an earlier upgrade distributed is left as it is (Citus refuses ALTER
  CONSTRAINT on a distributed table, and refuses province merges anyway); on a new coordinator
  the migrations run before the tables are distributed, so its keys are deferrable too.
- SQLite: the same words in each table's CREATE TABLE text, by SQLite's documented procedure
  for schema changes that leave the stored rows as they are ("Making Other Kinds Of Table
  Schema Changes", https://www.sqlite.org/lang_altertable.html): edit `sqlite_master` under
  `writable_schema`, raise `schema_version`, check integrity, in the migration's transaction.
  A copy of the tables (batch mode) would fail: dropping a parent table with rows referenced
  by a child is a foreign key violation while `foreign_keys` is on, and that pragma cannot
  change inside a transaction. On SQLite DEFERRABLE INITIALLY IMMEDIATE behaves as NOT
  DEFERRABLE (the merge defers every key with `PRAGMA defer_foreign_keys`): the text is what
  the models-vs-migrations comparison reads.

Revision ID: 0915_deferrable_keys
Revises: 0910_rollup_counters
Create Date: 2026-12-06
"""

from __future__ import annotations

import re
import sqlite3

import sqlalchemy as sa
from alembic import op

revision = "0915_deferrable_keys"
down_revision = "0910_rollup_counters"
branch_labels = None
depends_on = None

DEFERRABLE = "DEFERRABLE INITIALLY IMMEDIATE"

# The composite province keys of the public schema that are (or are not) deferrable.
_PG_KEYS = """
select c.conrelid::regclass::text, c.conname
from pg_constraint c
join pg_attribute k1 on k1.attrelid = c.conrelid and k1.attnum = c.conkey[1]
join pg_attribute r1 on r1.attrelid = c.confrelid and r1.attnum = c.confkey[1]
join pg_attribute r2 on r2.attrelid = c.confrelid and r2.attnum = c.confkey[2]
where c.contype = 'f' and c.connamespace = 'public'::regnamespace
  and cardinality(c.conkey) = 2 and k1.attname = 'province_id'
  and r1.attname = 'province_id' and r2.attname = 'id'
  and c.condeferrable = :deferrable
"""
# With Citus: on the tables it has not distributed.
_NOT_DISTRIBUTED = """
  and not exists (select 1 from pg_dist_partition p where p.logicalrelid = c.conrelid)
"""

# A composite province key in a CREATE TABLE text as SQLAlchemy and SQLite write it, with what
# follows it up to the end of the clause (a deferrability, if any).
_SQLITE_KEY = re.compile(
    r"(FOREIGN\s+KEY\s*\(\s*\"?province_id\"?\s*,\s*\"?\w+\"?\s*\)\s*"
    r"REFERENCES\s+\"?\w+\"?\s*\(\s*\"?province_id\"?\s*,\s*\"?id\"?\s*\))"
    r"(\s+DEFERRABLE\s+INITIALLY\s+IMMEDIATE)?",
    re.IGNORECASE,
)


def upgrade() -> None:
    _change(deferrable=True)


def downgrade() -> None:
    _change(deferrable=False)


def _change(*, deferrable: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        citus = bind.execute(sa.text("select 1 from pg_extension where extname = 'citus'"))
        query = _PG_KEYS + (_NOT_DISTRIBUTED if citus.first() else "") + "order by 1, 2"
        keys = bind.execute(sa.text(query), {"deferrable": not deferrable}).all()
        words = DEFERRABLE if deferrable else "NOT DEFERRABLE"
        for table, name in keys:
            op.execute(f'ALTER TABLE {table} ALTER CONSTRAINT "{name}" {words}')
    elif bind.dialect.name == "sqlite":
        _sqlite(bind, deferrable=deferrable)


def _sqlite_keys(bind: sa.Connection, table: str) -> int:
    """How many composite province keys `table` has (SQLite's own account of them)."""
    found: dict[int, dict[str, str]] = {}
    for row in bind.exec_driver_sql(f"PRAGMA foreign_key_list('{table}')"):
        found.setdefault(row[0], {})[row[3]] = row[4]  # id, seq, table, from, to, …
    return sum(
        len(pairs) == 2
        and pairs.get("province_id") == "province_id"
        and sorted(pairs.values()) == ["id", "province_id"]
        for pairs in found.values()
    )


def _rewritten(sql: str, *, deferrable: bool) -> tuple[str, int]:
    def one(match: re.Match[str]) -> str:
        return f"{match.group(1)} {DEFERRABLE}" if deferrable else match.group(1)

    return _SQLITE_KEY.subn(one, sql)


def _sqlite(bind: sa.Connection, *, deferrable: bool) -> None:
    tables = bind.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL "
        "AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).all()
    changed: dict[str, str] = {}
    for table, sql in tables:
        keys = _sqlite_keys(bind, table)
        if not keys:
            continue
        new, replaced = _rewritten(sql, deferrable=deferrable)
        if replaced != keys:  # a key written otherwise than expected: change nothing
            raise RuntimeError(
                f"0915_deferrable_keys: {table} has {keys} composite province keys, "
                f"{replaced} found in its CREATE TABLE text"
            )
        _check_syntax(new)
        if new != sql:
            changed[table] = new
    if not changed:
        return
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        for table, sql in changed.items():
            bind.exec_driver_sql(
                "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
                (sql, table),
            )
        bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = [row[0] for row in bind.exec_driver_sql("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise RuntimeError(f"0915_deferrable_keys: integrity check: {problems[:5]}")


def _check_syntax(sql: str) -> None:
    """The new text creates a table in an empty database (a wrong text in sqlite_master would
    leave the database unreadable)."""
    scratch = sqlite3.connect(":memory:")
    try:
        scratch.execute(sql)
    finally:
        scratch.close()

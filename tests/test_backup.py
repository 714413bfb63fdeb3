"""`eiso db backup` and `eiso db restore`, run as an operator runs them, on both backends: the
demo data backed up, restored into a fresh database with every row of every table, and the
audit chains verify there. On PostgreSQL the roles are a deployment's (an owner on whom RLS is
forced, the app's role, a backup role made by `eiso db backup-role create`): the owner's dump
is refused, and a dump that lacks rows is deleted, naming the table."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import secrets
import shutil
import sqlite3
import stat
from collections.abc import Awaitable, Callable

import pytest
import pytest_asyncio

from tests.conftest import PG_ADMIN_URL, _pg_admin, _with_database
from tests.test_demo import DEMO_TIMEOUT, eiso

Counts = dict[str, int]


@dataclasses.dataclass
class Stack:
    """The demo's database (`source`, the CLI environment for it), fresh empty databases on
    demand (`fresh()`), and the rows of each table of a database (`counts(env)`), counted
    past row-level security (a superuser on PostgreSQL)."""

    kind: str
    source: dict[str, str]
    fresh: Callable[[], Awaitable[dict[str, str]]]
    counts: Callable[[dict[str, str]], Awaitable[Counts]]
    roles: dict[str, str] = dataclasses.field(default_factory=dict)


BASE = {"EISO_LOG_JSON": "false", "EISO_REDIS_URL": "memory://"}


def sqlite_counts(env: dict[str, str]) -> Counts:
    path = env["EISO_DATABASE_URL"].removeprefix("sqlite:///")
    connection = sqlite3.connect(path)
    try:
        names = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        return {
            n: connection.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for (n,) in names
        }
    finally:
        connection.close()


async def pg_counts(env: dict[str, str]) -> Counts:
    import asyncpg

    database = env["EISO_DATABASE_URL"].rsplit("/", 1)[1]
    connection = await asyncpg.connect(_with_database(PG_ADMIN_URL, database))
    try:
        names = await connection.fetch(
            "SELECT format('%I.%I', schemaname, tablename) AS n FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
        return {r["n"]: await connection.fetchval(f"SELECT count(*) FROM {r['n']}") for r in names}
    finally:
        await connection.close()


def run_ok(*args: str, env: dict[str, str], timeout: float = 300):
    result = eiso(*args, env=env, timeout=timeout)
    assert result.returncode == 0, result.stderr
    return result


async def sqlite_stack(tmp: pathlib.Path):
    def env_for(path: pathlib.Path) -> dict[str, str]:
        return BASE | {"EISO_DATABASE_URL": f"sqlite:///{path}"}

    async def fresh() -> dict[str, str]:
        return env_for(tmp / f"fresh-{secrets.token_hex(4)}.db")

    async def counts(env: dict[str, str]) -> Counts:
        return sqlite_counts(env)

    yield Stack("sqlite", env_for(tmp / "source.db"), fresh, counts)


async def pg_stack(_tmp: pathlib.Path):
    """Roles and databases of fresh names, dropped afterwards."""
    tag = secrets.token_hex(4)
    owner, app, backup = f"eiso_bk_owner_{tag}", f"eiso_bk_app_{tag}", f"eiso_bk_backup_{tag}"
    await _pg_admin(f"CREATE ROLE {owner} LOGIN NOSUPERUSER NOBYPASSRLS")
    await _pg_admin(f"CREATE ROLE {app} LOGIN NOSUPERUSER NOBYPASSRLS")
    databases: list[str] = []

    async def fresh() -> dict[str, str]:
        name = f"eiso_bk_{tag}_{len(databases)}"
        await _pg_admin(f'CREATE DATABASE "{name}" OWNER {owner}')
        databases.append(name)
        return BASE | {
            "EISO_MIGRATION_DATABASE_URL": _with_database(PG_ADMIN_URL, name, user=owner),
            "EISO_DATABASE_URL": _with_database(PG_ADMIN_URL, name, user=app),
        }

    source = await fresh()
    try:
        yield Stack(
            "postgresql", source, fresh, pg_counts, {"owner": owner, "app": app, "backup": backup}
        )
    finally:
        for name in databases:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for role in (backup, app, owner):
            await _pg_admin(f"DROP ROLE IF EXISTS {role}")


@pytest_asyncio.fixture(scope="module")
async def stack(backend, tmp_path_factory):
    """The demo loaded into the source database through the CLI; on PostgreSQL the backup
    role created by `eiso db backup-role create` and named in EISO_BACKUP_DATABASE_URL."""
    kind = backend.split("+")[0]
    make = sqlite_stack if kind == "sqlite" else pg_stack
    async for built in make(tmp_path_factory.mktemp("backup")):
        run_ok("db", "upgrade", env=built.source)
        run_ok("demo", env=built.source, timeout=DEMO_TIMEOUT)
        if kind == "postgresql":
            role = built.roles["backup"]
            database = built.source["EISO_DATABASE_URL"].rsplit("/", 1)[1]
            admin = ("--admin-url", _with_database(PG_ADMIN_URL, database))
            run_ok("db", "backup-role", "create", role, *admin, env=built.source)
            backup_url = _with_database(PG_ADMIN_URL, database, user=role)
            built.source = built.source | {"EISO_BACKUP_DATABASE_URL": backup_url}
        yield built


def verified(env: dict[str, str]) -> str:
    """`eiso audit verify` passes; its summary line (chains and entries)."""
    return run_ok("audit", "verify", env=env).stderr.strip().splitlines()[-1]


async def test_a_backup_restores_every_row_and_the_audit_chains(stack, tmp_path):
    backup = tmp_path / "eiso.backup"
    written = run_ok("db", "backup", str(backup), env=stack.source)
    assert "backup written" in written.stderr and backup.is_file()
    assert not backup.with_name(backup.name + ".partial").exists()
    target = await stack.fresh()
    restored = run_ok("db", "restore", str(backup), env=target)
    assert "restored" in restored.stderr
    source_counts = await stack.counts(stack.source)
    assert await stack.counts(target) == source_counts
    schema = "" if stack.kind == "sqlite" else "public."
    assert source_counts[f"{schema}audit_entries"] > 0 and source_counts[f"{schema}dossiers"] > 0
    summary = verified(target)
    assert summary == verified(stack.source) and "intact" in summary


async def test_restore_refuses_a_database_that_is_not_empty_unless_forced(stack, tmp_path):
    backup = tmp_path / "eiso.backup"
    run_ok("db", "backup", str(backup), env=stack.source)
    target = await stack.fresh()
    run_ok("db", "restore", str(backup), env=target)
    before = await stack.counts(target)
    refused = eiso("db", "restore", str(backup), env=target)
    assert refused.returncode == 1
    assert "not empty" in refused.stderr and "--force" in refused.stderr
    assert await stack.counts(target) == before
    run_ok("db", "restore", "--force", str(backup), env=target)
    assert await stack.counts(target) == before == await stack.counts(stack.source)
    verified(target)


async def test_a_backup_never_overwrites_and_a_non_backup_is_refused(stack, tmp_path):
    existing = tmp_path / "taken"
    existing.write_text("keep me")
    refused = eiso("db", "backup", str(existing), env=stack.source)
    assert refused.returncode == 1 and "exists" in refused.stderr
    assert existing.read_text() == "keep me"
    target = await stack.fresh()
    wrong = eiso("db", "restore", str(existing), env=target)
    assert wrong.returncode == 1 and "is not" in wrong.stderr, wrong.stderr
    missing = eiso("db", "restore", str(tmp_path / "none"), env=target)
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    assert await stack.counts(target) == {}  # nothing was restored: still fresh


@pytest.mark.only_backend("postgresql+redis")
async def test_the_tables_owner_cannot_back_up(stack, tmp_path):
    """RLS is forced on the owner: its dump would be empty, so it is refused up front."""
    as_owner = {k: v for k, v in stack.source.items() if k != "EISO_BACKUP_DATABASE_URL"}
    backup = tmp_path / "owner.backup"
    refused = eiso("db", "backup", str(backup), env=as_owner)
    assert refused.returncode == 1
    assert "row-level security" in refused.stderr and stack.roles["owner"] in refused.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.only_backend("postgresql+redis")
async def test_a_dump_that_lacks_rows_is_deleted_naming_the_table(stack, tmp_path):
    """A pg_dump that leaves out one table's rows (a wrapper first on PATH) exits 0; the
    count of the dump's rows catches it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "pg_dump"
    real = shutil.which("pg_dump")
    wrapper.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = "--version" ] && exec {real} "$@"\n'
        f'exec {real} --exclude-table-data=public.audit_entries "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    backup = tmp_path / "short.backup"
    env = stack.source | {"PATH": f"{bin_dir}:{os.environ['PATH']}"}
    refused = eiso("db", "backup", str(backup), env=env)
    assert refused.returncode == 1, refused.stderr
    assert "public.audit_entries" in refused.stderr and "nothing written" in refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"]


@pytest.mark.only_backend("postgresql+redis")
async def test_the_backup_role_bypasses_rls_and_the_apps_role_never(stack):
    import asyncpg

    database = stack.source["EISO_DATABASE_URL"].rsplit("/", 1)[1]
    admin = ("--admin-url", _with_database(PG_ADMIN_URL, database))
    for role in (stack.roles["app"], stack.roles["owner"]):
        # Named in the settings, or found in the database (settings of another deployment).
        for env in (stack.source, BASE | {"EISO_DATABASE_URL": PG_ADMIN_URL}):
            refused = eiso("db", "backup-role", "create", role, *admin, env=env)
            assert refused.returncode == 1 and "never bypass" in refused.stderr
    other = f"eiso_bk_x_{secrets.token_hex(3)}"
    not_super = eiso("db", "backup-role", "create", other, env=stack.source)
    assert not_super.returncode == 1 and "superuser" in not_super.stderr
    connection = await asyncpg.connect(PG_ADMIN_URL)
    try:
        rows = await connection.fetch(
            "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = ANY($1)",
            list(stack.roles.values()),
        )
    finally:
        await connection.close()
    attributes = {r["rolname"]: (r["rolsuper"], r["rolbypassrls"]) for r in rows}
    assert attributes == {
        stack.roles["owner"]: (False, False),
        stack.roles["app"]: (False, False),
        stack.roles["backup"]: (False, True),
    }

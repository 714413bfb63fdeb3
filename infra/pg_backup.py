"""PostgreSQL backup and restore with pg_dump and pg_restore (custom format).

Row-level security is forced on the tables' owner, so the owner's dump fails and a dump with
`--enable-row-security` is silently empty. The backup runs as a role with BYPASSRLS (and
`pg_read_all_data`), never the app's role. It opens a REPEATABLE READ transaction, exports its
snapshot, counts every table in it and runs `pg_dump --snapshot`: the dump and the counts see
the same rows. The rows in the dump are then counted from its COPY data (`pg_restore
--data-only` to a pipe) and must equal the database's, table by table.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pathlib
import re
import shutil
from collections.abc import AsyncIterator

import asyncpg  # type: ignore[import-untyped]  # no type information shipped
from sqlalchemy.engine import URL, make_url

from eiso.infra.backups import (
    PG_CUSTOM_MAGIC,
    BackupError,
    Outcome,
    TableCounts,
    check_counts,
    outcome,
    partial_file,
    refuse_existing,
    require_format,
)

# Every user table pg_dump dumps: not the catalogues, not an extension's own tables.
_TABLES = """
SELECT format('%I.%I', n.nspname, c.relname) AS name
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1
"""
# `COPY schema.table (columns) FROM stdin;`, each name quoted as `format('%I')` quotes it.
_NAME = rb'(?:"(?:[^"]|"")*"|[^ ."(]+)'
_COPY = re.compile(rb"^COPY (" + _NAME + rb"\." + _NAME + rb") ")


def _url(database_url: str) -> URL:
    url = make_url(database_url.replace("postgres://", "postgresql://", 1))
    return url.set(drivername="postgresql")


def _dsn(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The connection for pg_dump/pg_restore: the URL without its password (which would show
    in the process list) and the environment that carries it."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return url.set(password=None).render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version_key)
    if not candidates:
        raise BackupError(f"{name} not found: install the PostgreSQL client (postgresql-client)")
    return candidates[-1]


def _version_key(path: str) -> int:
    match = re.search(r"/postgresql/(\d+)/", path)
    return int(match.group(1)) if match else 0


async def _run(*command: str, env: dict[str, str]) -> str:
    """Run a client tool; its first error line becomes a `BackupError`."""
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        lines = err.decode(errors="replace").splitlines()
        first = next((line for line in lines if "error:" in line), lines[0] if lines else "")
        name = pathlib.Path(command[0]).name
        raise BackupError(f"{name} failed (exit {process.returncode}): {first.strip()}")
    return out.decode(errors="replace")


async def _check_client_version(tool: str, connection: asyncpg.Connection) -> None:
    """pg_dump and pg_restore must be at least as new as the server."""
    text = await _run(tool, "--version", env=dict(os.environ))
    match = re.search(r"(\d+)(?:\.\d+)?", text)
    client = int(match.group(1)) if match else 0
    server = int(await connection.fetchval("SHOW server_version_num")) // 10000
    if client < server:
        name = pathlib.Path(tool).name
        raise BackupError(
            f"{name} {client} cannot handle a PostgreSQL {server} server: "
            f"install postgresql-client-{server}"
        )


@contextlib.asynccontextmanager
async def _connect(url: URL) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(_dsn(url))
    try:
        yield connection
    finally:
        await connection.close()


async def _counts(connection: asyncpg.Connection) -> TableCounts:
    names = [row["name"] for row in await connection.fetch(_TABLES)]
    return {name: int(await connection.fetchval(f"SELECT count(*) FROM {name}")) for name in names}


async def _require_bypass(connection: asyncpg.Connection) -> None:
    role = await connection.fetchrow(
        "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )
    if not (role["rolsuper"] or role["rolbypassrls"]):
        raise BackupError(
            f"role {role['rolname']} does not bypass row-level security, so its dump would "
            "lack every tenant row: set EISO_BACKUP_DATABASE_URL to the backup role "
            "(`eiso db backup-role create`, docs/operating.md)"
        )


async def dump_counts(dump: pathlib.Path) -> TableCounts:
    """The rows of each table in a custom-format dump: its COPY data, one line per row."""
    process = await asyncio.create_subprocess_exec(
        _tool("pg_restore"),
        "--data-only",
        "--file=-",
        str(dump),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    counts: TableCounts = {}
    table: str | None = None
    async for line in process.stdout:
        if table is not None:
            if line == b"\\.\n":
                table = None
            else:
                counts[table] += 1
            continue
        match = _COPY.match(line)
        if match and line.rstrip().endswith(b"FROM stdin;"):
            table = match.group(1).decode()
            counts.setdefault(table, 0)
    err = await process.stderr.read() if process.stderr else b""
    if await process.wait() != 0:
        first = err.decode(errors="replace").strip().splitlines()[:1]
        raise BackupError(f"cannot read {dump}: {' '.join(first) or 'pg_restore failed'}")
    return counts


async def backup(database_url: str, target: pathlib.Path) -> Outcome:
    """Dump the database as the role of `database_url` into `target` (a new file), checked."""
    refuse_existing(target)
    url = _url(database_url)
    pg_dump = _tool("pg_dump")
    dbname, env = _libpq(url)
    async with _connect(url) as connection:
        await _require_bypass(connection)
        await _check_client_version(pg_dump, connection)
        with partial_file(target) as partial:
            async with connection.transaction(isolation="repeatable_read", readonly=True):
                snapshot = await connection.fetchval("SELECT pg_export_snapshot()")
                expected = await _counts(connection)
                await _run(
                    pg_dump,
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    f"--file={partial}",
                    f"--dbname={dbname}",
                    env=env,
                )
            check_counts(expected, await dump_counts(partial), copy_name="the dump")
    return outcome(expected)


async def _relations(connection: asyncpg.Connection) -> int:
    return int(
        await connection.fetchval(
            """SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
              AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
            """
        )
    )


async def _restored_counts(connection: asyncpg.Connection) -> TableCounts:
    """The counts of the restored tables. The restoring role may be their owner, on whom RLS
    is forced: the nation scope (the one eiso's policies open to everything) lets it count."""
    async with connection.transaction(readonly=True):
        await connection.execute("SELECT set_config('eiso.scope', 'nation', true)")
        return await _counts(connection)


async def restore(database_url: str, dump: pathlib.Path, *, force: bool) -> Outcome:
    """Restore `dump` into the database of `database_url` in one transaction: an empty
    database, or with `force` one whose objects of the same names are dropped first."""
    require_format(dump, PG_CUSTOM_MAGIC, "a pg_dump custom-format backup (`eiso db backup`)")
    expected = await dump_counts(dump)
    url = _url(database_url)
    pg_restore = _tool("pg_restore")
    dbname, env = _libpq(url)
    async with _connect(url) as connection:
        await _check_client_version(pg_restore, connection)
        existing = await _relations(connection)
        if existing and not force:
            raise BackupError(
                f"the database {url.database} is not empty ({existing} tables and sequences): "
                "restore into a fresh database, or pass --force to replace what the dump holds"
            )
        clean = ["--clean", "--if-exists"] if existing else []
        await _run(
            pg_restore,
            "--single-transaction",
            "--exit-on-error",
            *clean,
            f"--dbname={dbname}",
            str(dump),
            env=env,
        )
        check_counts(
            expected, await _restored_counts(connection), copy_name="the restored database"
        )
    return outcome(expected)


# Does the role own or write any table here? Then it is the owner's or the app's role.
_WRITES = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
  pg_roles r
WHERE r.rolname = $1 AND c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND (c.relowner = r.oid OR has_table_privilege(r.oid, c.oid, 'INSERT, UPDATE, DELETE'))
"""


async def create_backup_role(admin_url: str, role: str, password: str | None) -> bool:
    """Create (or complete) the backup role: LOGIN, BYPASSRLS, member of pg_read_all_data,
    nothing else. Needs a superuser. True if the role is new."""
    url = _url(admin_url)
    async with _connect(url) as connection:
        if not await connection.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = user"):
            raise BackupError(
                f"role {url.username} is not a superuser: only a superuser may grant BYPASSRLS "
                "(pass --admin-url, or run the SQL in docs/operating.md as postgres)"
            )
        exists = await connection.fetchval("SELECT count(*) FROM pg_roles WHERE rolname = $1", role)
        if exists and await connection.fetchval(_WRITES, role):
            raise BackupError(
                f"role {role} owns or may write tables of database {url.database}: the roles "
                "eiso serves or migrates as must never bypass row-level security; "
                "name a role of its own"
            )
        verb = "ALTER" if exists else "CREATE"
        attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE BYPASSRLS"
        statement = await connection.fetchval(
            f"SELECT format('{verb} ROLE %I {attributes}', $1::text)"
            + (" || format(' PASSWORD %L', $2::text)" if password else ""),
            *([role, password] if password else [role]),
        )
        async with connection.transaction():
            await connection.execute(statement)
            grant = await connection.fetchval(
                "SELECT format('GRANT pg_read_all_data TO %I', $1::text)", role
            )
            await connection.execute(grant)
        return not exists

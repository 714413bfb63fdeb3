"""`eiso db backup`, `eiso db restore` and `eiso db backup-role create`: backups that are
checked row for row before they get their name, and restores into a fresh database."""

from __future__ import annotations

import asyncio
import pathlib
import time

import typer
from sqlalchemy.engine import make_url

from eiso.core.cli.common import fail, read_stdin_secret, settings
from eiso.infra.backups import BackupError, Outcome

role_app = typer.Typer(
    help="The PostgreSQL backup role (bypasses row-level security).", no_args_is_help=True
)


def _sqlite_path(url: str) -> pathlib.Path:
    return pathlib.Path(make_url(url).database or "")


def _report(done: str, outcome: Outcome, file: pathlib.Path, started: float) -> None:
    size = file.stat().st_size / 1_000_000
    typer.echo(
        f"eiso: {done}: {outcome.tables} tables, {outcome.rows} rows, "
        f"{size:.1f} MB, {time.perf_counter() - started:.1f} s",
        err=True,
    )


def backup(
    file: pathlib.Path = typer.Argument(..., help="The backup file to write (must not exist)."),
) -> None:
    """Write a backup of the database to FILE, checked row for row against the database.

    SQLite: the online backup API. PostgreSQL: pg_dump (custom format) as the role of
    EISO_BACKUP_DATABASE_URL, which must bypass row-level security."""
    from eiso.infra import pg_backup, sqlite_backup

    current, started = settings(), time.perf_counter()
    try:
        if current.is_sqlite:
            outcome = sqlite_backup.backup(_sqlite_path(current.database_url), file)
        else:
            source = current.backup_database_url or current.migration_database_url
            outcome = asyncio.run(pg_backup.backup(source or current.database_url, file))
    except BackupError as error:
        fail(f"backup refused, nothing written: {error.message}")
    _report(f"backup written to {file}", outcome, file, started)


def restore(
    file: pathlib.Path = typer.Argument(..., help="A file written by `eiso db backup`."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Restore over a database that is not empty (SQLite: replace it whole; "
        "PostgreSQL: drop the objects the backup holds first). Stop the app first.",
    ),
) -> None:
    """Restore a backup into the database of the settings (as the owner of the tables:
    EISO_MIGRATION_DATABASE_URL, or EISO_DATABASE_URL), which must be empty unless --force."""
    from eiso.infra import pg_backup, sqlite_backup

    current, started = settings(), time.perf_counter()
    target = current.migration_database_url or current.database_url
    try:
        if current.is_sqlite:
            outcome = sqlite_backup.restore(file, _sqlite_path(target), force=force)
        else:
            outcome = asyncio.run(pg_backup.restore(target, file, force=force))
    except BackupError as error:
        fail(f"restore failed: {error.message}")
    _report(f"restored {file}", outcome, file, started)


@role_app.command("create")
def create_role(
    name: str = typer.Argument("eiso_backup", help="The role's name."),
    admin_url: str | None = typer.Option(
        None,
        "--admin-url",
        help="A superuser's connection to eiso's database (only a superuser may grant "
        "BYPASSRLS); default EISO_MIGRATION_DATABASE_URL.",
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the role's password from standard input."
    ),
) -> None:
    """Create the backup role: LOGIN, BYPASSRLS, member of pg_read_all_data, nothing else.
    Then set EISO_BACKUP_DATABASE_URL to connect as it."""
    from eiso.infra import pg_backup

    current = settings()
    if current.is_sqlite:
        fail("backup roles are for PostgreSQL; SQLite backups need none")
    serving = {
        make_url(url).username
        for url in (current.database_url, current.migration_database_url)
        if url is not None
    }
    if name in serving:
        fail(
            f"role {name} is the app's or the owner's: the roles eiso serves or migrates as "
            "must never bypass row-level security; name a role of its own"
        )
    password = read_stdin_secret("--password-stdin") if password_stdin else None
    url = admin_url or current.migration_database_url or current.database_url
    try:
        created = asyncio.run(pg_backup.create_backup_role(url, name, password))
    except BackupError as error:
        fail(error.message)
    typer.echo(
        f"eiso: backup role {name} {'created' if created else 'updated'} "
        "(BYPASSRLS, pg_read_all_data)",
        err=True,
    )

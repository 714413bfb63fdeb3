from __future__ import annotations

import typer

from eiso.core.cli import backup_cmd
from eiso.core.cli.common import settings

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("heads", help="Target revision.")) -> None:
    """Apply the Alembic migrations."""
    from eiso.infra import migrate

    current = settings()
    migrate.upgrade(
        current.migration_database_url or current.database_url, current.database_url, revision
    )
    typer.echo("eiso: database is up to date", err=True)


app.command("backup")(backup_cmd.backup)
app.command("restore")(backup_cmd.restore)
app.add_typer(backup_cmd.role_app, name="backup-role")

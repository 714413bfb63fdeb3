from __future__ import annotations

import typer

from eiso.core.cli import backup_cmd
from eiso.core.cli.common import settings

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("heads", help="Target revision.")) -> None:
    """Apply the Alembic migrations: the core's, then those of each loaded module that has
    tables of its own (`ModuleInfo.migrations`, in EISO_PLUGINS order by name)."""
    from eiso.core.plugins.registry import PluginRegistry
    from eiso.core.plugins.tables import upgrade_modules
    from eiso.infra import migrate
    from eiso.infra.citus import CitusLayoutError, distribute_database

    current = settings()
    owner = current.migration_database_url or current.database_url
    migrate.upgrade(owner, current.database_url, revision)
    registry = PluginRegistry.load(current.plugins)
    for module in upgrade_modules(registry, owner, current.database_url):
        typer.echo(f"eiso: module {module}: its tables are up to date", err=True)
    try:
        layout = distribute_database(owner)
    except CitusLayoutError as error:
        typer.echo(f"eiso: Citus: cannot distribute the tables: {error}", err=True)
        raise typer.Exit(1) from error
    if layout and (layout.distributed or layout.reference or layout.handover_policies):
        typer.echo(
            f"eiso: Citus: {len(layout.distributed)} tables distributed by province_id, "
            f"{len(layout.reference)} reference tables; keys given province_id: "
            f"{', '.join(layout.rebuilt_constraints) or '-'}; hand-over policies in their "
            f"Citus form: {', '.join(layout.handover_policies) or '-'}; policies narrowed to "
            f"the tenant scope: {', '.join(layout.narrowed_policies) or '-'}",
            err=True,
        )
    typer.echo("eiso: database is up to date", err=True)


app.command("backup")(backup_cmd.backup)
app.command("restore")(backup_cmd.restore)
app.add_typer(backup_cmd.role_app, name="backup-role")

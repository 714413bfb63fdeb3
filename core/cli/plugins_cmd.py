from __future__ import annotations

import typer

app = typer.Typer(help="Discovered plugins.", no_args_is_help=True)


@app.command("list")
def list_plugins() -> None:
    """Every discovered plugin: name, version, state (loaded, skipped and why)."""
    from importlib.metadata import entry_points

    from rich.console import Console
    from rich.table import Table

    table = Table("name", "version", "state")
    for entry in sorted(entry_points(group="eiso.plugins"), key=lambda e: e.name):
        version = entry.dist.version if entry.dist else "?"
        table.add_row(entry.name, version, "discovered")
    Console().print(table)

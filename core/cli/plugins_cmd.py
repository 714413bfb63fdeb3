from __future__ import annotations

import typer

app = typer.Typer(help="Discovered plugins.", no_args_is_help=True)


@app.command("list")
def list_plugins(
    json_output: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Every discovered plugin: name, version, state (loaded, skipped and why)."""
    from eiso.core.cli.common import echo_json, settings
    from eiso.core.plugins.registry import PluginRegistry

    registry = PluginRegistry.load(settings().plugins)
    rows = [
        {"name": r.name, "version": r.version or "?", "state": r.state, "reason": r.reason}
        for r in sorted(registry.records.values(), key=lambda r: r.name)
    ]
    if json_output:
        echo_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "version", "state", "why")
    for row in rows:
        table.add_row(row["name"], row["version"], row["state"], row["reason"])
    Console().print(table)

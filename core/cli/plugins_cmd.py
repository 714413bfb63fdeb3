from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import typer

from eiso.core.cli.common import JsonOutput

if TYPE_CHECKING:
    from eiso.core.plugins.registry import PluginRegistry

app = typer.Typer(help="Discovered plugins.", no_args_is_help=True)


def plugin_rows(registry: PluginRegistry, known: Iterable[str] = ()) -> list[dict[str, str]]:
    """One row per discovered module, plus the `known` names nothing installs: `version` is
    always the distribution's, `state` loaded or skipped, `reason` why it was skipped. Shared
    by `plugins list` and `modules list` so the two always agree."""
    rows = {
        r.name: {"name": r.name, "version": r.version or "?", "state": r.state, "reason": r.reason}
        for r in registry.records.values()
    }
    for name in set(known) - set(rows):
        rows[name] = {"name": name, "version": "?", "state": "skipped", "reason": "not installed"}
    return [rows[name] for name in sorted(rows)]


@app.command("list")
def list_plugins(
    json_output: JsonOutput = False,
) -> None:
    """Every discovered plugin: name, distribution version, state (loaded, skipped and why)."""
    from eiso.core.cli.common import echo_json, settings
    from eiso.core.plugins.registry import PluginRegistry

    rows = plugin_rows(PluginRegistry.load(settings().plugins))
    if json_output:
        echo_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "version", "state", "why")
    for row in rows:
        table.add_row(row["name"], row["version"], row["state"], row["reason"])
    Console().print(table)

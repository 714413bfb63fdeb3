"""`eiso modules`: which modules exist and which a province switched on."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from eiso.core.cli.common import JsonOutput, cli_actor, fail, run_with_resources

if TYPE_CHECKING:
    from eiso.core.resources import Resources
    from eiso.tenants.modules import ModuleActivation

app = typer.Typer(help="Modules per province.", no_args_is_help=True)


@app.command("list")
def list_modules(
    province: str | None = typer.Option(None, "--province", help="show this province's state"),
    json_output: JsonOutput = False,
) -> None:
    """Every module as `plugins list` shows it (distribution version, loaded or skipped and
    why), and with --province whether that province enabled it."""
    from sqlmodel import select

    from eiso.core.cli.common import echo_json, settings
    from eiso.core.cli.plugins_cmd import plugin_rows
    from eiso.core.plugins.registry import PluginRegistry
    from eiso.tenants.modules import ModuleActivation
    from eiso.tenants.scope import TenantScope
    from eiso.tenants.services import get_province

    async def work(resources: Resources) -> dict[str, ModuleActivation] | None:
        async with resources.session(TenantScope.nation()) as session:
            if province is None:
                return {}
            target = await get_province(session, province)
            if target is None:
                return None
            rows = await session.execute(
                select(ModuleActivation).where(ModuleActivation.province_id == target.id)
            )
            return {row.module: row for row in rows.scalars()}

    states = run_with_resources(work)
    if states is None:
        fail(f"--province {province!r}: no such province")
    rows: list[dict[str, object]] = [
        {**row, **(_activation(states.get(row["name"])) if province else {})}
        for row in plugin_rows(PluginRegistry.load(settings().plugins), states)
    ]
    if json_output:
        echo_json(rows)
        return
    _print_table(rows, bool(province))


def _activation(row: ModuleActivation | None) -> dict[str, object]:
    """A province's switch for one module; no row means never enabled."""
    return {
        "enabled": bool(row and row.enabled),
        "changed_by": row.changed_by if row else "",
        "changed_at": row.changed_at.isoformat(timespec="seconds") if row else "",
    }


def _print_table(rows: list[dict[str, object]], with_province: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    extra = ("enabled", "changed by", "changed at") if with_province else ()
    table = Table("module", "version", "state", "why", *extra)
    for row in rows:
        cells = [str(row[key]) for key in ("name", "version", "state", "reason")]
        if with_province:
            cells += ["yes" if row["enabled"] else "no", str(row["changed_by"])]
            cells.append(str(row["changed_at"]))
        table.add_row(*cells)
    Console().print(table)


def _switch(province: str, module: str, enabled: bool) -> None:
    """The same activation service as GraphQL's enableModule: the module must be installed and
    allowed (EISO_PLUGINS), who and when are recorded, every worker's schema follows."""
    from eiso.core.auth.principal import Principal, Role
    from eiso.core.cli.common import settings
    from eiso.core.errors import DomainError
    from eiso.core.plugins.activation import check_module_name, switch_module
    from eiso.core.plugins.registry import PluginRegistry
    from eiso.tenants.scope import TenantScope
    from eiso.tenants.services import get_province

    problem = check_module_name(module)
    if problem:
        fail(f"MODULE {module!r}: {problem}")
    operator = Principal(cli_actor(), TenantScope.nation(), frozenset({Role.national_admin}))

    async def work(resources: Resources) -> str | None:
        async with resources.session(TenantScope.nation()) as session:
            target = await get_province(session, province)
        if target is None:
            return f"--province {province!r}: no such province"
        assert target.id is not None  # a row read from the database
        try:
            await switch_module(
                resources,
                PluginRegistry.load(settings().plugins),
                operator,
                target.id,
                module,
                enabled,
            )
        except DomainError as error:
            return f"MODULE {module!r}: {error.message}"
        return None

    problem = run_with_resources(work)
    if problem:
        fail(problem)
    typer.echo(
        f"eiso: module {module} {'enabled' if enabled else 'disabled'} for province {province}",
        err=True,
    )


@app.command("enable")
def enable(module: str, province: str = typer.Option(..., "--province")) -> None:
    """Switch a module on for a province."""
    _switch(province, module, True)


@app.command("disable")
def disable(module: str, province: str = typer.Option(..., "--province")) -> None:
    """Switch a module off for a province; its data stays."""
    _switch(province, module, False)

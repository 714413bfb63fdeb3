from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from eiso.core.resources import Resources

app = typer.Typer(help="The GraphQL schema.", no_args_is_help=True)


@app.command("schema")
def schema(
    province: str | None = typer.Option(None, help="Print what this province sees."),
    bundled: bool = typer.Option(
        False, "--bundled", help="Core plus the modules eiso ships (the committed SDL)."
    ),
) -> None:
    """Print the SDL (all loaded modules without --province), for frontend code generation."""
    from eiso.core.cli.common import fail, province_option, run_with_resources, settings
    from eiso.core.plugins.registry import PluginRegistry
    from eiso.graphql.schema import make_assembler, schema_sdl

    if bundled:
        if province is not None:
            fail("--bundled and --province exclude each other", code=2)
        sys.stdout.write(schema_sdl())
        return
    registry = PluginRegistry.load(settings().plugins)
    assembler = make_assembler(registry)
    if province is None:
        sys.stdout.write(assembler.get().as_str() + "\n")
        return

    async def province_modules(resources: Resources) -> frozenset[str]:
        from eiso.core.plugins.activation import enabled_modules
        from eiso.tenants.scope import TenantScope

        async with resources.session(TenantScope.nation()) as session:
            found = await province_option(session, province)
            assert found.id is not None  # a row read from the database
            return await enabled_modules(session, found.id)

    names = run_with_resources(province_modules)
    sys.stdout.write(assembler.get(names).as_str() + "\n")

from __future__ import annotations

import sys

import typer

app = typer.Typer(help="The GraphQL schema.", no_args_is_help=True)


@app.command("schema")
def schema(
    province: str | None = typer.Option(None, help="Print what this province sees."),
) -> None:
    """Print the SDL (all modules without --province), for frontend code generation."""
    from eiso.graphql.schema import schema_sdl

    if province is not None:
        from eiso.core.cli.common import fail

        fail("--province needs the plugin system (not installed in this build)")
    sys.stdout.write(schema_sdl())

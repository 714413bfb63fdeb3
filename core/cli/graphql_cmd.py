from __future__ import annotations

import pathlib
import sys
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

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


documents_app = typer.Typer(
    help="Trusted documents: the operations frontends may call by their sha256 hash.",
    no_args_is_help=True,
)
app.add_typer(documents_app, name="documents")


@documents_app.command("add")
def add_documents(
    files: list[pathlib.Path] = typer.Argument(..., help=".graphql files, one document each."),
    client: str | None = typer.Option(None, help="Label the documents with this frontend."),
) -> None:
    """Register each file's exact text, after checking it against the schema of the loaded
    modules; prints `<sha256>  FILE` per file. One bad file registers none."""
    from eiso.core import trusted_documents as store
    from eiso.core.cli.common import cli_actor, fail, run_as_nation, settings
    from eiso.core.plugins.registry import PluginRegistry
    from eiso.graphql.schema import make_assembler
    from eiso.graphql.server.trusted import check_documents

    sources = []
    for path in files:
        try:
            sources.append((str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as error:
            fail(f"{path}: cannot read it ({error.__class__.__name__})")
    schema = make_assembler(PluginRegistry.load(settings().plugins)).get()
    documents, problems = check_documents(schema, sources)
    if problems:
        for problem in problems[1:]:
            typer.echo(f"eiso: {problem}", err=True)
        fail(f"{problems[0]} (nothing registered)")

    async def work(session: AsyncSession, _resources: Resources) -> None:
        await store.store(session, documents, client=client, actor=cli_actor())

    run_as_nation(work)
    for (name, _text), document in zip(sources, documents, strict=True):
        typer.echo(f"{document.id}  {name}")


@documents_app.command("list")
def list_documents(
    client: str | None = typer.Option(None, help="Only this frontend's documents."),
) -> None:
    """The registered documents (hash, client, operations, when, by whom) as JSON."""
    from eiso.core import trusted_documents as store
    from eiso.core.cli.common import echo_json, run_as_nation

    async def work(session: AsyncSession, _resources: Resources) -> list[dict[str, object]]:
        return [
            {
                "sha256Hash": row.id,
                "client": row.client,
                "operations": row.operation_names.split(","),
                "createdBy": row.created_by,
                "createdAt": row.created_at.isoformat(),
            }
            for row in await store.listing(session, client)
        ]

    echo_json(run_as_nation(work))


@documents_app.command("remove")
def remove_documents(
    ids: list[str] = typer.Argument(..., help="Hashes (`<hex>` or `sha256:<hex>`)."),
) -> None:
    """Remove documents; a hash that is not registered is an error (nothing removed)."""
    from eiso.core import trusted_documents as store
    from eiso.core.cli.common import fail, run_as_nation

    hashes = [store.parse_id(value) for value in ids]
    for value, found in zip(ids, hashes, strict=True):
        if found is None:
            fail(f"{value!r}: not a sha256 hash")

    async def work(session: AsyncSession, _resources: Resources) -> list[str]:
        wanted = [found for found in hashes if found is not None]
        removed = await store.remove(session, wanted)
        missing = sorted(set(wanted) - set(removed))
        if missing:
            fail(f"{missing[0]}: no such document (nothing removed)")
        return removed

    for removed in run_as_nation(work):
        typer.echo(removed)

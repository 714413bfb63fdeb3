"""What the sub-commands share: settings, an event loop around async work, clean failures."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import typer

from eiso.core.resources import Resources
from eiso.core.settings import Settings, get_settings

T = TypeVar("T")


def fail(message: str, code: int = 1) -> NoReturn:
    """Bad input: one line on stderr and exit status 1 (2 for usage errors)."""
    typer.echo(f"eiso: {message}", err=True)
    raise typer.Exit(code)


def settings() -> Settings:
    return get_settings()


def run_with_resources(work: Callable[[Resources], Awaitable[T]]) -> T:
    async def _main() -> T:
        resources = Resources.open(settings())
        try:
            return await work(resources)
        finally:
            await resources.close()

    return asyncio.run(_main())


def echo_json(data: object) -> None:
    import orjson

    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")

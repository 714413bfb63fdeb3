"""`eiso events relay`: run the outbox relay outside the web workers (or once, to drain).
`eiso events hooks`: run the modules' `eiso_on_dossier_event` hooks outside the web workers."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import typer

from eiso.core.cli.common import fail, require_shared_redis, run_with_resources

if TYPE_CHECKING:
    from eiso.core.resources import Resources

app = typer.Typer(help="Domain events (outbox → Redis stream).", no_args_is_help=True)


@app.command("relay")
def relay(
    once: bool = typer.Option(False, "--once", help="Send what is waiting, then exit."),
    interval: float = typer.Option(1.0, min=0.05, help="Seconds between passes."),
) -> None:
    """Move committed outbox events to the Redis streams."""
    from redis.exceptions import RedisError

    from eiso.infra.relay import Relay

    # memory:// would mark the rows sent into a stream only this process could read
    require_shared_redis("eiso events relay and the web workers")

    async def work(resources: Resources) -> int | None:
        relay = Relay(resources.sessionmaker, resources.redis, resources.key)
        if once:
            try:
                return await relay.drain()
            except RedisError as error:  # the rows stay unsent: nothing is lost
                fail(f"Redis unavailable, the events wait in the outbox: {error}")
        await relay.run(interval)
        return None

    sent = run_with_resources(work)
    if once:
        typer.echo(f"eiso: {sent} event(s) relayed", err=True)


@app.command("hooks")
def hooks(
    once: bool = typer.Option(False, "--once", help="Deliver what is waiting, then exit."),
    wait: float = typer.Option(
        30.0, min=0, help="With --once: seconds to wait for a running worker to free a lease."
    ),
) -> None:
    """Deliver dossier events to the loaded modules' hooks (one worker per module at a time)."""
    from eiso.core.dossiers.hooks import HookWorkers
    from eiso.core.plugins.registry import PluginRegistry
    from eiso.infra.stream_reader import LeaseLost

    # memory:// would read a stream no relay writes to
    require_shared_redis("eiso events hooks and the relay")

    async def work(resources: Resources) -> dict[str, int]:
        workers = HookWorkers(resources, PluginRegistry.load(resources.settings.plugins))
        if once:
            return await workers.run_once(wait)
        workers.start()
        try:
            await asyncio.Event().wait()  # until interrupted
        finally:
            await workers.stop()
        return {}

    try:
        delivered = run_with_resources(work)
    except LeaseLost as error:
        fail(f"{error}; try again or stop that worker")
    if once:
        for module, count in sorted(delivered.items()):
            typer.echo(f"eiso: {module}: {count} event(s) delivered", err=True)

"""`eiso events relay`: run the outbox relay outside the web workers (or once, to drain)."""

from __future__ import annotations

import typer

from eiso.core.cli.common import run_with_resources

app = typer.Typer(help="Domain events (outbox → Redis stream).", no_args_is_help=True)


@app.command("relay")
def relay(
    once: bool = typer.Option(False, "--once", help="Send what is waiting, then exit."),
    interval: float = typer.Option(1.0, min=0.05, help="Seconds between passes."),
) -> None:
    """Move committed outbox events to the Redis streams."""
    from eiso.infra.relay import Relay

    async def work(resources):
        relay = Relay(resources.sessionmaker, resources.redis, resources.key)
        if once:
            return await relay.drain()
        await relay.run(interval)

    sent = run_with_resources(work)
    if once:
        typer.echo(f"eiso: {sent} event(s) relayed", err=True)

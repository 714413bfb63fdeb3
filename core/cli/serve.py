from __future__ import annotations

import typer

from eiso.core.cli.common import require_shared_redis, settings


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    port: int = typer.Option(8000, help="Port to bind."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
    reload: bool = typer.Option(False, help="Restart on code changes (development)."),
) -> None:
    """Run the app under uvicorn."""
    import uvicorn

    current = require_shared_redis("several workers") if workers > 1 else settings()
    if workers > 1 and current.is_sqlite:
        typer.echo(
            "eiso: note: several workers on SQLite share one file; use PostgreSQL in production",
            err=True,
        )
    typer.echo(
        f"eiso: serving on http://{host}:{port} (the citizen portal at /, lookup at /tra-cuu, "
        "GraphQL at /graphql)",
        err=True,
    )
    uvicorn.run(
        "eiso.core.app:asgi",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        log_config=None,
        # core/logs.py keeps `uvicorn.access` at WARNING, so its INFO lines were never written;
        # uvicorn formats each line's arguments (the client, the quoted path) before the
        # logger's level check: per-request work for nothing. `bench.wrk` serves the same way.
        access_log=False,
        proxy_headers=True,
        # Whose X-Forwarded-For/-Proto to believe: uvicorn reads FORWARDED_ALLOW_IPS (addresses
        # or networks, e.g. the proxy's subnet), else the loopback only. Behind a proxy on
        # another address, unset, every citizen would share the proxy's rate limits.
        forwarded_allow_ips=None,
    )
